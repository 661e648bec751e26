import { commonEnv, ConfigError, loadConfig, serviceEnv } from './index';

describe('loadConfig', () => {
  it('applies defaults and parses lists', () => {
    const c = loadConfig({ ...commonEnv, ...serviceEnv.ingest }, { KAFKA_BROKERS: 'a:1, b:2' });
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(c.PFM_MLLP_PORT).toBe(2575);
  });
  it('lists every problem at once', () => {
    expect(() => loadConfig({ ...commonEnv, ...serviceEnv.ingest }, { PFM_MLLP_PORT: 'x', SCHEMA_REGISTRY_URL: 'nope' })).toThrow(ConfigError);
    try {
      loadConfig({ ...commonEnv, ...serviceEnv.ingest }, { PFM_MLLP_PORT: 'x', SCHEMA_REGISTRY_URL: 'nope' });
    } catch (e) {
      expect((e as Error).message).toMatch(/PFM_MLLP_PORT/);
      expect((e as Error).message).toMatch(/SCHEMA_REGISTRY_URL/);
    }
  });
});
