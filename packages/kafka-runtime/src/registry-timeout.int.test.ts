/** @pfm-stack none */
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

describe('a read-only principal looking its schema up while the registry is slow', () => {
  it('asks again after a request that timed out, and gets the id', async () => {
    // A local registry: registering is forbidden (a read-only principal), the first lookup
    // is never answered (a request timeout), the second answers with the id.
    let lookups = 0;
    const hung: import('node:http').ServerResponse[] = [];
    const http = await import('node:http');
    const reg = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '';
        if (req.method === 'POST' && /\/versions$/.test(path)) {
          res.writeHead(403, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ error_code: 40301, message: 'forbidden' }));
        } else if (req.method === 'POST' && /^\/subjects\/[^/]+$/.test(path.split('?')[0]!)) {
          lookups += 1;
          if (lookups === 1) { hung.push(res); return; }
          res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ subject: 't-ro-value', id: 42, version: 1, schema: '{}' }));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => reg.listen(0, '127.0.0.1', resolve));
    const addr = reg.address();
    const regUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    try {
      const codec = new FlowEventCodec(regUrl, 't-ro-value', {}, { timeoutMs: 300 });
      expect(await codec.init(2, 10_000)).toBe(42);
      expect(lookups).toBe(2);
    } finally {
      for (const r of hung) r.destroy();
      await new Promise((resolve) => reg.close(resolve));
    }
  });
});
