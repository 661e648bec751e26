/** @pfm-stack redis */
// Redis is closed by default, as Kafka and the registry are (infra/stack.sh: the stack's own
// redis-server with an ACL file, the `default` user off, a `pfm` user whose password is in
// the stack's state directory), met on the real Redis of the stack: a client without a
// login, with a wrong password or as `default` is refused; the login of REDIS_URL (from
// .stack/stack.env) is accepted, and the services' client, made from the URL as the
// services make it, works. Needs the stack's settings: source .stack/stack.env.
import Redis, { type RedisOptions } from 'ioredis';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';

describe('Redis is closed by default: logins on the real Redis of the stack', () => {
  let url: URL;
  const clients: Redis[] = [];
  /** A client to the stack's host and port with exactly these settings: no retries, no ready check. */
  const client = (o: RedisOptions = {}) => {
    const c = new Redis({ host: url.hostname, port: Number(url.port || 6379), lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, ...o });
    c.on('error', () => undefined); // refusals are asserted on the commands' answers
    clients.push(c);
    return c;
  };
  const refusal = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected Redis to refuse, but the command succeeded');
  };

  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    url = new URL(stackEnv().redisUrl);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  });

  it('REDIS_URL carries a login (the stack writes redis://pfm:<password>@127.0.0.1:<port>)', () => {
    // The value is not printed: it holds the password.
    expect({ username: url.username, hasPassword: url.password.length > 0 }).toEqual({ username: 'pfm', hasPassword: true });
  });

  it('refuses a client without a login, a wrong password and the default user', async () => {
    const anonymous = client();
    expect(await refusal(anonymous.ping())).toMatch(/^NOAUTH/);
    expect(await refusal(anonymous.get(uniqueName('auth')))).toMatch(/^NOAUTH/);
    expect(await refusal(anonymous.call('AUTH', 'pfm', 'not-the-password'))).toMatch(/^WRONGPASS/);
    // The default user is off: no password opens it, not even pfm's.
    expect(await refusal(anonymous.call('AUTH', decodeURIComponent(url.password)))).toMatch(/^WRONGPASS/);
    expect(await refusal(anonymous.call('AUTH', 'default', decodeURIComponent(url.password)))).toMatch(/^WRONGPASS/);
    expect(await refusal(anonymous.ping())).toMatch(/^NOAUTH/);
    // A client configured with a wrong password is refused at connect.
    const wrong = client({ username: 'pfm', password: 'not-the-password' });
    expect(await refusal(wrong.ping())).toMatch(/WRONGPASS/);
  });

  it('accepts the login of REDIS_URL, as the services connect (new Redis(REDIS_URL))', async () => {
    const byHand = client({ username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
    expect(await byHand.ping()).toBe('PONG');
    expect(await byHand.call('ACL', 'WHOAMI')).toBe('pfm');
    const service = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
    clients.push(service);
    const key = `${uniqueName('auth')}:k`;
    await service.set(key, 'v', 'EX', 60);
    expect(await service.get(key)).toBe('v');
    expect(await service.unlink(key)).toBe(1);
  });
});
