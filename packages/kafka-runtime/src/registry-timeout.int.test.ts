// A registry that accepts connections and never answers (a real local TCP server standing
// in for a hung registry): every request of the product's registry client times out, the
// codec's registration retries with a warning per failed attempt and then stops with an
// error naming the subject, and decoding takes the timeout as the registry's fault.
import { createServer, type Server, type Socket } from 'node:net';
import { createLogger } from '@pfm/observability';
import { FlowEventCodec } from './codec';
import { InfrastructureError, isRetriableDecodeError } from './errors';
import { createSchemaRegistry, REGISTRY_TIMEOUT_MS, registryTimeoutFromEnv } from './registry';

let server: Server;
let url: string;
const accepted: Socket[] = [];

beforeAll(async () => {
  server = createServer((s) => { accepted.push(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('a registry that never answers', () => {
  it('registration times out per request, is retried with a warning, then fails naming the subject', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('registry-timeout-test', { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    logger.level = 'warn';
    const before = accepted.length;
    const codec = new FlowEventCodec(url, 't-hung-value', {}, { logger, timeoutMs: 300 });
    const err = await codec.init(2).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/^schema registry: could not register t-hung-value \(attempt 2 of 2\): .*Timeout \(300ms\)/);
    // Two attempts, each a request the server accepted and left unanswered.
    expect(accepted.length - before).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, registry: url, subject: 't-hung-value', attempt: 1, attempts: 2 });
    expect(String(lines[0]!.msg)).toMatch(/^schema registry: registering t-hung-value failed \(attempt 1 of 2\): .*Timeout \(300ms\); retrying in \d+ ms$/);
  });

  it('a schema fetch for decoding times out and is taken as the registry\'s fault (retried), not the message\'s', async () => {
    const err = await createSchemaRegistry(url, {}, 300).decode(Buffer.from([0, 0, 0, 0, 7, 1])).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/Timeout \(300ms\)/);
    expect(isRetriableDecodeError(err)).toBe(true);
  });

  it('the timeout comes from SCHEMA_REGISTRY_TIMEOUT_MS, else the default', () => {
    expect(registryTimeoutFromEnv({})).toBe(REGISTRY_TIMEOUT_MS);
    expect(registryTimeoutFromEnv({ SCHEMA_REGISTRY_TIMEOUT_MS: '2500' })).toBe(2500);
    expect(() => registryTimeoutFromEnv({ SCHEMA_REGISTRY_TIMEOUT_MS: '0' })).toThrow(/SCHEMA_REGISTRY_TIMEOUT_MS must be a positive number/);
  });
});
