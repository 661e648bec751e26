// Ingest throughput: acknowledged messages per second over MLLP (HL7 A01, each sender
// waits for its ACK before the next, as PAS engines do) and over HTTP (one event per
// request, and batches), against ingest running as its own process on the real stack.
// An ACK / 2xx means the events are in Kafka (acks=-1), so these are durable rates.
//
//   pnpm exec tsx scripts/bench-ingest.ts [messages]      (or call benchIngest() from pnpm bench)
// Figures and method: docs/benchmarks.md, section "Ingest".
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig } from '@pfm/kafka-runtime';
import { topicsFor } from '@pfm/contracts';
import { freePort, httpReady, repoRoot, requireStack, startService, uniqueName } from '@pfm/testkit';
import { testAccess, TEST_JWT_SECRET } from '../services/ingest/src/testing/access';
import { MllpClient } from '../services/ingest/src/testing/mllp-client';

export interface BenchIngestOptions {
  /** Messages per MLLP run and events per HTTP run. Default 5000. */
  messages?: number;
  /** Concurrent MLLP connections / HTTP clients to try. Default [1, 8, 32]. */
  concurrency?: number[];
  /** Events per request for the HTTP batch run. Default 100. */
  batchSize?: number;
  log?: (line: string) => void;
}

export interface RateResult {
  path: 'mllp' | 'http-single' | 'http-batch';
  concurrency: number;
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface IngestBenchResult { runs: RateResult[]; machine: string }

const A01 = readFileSync(join(repoRoot, 'packages', 'hl7', 'fixtures', 'a01-admit.hl7'), 'utf8');
const admitHl7 = (id: string) => A01.replace('RXT-PAS-000101', id).replace('RXT1000001', `P${id}`).replace('SP26000101', `S${id}`);
const admitJson = (id: string) => ({ eventId: id, type: 'patient.admitted', occurredAt: 1_790_000_000_000, site: 'RXT', patientId: `P${id}`, payload: { spellId: `S${id}`, ward: 'OAK' } });

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Runs `total` units of work over `concurrency` workers; each unit's latency is recorded. */
async function measure(path: RateResult['path'], concurrency: number, total: number, unitsPerCall: number, worker: (w: number) => Promise<(i: number) => Promise<void>>): Promise<RateResult> {
  const calls = Math.ceil(total / unitsPerCall);
  const latencies: number[] = [];
  let next = 0;
  const workers = await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const t0 = performance.now();
  await Promise.all(workers.map(async (call) => {
    for (let i = next++; i < calls; i = next++) {
      const s = performance.now();
      await call(i);
      latencies.push(performance.now() - s);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const messages = calls * unitsPerCall;
  return { path, concurrency, messages, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(messages / seconds), p50Ms: Number(pct(latencies, 50).toFixed(1)), p99Ms: Number(pct(latencies, 99).toFixed(1)) };
}

export async function benchIngest(opts: BenchIngestOptions = {}): Promise<IngestBenchResult> {
  const total = opts.messages ?? 5000;
  const concurrency = opts.concurrency ?? [1, 8, 32];
  const batchSize = opts.batchSize ?? 100;
  const log = opts.log ?? ((m: string) => process.stdout.write(`[bench-ingest] ${m}\n`));
  const stack = await requireStack();
  const ns = uniqueName('bench-ingest');
  const [httpPort, mllpPort] = [await freePort(), await freePort()];
  const access = testAccess();
  const ingest = await startService('ingest', {
    PFM_SENDERS_FILE: access.file, PFM_JWT_SECRET: TEST_JWT_SECRET,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '6',
    PFM_INGEST_HTTP_PORT: String(httpPort), PFM_MLLP_PORT: String(mllpPort), PFM_LOG_LEVEL: 'warn', PFM_MAX_BATCH: String(Math.max(batchSize, 500)),
  }, httpReady(`http://127.0.0.1:${httpPort}/readyz`));
  const url = `http://127.0.0.1:${httpPort}`;
  const runs: RateResult[] = [];
  const clients: MllpClient[] = [];
  try {
    // Warm-up: connections, schema lookups, JIT.
    const warm = await MllpClient.connect(mllpPort);
    for (let i = 0; i < 200; i++) await warm.send(admitHl7(`${ns}-w${i}`));
    await warm.close();

    for (const c of concurrency) {
      const r = await measure('mllp', c, total, 1, async () => {
        const client = await MllpClient.connect(mllpPort);
        clients.push(client);
        return async (i) => {
          const ack = await client.send(admitHl7(`${ns}-m${c}-${i}`));
          if (!ack.includes('MSA|AA|')) throw new Error(`not AA: ${ack}`);
        };
      });
      runs.push(r);
      log(`MLLP, ${c} connection(s): ${r.messages} A01 in ${r.seconds} s = ${r.perSecond} msg/s acked (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms)`);
    }
    for (const c of concurrency) {
      const r = await measure('http-single', c, total, 1, async () => async (i) => {
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: access.header }, body: JSON.stringify(admitJson(`${ns}-h${c}-${i}`)) });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`HTTP ${res.status}`);
      });
      runs.push(r);
      log(`HTTP one event per request, ${c} client(s): ${r.messages} in ${r.seconds} s = ${r.perSecond} events/s accepted (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms)`);
    }
    for (const c of concurrency) {
      const r = await measure('http-batch', c, total * 4, batchSize, async () => async (i) => {
        const body = JSON.stringify(Array.from({ length: batchSize }, (_, k) => admitJson(`${ns}-b${c}-${i}-${k}`)));
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: access.header }, body });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`HTTP ${res.status}`);
      });
      runs.push(r);
      log(`HTTP batches of ${batchSize}, ${c} client(s): ${r.messages} events in ${r.seconds} s = ${r.perSecond} events/s accepted (p50 ${r.p50Ms} ms per request)`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await ingest.stop();
    const admin = new Kafka(kafkaClientConfig({ brokers: stack.kafkaBrokers, clientId: ns, logLevel: logLevel.NOTHING })).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topicsFor(ns)) }).catch(() => undefined);
    await admin.disconnect();
  }
  return { runs, machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}` };
}

if (require.main === module) {
  benchIngest({ messages: Number(process.argv[2] ?? 5000) })
    .then((r) => { console.log(JSON.stringify(r)); process.exit(0); })
    .catch((e: unknown) => { console.error(e); process.exit(1); });
}
