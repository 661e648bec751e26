/** @pfm-stack kafka registry */
// Ingest's start on a registry that accepts connections and never answers (a real local
// TCP server standing in for a hung registry; Kafka is the real stack's): the start fails
// with the registry's timeout and the subject instead of hanging, and the test helper's
// error carries ingest's last log lines, the retries among them.
import { createServer, type Server, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { topicsFor } from '@pfm/contracts';
import { kafkaClientConfig } from '@pfm/kafka-runtime';
import { requireStack, uniqueName, waitFor } from '@pfm/testkit';
import { startTestIngest } from './testing/ingest-under-test';

let hung: Server;
let hungUrl: string;
const accepted: Socket[] = [];
/** Once set, the registry stand-in resets every connection at once (a registry gone away). */
let resetting = false;
const namespaces: string[] = [];
const saved = { timeout: process.env.SCHEMA_REGISTRY_TIMEOUT_MS, start: process.env.PFM_TEST_START_TIMEOUT_MS };

beforeAll(async () => {
  hung = createServer((s) => { accepted.push(s); if (resetting) s.destroy(); });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const addr = hung.address();
  hungUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterEach(() => {
  for (const [k, v] of [['SCHEMA_REGISTRY_TIMEOUT_MS', saved.timeout], ['PFM_TEST_START_TIMEOUT_MS', saved.start]] as const) {
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((resolve) => hung.close(resolve));
  // The topics ingest created before it reached the registry.
  const kafka = new Kafka(kafkaClientConfig({ brokers: (await requireStack()).kafkaBrokers, clientId: 'startup-test', logLevel: logLevel.NOTHING }));
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: namespaces.flatMap((ns) => Object.values(topicsFor(ns))) }).catch(() => undefined);
  await admin.disconnect();
});

const failure = (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('the start was expected to fail'); }, (e: Error) => e);

describe('ingest starting against a registry that never answers', () => {
  it('fails after its registration attempts time out, with the retries in the log tail', async () => {
    process.env.SCHEMA_REGISTRY_TIMEOUT_MS = '300';
    const ns = uniqueName('hung-registry');
    namespaces.push(ns);
    const e = await failure(startTestIngest({ SCHEMA_REGISTRY_URL: hungUrl, PFM_TOPIC_NAMESPACE: ns }));
    const subject = `${topicsFor(ns).flowEvents}-value`;
    expect(e.message).toContain(`schema registry: could not register ${subject} (attempt 5 of 5): `);
    expect(e.message).toContain('Timeout (300ms)');
    expect(e.message).toContain(`--- ingest (${ns}) log (last lines) ---`);
    for (const attempt of [1, 2, 3, 4]) expect(e.message).toContain(`registering ${subject} failed (attempt ${attempt} of 5)`);
  });

  it('a start that outlasts the test\'s deadline fails with what ingest logged so far', async () => {
    // The registry's requests outlast the deadline: the start is still waiting for it then.
    process.env.SCHEMA_REGISTRY_TIMEOUT_MS = '60000';
    process.env.PFM_TEST_START_TIMEOUT_MS = '2000';
    const before = accepted.length;
    const ns = uniqueName('slow-registry');
    namespaces.push(ns);
    const e = await failure(startTestIngest({ SCHEMA_REGISTRY_URL: hungUrl, PFM_TOPIC_NAMESPACE: ns }));
    expect(e.message.startsWith(`ingest (${ns}) did not start within 2000 ms\n--- ingest (${ns}) log (last lines) ---\n`)).toBe(true);
    // What ingest logged on its way (its warning, first thing at start, about unsealed rejects).
    expect(e.message).toContain('PFM_REJECTS_KEYS is not set');
    // Let the start left behind finish: its requests are reset now, it gives up after 5 attempts.
    resetting = true;
    for (const s of accepted) s.destroy();
    await waitFor(() => accepted.length - before >= 5, { timeoutMs: 30_000, what: 'the abandoned start\'s 5 registration attempts' });
  });
});
