/** @pfm-stack redis */
// A forced Redis error logged the way the services log errors must not carry patient data:
// ioredis puts the command's arguments (patient state JSON, NHS numbers) on its errors.
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import { requireStack, uniqueName } from '@pfm/testkit';
import { createLogger } from './index';

it('a Redis error with patient data in its arguments is logged without it', async () => {
  const stack = await requireStack();
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });
  const lines: string[] = [];
  const logger = createLogger('redact-test', new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } }));
  const key = `${uniqueName('redact')}:p`;
  try {
    await redis.set(key, 'a string, so HSET fails with WRONGTYPE');
    const state = JSON.stringify({ nhsNumber: '9434765919', name: 'SMITH JOHN', dob: '1980-02-03' });
    const err = await redis.hset(key, 'state', state).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // The open door: the error itself carries the arguments.
    expect(JSON.stringify((err as { command?: unknown }).command)).toContain('9434765919');
    logger.error({ err, site: 'RXT' }, 'could not write patient state');
    logger.warn({ nhsNumber: '9434765919', raw: 'PID|1||9434765919' }, 'something about a patient');
    const out = lines.join('');
    expect(out).toContain('could not write patient state');
    expect(out).toContain('WRONGTYPE');
    expect(out).not.toMatch(/9434765919|SMITH|1980-02-03/);
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
});

it('a refused Redis login and an error quoting a URL with a password are logged without the password', async () => {
  const stack = await requireStack();
  const lines: string[] = [];
  const logger = createLogger('redact-test', new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } }));
  const password = `pw-${uniqueName('redact')}`;
  const url = new URL(stack.redisUrl);
  url.username = 'pfm';
  url.password = password;
  const redis = new Redis(url.toString(), { maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
  const seen: unknown[] = [];
  redis.on('error', (e) => seen.push(e));
  try {
    const err = await redis.ping().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // The open door: ioredis's error carries the AUTH command, password and all.
    expect(JSON.stringify((err as { command?: unknown }).command)).toContain(password);
    logger.error({ err }, 'Redis refused the login');
    for (const e of seen) logger.error({ err: e }, 'Redis connection error');
    // A URL in an error's text or fields (a bad REDIS_URL: Node's URL error quotes it in `input`).
    const badUrl = `redis://pfm:${password}@127.0.0.1:not-a-port`;
    const urlErr = (() => { try { return new URL(badUrl); } catch (e) { return e; } })();
    expect(JSON.stringify(urlErr, Object.getOwnPropertyNames(urlErr))).toContain(password);
    logger.error({ err: urlErr }, 'bad REDIS_URL');
    logger.error({ err: new Error(`could not reach ${url.toString()}`) }, 'quoted');
    const out = lines.join('');
    expect(out).toMatch(/WRONGPASS/);
    expect(out).toContain('redis://pfm:***@');
    expect(out).not.toContain(password);
  } finally {
    redis.disconnect();
  }
});
