// A sandbox can never take a live product's names, whatever it is called: its keys live
// under "sbx.<name>" and its output topics under the "sbx-<name>" namespace, and every live
// service refuses a key prefix or topic namespace in those reserved spaces at start.
import fc from 'fast-check';
import { commonEnv, ConfigError, loadConfig } from '@pfm/config';
import { sandboxNamespace, sandboxPrefix } from '@pfm/flow-processing';

const live = (env: Record<string, string>) => () => loadConfig(commonEnv, env);

describe('sandbox names', () => {
  it('a live service takes its usual prefix and namespace (the baseline)', () => {
    expect(live({ PFM_KEY_PREFIX: 'pfm', PFM_TOPIC_NAMESPACE: '' })()).toMatchObject({ PFM_KEY_PREFIX: 'pfm', PFM_TOPIC_NAMESPACE: '' });
    expect(live({ PFM_KEY_PREFIX: 'demo_1', PFM_TOPIC_NAMESPACE: 'demo-1' })()).toMatchObject({ PFM_KEY_PREFIX: 'demo_1', PFM_TOPIC_NAMESPACE: 'demo-1' });
  });

  it('fuzz: whatever a sandbox is called, a live service refuses its key prefix and its topic namespace', () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), (name) => {
      expect(live({ PFM_KEY_PREFIX: sandboxPrefix(name) })).toThrow(ConfigError);
      expect(live({ PFM_TOPIC_NAMESPACE: sandboxNamespace(name) })).toThrow(ConfigError);
    }), { numRuns: 50 });
    expect(live({ PFM_KEY_PREFIX: 'sbx' })).toThrow(/reserved/);
  });

  it('names outside letters, digits, _ and - (1-40) are refused, so no name can climb out of its space', () => {
    for (const bad of ['', 'a'.repeat(41), '../pfm', 'pfm:{RXT}', 'a.b', 'x y']) expect(() => sandboxPrefix(bad)).toThrow(/invalid sandbox name/);
  });
});
