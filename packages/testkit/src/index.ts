// Helpers for integration and e2e tests on the real stack. Connection settings come
// from KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL (./pfm test sets them from the
// stack it starts); when nothing answers, tests fail with a message, never skip.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

export const stackEnv = () => ({
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
});

/** A short unique name for topics, groups and key prefixes, so tests never share state. */
export const uniqueName = (label: string): string => `t-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Thrown from a waitFor condition when waiting longer cannot help (a process that exited): waitFor rethrows it at once. */
export class GiveUp extends Error {}

/** Waits for a condition, polling; never a fixed sleep. Throws with the last error or value seen, or at once on a GiveUp. */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Fails loudly (with how to fix it) when a stack component does not accept TCP connections. */
export async function requireReachable(name: string, hostPort: string): Promise<void> {
  // host:port or a URL, which may carry a login (redis://pfm:<password>@127.0.0.1:6380): never printed.
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(hostPort) ? hostPort : `tcp://${hostPort}`);
  } catch {
    throw new Error(`${name}: not a host:port or URL (the value is not shown: it may hold a password)`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port || ({ 'redis:': '6379', 'rediss:': '6379', 'http:': '80', 'https:': '443' } as Record<string, string>)[url.protocol] || '';
  await new Promise<void>((resolve, reject) => {
    const s = new Socket();
    const fail = (why: string) => { s.destroy(); reject(new Error(`${name} is not reachable at ${host}:${port} (${why}). Start the stack: ./pfm stack up, then source .stack/stack.env`)); };
    s.setTimeout(3000, () => fail('timeout'));
    s.once('error', (e) => fail(e.message));
    s.connect(Number(port), host, () => { s.end(); resolve(); });
  });
}

/**
 * The stack's addresses, once each part answers: every part, or on a suite's own container
 * stack the parts its `@pfm-stack` pragma names (PFM_TEST_STACK_PARTS, set by the test
 * environment; a part it did not name has an address where nothing answers).
 */
export async function requireStack(): Promise<ReturnType<typeof stackEnv>> {
  const env = stackEnv();
  const named = process.env.PFM_TEST_STACK_PARTS?.split(',');
  const has = (p: string) => !named || named.includes(p);
  if (has('redis')) await requireReachable('Redis', env.redisUrl);
  if (has('kafka')) await requireReachable('Kafka', env.kafkaBrokers[0]!);
  if (has('registry')) await requireReachable('Schema registry', env.schemaRegistryUrl);
  return env;
}
export * from './services';
export * from './pathways';
export * from './engine';
export * from './containers';
export * from './parts';
export * from './reset';
export * from './compose';
export * from './kafka';
export * from './metrics';
export * from './logs';
