// The replay API's concurrency quota on the real stack: the replay service (its own process,
// logged in as the replay principal, acls.txt's rules granted on the test's namespace) with
// PFM_REPLAY_MAX_CONCURRENT=2 answers 429 too_many_replays to a third replay, and to a time
// travel, while two run; once one has finished, a new replay is accepted and runs to the end.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Auth } from '@pfm/access';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { sandboxPrefix, SnapshotStore } from '@pfm/flow-processing';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { grantNamespaceAcls, passwordFilesFromEnv, servicePrincipalEnv } from '@pfm/kafka-runtime';
import { freePort, logReady, startService, SYNTHETIC_WARDS, syntheticEvents, waitFor, type RunningService } from '@pfm/testkit';
import { openScratch, type Scratch } from './support/scratch';
import { ACLS_FILE } from './support/stack';

const SECRET = 'replay-quota-secret-replay-quota-secret-01';
// Sandbox names are global (sbx.<name> keys): unique per run.
const run = randomBytes(3).toString('hex');
const [FIRST, SECOND, THIRD] = ['first', 'second', 'third'].map((n) => `quota-${run}-${n}`) as [string, string, string];

describe('replay API: at most PFM_REPLAY_MAX_CONCURRENT replays at once, on the real stack', () => {
  let s: Scratch;
  let svc: RunningService | undefined;
  let base: string;
  let ops: string;
  const events = syntheticEvents({ total: 20_000, seed: 5, start: Date.parse('2026-02-01T00:00:00Z') });

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ops}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, retryAfter: r.headers.get('retry-after'), json: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    // One partition, several MiB: a replay reads it in several fetches, so pacing holds it between them.
    s = await openScratch('replay-quota', 1);
    await s.send(events);
    const files = passwordFilesFromEnv();
    if (!files) throw new Error('source .stack/stack.env: the replay service runs as the replay principal (PFM_KAFKA_PASSWORDS_FILE)');
    await grantNamespaceAcls({ brokers: s.env.kafkaBrokers, namespace: s.ns, aclsFile: ACLS_FILE, kafka: files.kafka });
    const dir = mkdtempSync(join(tmpdir(), 'pfm-replay-quota-'));
    const wardsFile = join(dir, 'wards.json');
    writeFileSync(wardsFile, JSON.stringify(SYNTHETIC_WARDS.map((code) => ({ site: 'RXT', code, name: `${code} Ward`, type: 'adult_acute', beds: 20 }))));
    const port = await freePort();
    svc = await startService('replay', {
      ...servicePrincipalEnv('replay', files),
      KAFKA_BROKERS: s.env.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: s.env.schemaRegistryUrl, REDIS_URL: s.env.redisUrl,
      PFM_TOPIC_NAMESPACE: s.ns, PFM_KEY_PREFIX: s.ns.replace(/-/g, '_'), PFM_WARDS_FILE: wardsFile, PFM_JWT_SECRET: SECRET,
      PFM_REPLAY_PORT: String(port), PFM_REPLAY_MAX_CONCURRENT: '2', PFM_REPLAY_RATE_LIMIT_PER_MINUTE: '1000',
    }, logReady('replay API listening'));
    base = `http://127.0.0.1:${port}`;
    ops = await new Auth(SECRET).issue({ sub: 'ops.quota', role: 'ops', sites: ['RXT'] });
  });
  afterAll(async () => {
    await svc?.stop();
    if (s) {
      // The sandboxes (one still replaying when the service stopped) and the time-travel snapshots.
      const registry = new WardRegistry([]);
      for (const name of [FIRST, SECOND, THIRD]) await new FlowStore(s.redis, new Keys(sandboxPrefix(name)), registry, DEFAULT_THRESHOLDS).clear();
      await new SnapshotStore(s.redis, SnapshotStore.prefixFor(s.ns.replace(/-/g, '_')), s.topics.flowEvents, DEFAULT_THRESHOLDS, registry).drop();
      await s.close();
    }
  });

  it('a third replay (and a time travel) get 429 too_many_replays while two run; a new one is accepted once one has finished', async () => {
    // Paced replays (the log's event time played at `speed` times real time, waiting
    // between fetches) run for seconds, so both hold their slot while the next requests arrive.
    const span = events.at(-1)!.occurredAt - events[0]!.occurredAt;
    const paced = (name: string, seconds: number) => ({ name, speed: span / (seconds * 1000) });
    const first = await call('POST', '/v1/replays', paced(FIRST, 10));
    const second = await call('POST', '/v1/replays', paced(SECOND, 60));
    expect([first.status, second.status]).toEqual([202, 202]);

    const third = await call('POST', '/v1/replays', { name: THIRD });
    expect(third).toMatchObject({ status: 429, retryAfter: '30', json: { error: 'too_many_replays', message: 'At most 2 replays run at once; try again when one has finished.' } });
    const travel = await call('GET', `/v1/board?at=${new Date(events[200]!.occurredAt).toISOString()}`);
    expect(travel).toMatchObject({ status: 429, json: { error: 'too_many_replays' } });
    expect((await call('GET', `/v1/replays/${THIRD}`)).status).toBe(404); // refused, not queued

    const done = await waitFor(async () => { const j = (await call('GET', `/v1/replays/${FIRST}`)).json; return j.status !== 'running' ? j : undefined; }, { timeoutMs: 90_000, intervalMs: 500, what: 'the first replay to finish' });
    expect(done).toMatchObject({ status: 'done', result: { events: events.length } });
    expect((await call('GET', `/v1/replays/${SECOND}`)).json.status).toBe('running');

    const again = await call('POST', '/v1/replays', { name: THIRD });
    expect(again.status).toBe(202);
    const third2 = await waitFor(async () => { const j = (await call('GET', `/v1/replays/${THIRD}`)).json; return j.status !== 'running' ? j : undefined; }, { timeoutMs: 90_000, intervalMs: 500, what: 'the third replay to finish' });
    expect(third2).toMatchObject({ status: 'done', result: { events: events.length } });
    // The replay principal's rules were enough for all of it (reads, groups, snapshots).
    expect(svc!.logs.filter((l) => /authori[sz]/i.test(l))).toEqual([]);
        expect((await call('GET', `/v1/replays/${SECOND}`)).json.status).toBe('running');
  });
});
