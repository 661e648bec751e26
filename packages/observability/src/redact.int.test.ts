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
