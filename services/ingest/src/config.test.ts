import { facilityResolver, loadIngestConfig } from './config';
import { boundedReject, REJECT_LIMITS, TRUNCATED_PATH } from './publisher';

describe('ingest config', () => {
  it('defaults: MLLP on 127.0.0.1:2575, 1 MiB, production only', () => {
    const c = loadIngestConfig({});
    expect(c).toMatchObject({ PFM_MLLP_HOST: '127.0.0.1', PFM_MLLP_PORT: 2575, PFM_MLLP_MAX_BYTES: 1048576, PFM_MLLP_PROCESSING_IDS: ['P'], PFM_PUBLISH_TIMEOUT_MS: 5000 });
  });
  it('lists every problem', () => {
    expect(() => loadIngestConfig({ PFM_MLLP_HOST: 'a b', PFM_MLLP_MAX_BYTES: '1' })).toThrow(/PFM_MLLP_HOST[\s\S]*PFM_MLLP_MAX_BYTES/);
  });
  it('MLLP binds where HTTP binds unless told otherwise', () => {
    expect(loadIngestConfig({ PFM_BIND_HOST: '0.0.0.0' }).PFM_MLLP_HOST).toBe('0.0.0.0');
    expect(loadIngestConfig({ PFM_BIND_HOST: '0.0.0.0', PFM_MLLP_HOST: '10.0.0.5' }).PFM_MLLP_HOST).toBe('10.0.0.5');
  });
});

describe('facilityResolver', () => {
  it('explicit map, then known site, then ODS trust prefix', () => {
    const f = facilityResolver(['ABC99=RXT'], ['RXT', 'RW1']);
    expect(f('abc99')).toBe('RXT');
    expect(f('RW1')).toBe('RW1');
    expect(f('RXT02')).toBe('RXT');
    expect(f('ZZZ01')).toBeUndefined();
    expect(f('')).toBeUndefined();
  });
});

describe('boundedReject', () => {
  it('cuts raw, reason and errors to sizes Kafka always takes, and says so', () => {
    const r = boundedReject({ channel: 'hl7v2', reason: 'r'.repeat(5000), errors: Array.from({ length: 80 }, (_, i) => ({ path: `p${i}`, message: 'm' })), raw: 'x'.repeat(REJECT_LIMITS.rawChars + 5), rawEncoding: 'utf8' });
    expect(r.raw).toHaveLength(REJECT_LIMITS.rawChars);
    expect(r.reason).toHaveLength(REJECT_LIMITS.reasonChars);
    expect(r.errors.map((e) => e.path).slice(-2)).toEqual(['(errors)', TRUNCATED_PATH]);
  });
});
