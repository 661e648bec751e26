// Engine runs on a suite's container stack for the container fault tests: the real
// flow-engine process on scratch topics, run to the end of the log, and its result in a
// form two runs can be compared by (canonical Redis dump without the prefix, and the
// alerts topic as distinct alert changes, as tests/support/fault.ts compares them).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import type { Alert, TopicSet } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { logReady, startService, waitFor, type RunningService, type stackEnv } from '@pfm/testkit';

type StackEnv = ReturnType<typeof stackEnv>;

const wardsFile = (() => {
  let file: string | undefined;
  return () => {
    if (!file) {
      file = join(mkdtempSync(join(tmpdir(), 'pfm-cfault-')), 'wards.json');
      writeFileSync(file, JSON.stringify([{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 400 }]));
    }
    return file;
  };
})();

export interface EngineRun {
  store: FlowStore;
  engine: RunningService;
  env: Record<string, string>;
  /** True once Redis records every partition applied up to `ends`. */
  done(ends: Map<number, bigint>): Promise<boolean>;
  /** Events applied so far by Redis's record (sum of applied offsets + 1). */
  applied(): Promise<bigint>;
}

/** Starts a flow-engine on the scratch topics with its own key prefix and group (event clock: runs compare exactly). */
export async function startEngineRun(stack: StackEnv, scratch: { ns: string; topics: TopicSet }, redis: Redis, label: string, extraEnv: Record<string, string> = {}): Promise<EngineRun> {
  const prefix = `${scratch.ns}_${label}`.replace(/-/g, '_');
  const store = new FlowStore(redis, new Keys(prefix), new WardRegistry([]), DEFAULT_THRESHOLDS);
  const env = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
    PFM_TOPIC_NAMESPACE: scratch.ns, PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: wardsFile(), PFM_ENGINE_GROUP: `${scratch.ns}-${label}`,
    PFM_ENGINE_INSTANCE: `${label}-0`, PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '86400000',
    // Small fetches (~60 events a batch), so a fault lands between many batches.
    PFM_ENGINE_MAX_BATCH_BYTES: '16384', PFM_ENGINE_SESSION_TIMEOUT_MS: '6000', ...extraEnv,
  };
  const engine = await startService('flow-engine', env, logReady('flow-engine running'), 180_000);
  const topic = scratch.topics.flowEvents;
  return {
    store, engine, env,
    done: async (ends) => {
      const offs = await store.appliedOffsets(topic);
      return [...ends].every(([p, end]) => end < 0n || (offs.has(p) && BigInt(offs.get(p)!) >= end));
    },
    applied: async () => [...(await store.appliedOffsets(topic)).values()].reduce((n, o) => n + BigInt(o) + 1n, 0n),
  };
}

/** The last offset of each partition of the scratch flow topic (-1 when empty). */
export async function logEnds(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high) - 1n]));
}

/** The store's keys and values with its prefix and topic namespace replaced, for comparing two runs on their own topics. */
export async function canonical(store: FlowStore, ns: string, exclude?: RegExp): Promise<Record<string, unknown>> {
  const d = await store.dump({ exclude });
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(store.keys.prefix, '<p>'), JSON.parse(JSON.stringify(v).replaceAll(ns, '<ns>')) as unknown]));
}

/** Keys whose values differ between two canonical dumps (at most 20). */
export function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k);
  return out.slice(0, 20);
}

/** The alerts topic read to its end: each alert change (id@version) with its content, and how many came twice. */
export async function alertChanges(kafka: Kafka, topic: string, ns: string): Promise<{ changes: Map<string, string>; repeats: number }> {
  const admin = kafka.admin();
  await admin.connect();
  const highs = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const changes = new Map<string, string>();
  let repeats = 0;
  const seen = new Map<number, bigint>();
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const a = JSON.parse(message.value!.toString().replaceAll(ns, '<ns>')) as Alert;
      const k = `${a.alertId}@${a.version ?? 1}`;
      if (changes.has(k)) repeats += 1;
      changes.set(k, JSON.stringify(a));
      seen.set(partition, BigInt(message.offset));
    },
  });
  try {
    await waitFor(() => [...highs].every(([p, h]) => h === 0n || (seen.get(p) ?? -1n) >= h - 1n), { timeoutMs: 60000, what: `${topic} read to its end` });
  } finally {
    await consumer.disconnect();
  }
  return { changes, repeats };
}

/** Alert changes that differ between two runs, each named missing (in `a` only), extra (in `b` only) or changed; at most 20. */
export function alertDifferences(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) === b.get(k)) continue;
    out.push(`${!b.has(k) ? 'missing' : !a.has(k) ? 'extra' : 'changed'} ${k}`);
  }
  return out.slice(0, 20);
}
