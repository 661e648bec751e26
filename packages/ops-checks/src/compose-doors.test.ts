// docker-compose.yml is closed by default (docs/security.md, "Deploys closed by default"):
// every published port on this host's 127.0.0.1, only the gateway and ingest (the doors
// senders and readers use) movable with PFM_PUBLISH_HOST; Redis answers only with a
// password; the product's image runs as a user other than root and carries no .git.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..');
type Service = { ports?: string[]; command?: string[]; environment?: Record<string, string | number>; image?: string };
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const DOORS = ['ingest', 'board-gateway'];

describe('docker-compose.yml publishes closed by default', () => {
  it('every published port binds to 127.0.0.1; only the gateway and ingest may be moved (PFM_PUBLISH_HOST, 127.0.0.1 unless set)', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, p })));
    expect(published.length).toBeGreaterThan(0);
    for (const { name, p } of published) {
      // host:hostPort:containerPort (hostPort a number, or a PFM_COMPOSE_*_PORT variable with a
      // numeric default); a port without a host part would bind every interface.
      const host = /^(\$\{[^}]*\}|[^:]+):(?:\d+|\$\{PFM_COMPOSE_[A-Z]+_PORT:-\d+\}):\d+$/.exec(p)?.[1];
      const allowed = DOORS.includes(name) ? ['127.0.0.1', '${PFM_PUBLISH_HOST:-127.0.0.1}'] : ['127.0.0.1'];
      expect({ name, p, allowed: host !== undefined && allowed.includes(host) }).toEqual({ name, p, allowed: true });
    }
    // Kafka, the registry and Redis are published on 127.0.0.1 alone, whatever PFM_PUBLISH_HOST says.
    for (const name of ['kafka', 'schema-registry', 'redis']) {
      expect({ name, ports: compose.services[name]!.ports!.every((p) => p.startsWith('127.0.0.1:')) }).toEqual({ name, ports: true });
    }
  });

  it('Redis takes logins only: an admin password for the default user and the services\' ACL user with its own', () => {
    const cmd = compose.services.redis!.command!;
    expect(cmd[cmd.indexOf('--requirepass') + 1]).toMatch(/^\$\{PFM_REDIS_ADMIN_PASSWORD:\?/);
    const user = cmd.slice(cmd.indexOf('--user'));
    expect(user.slice(0, 4)).toEqual(['--user', 'pfm', 'on', expect.stringMatching(/^>\$\{PFM_REDIS_PASSWORD:\?/)]);
    expect(user).not.toContain('nopass');
    for (const name of DOORS) expect(String(compose.services[name]!.environment!.REDIS_URL)).toMatch(/^redis:\/\/pfm:\$\{PFM_REDIS_PASSWORD:\?[^}]*\}@redis:6379$/);
  });

  it('the product\'s image runs as node (not root) and its build context leaves out .git, secrets and the local stack', () => {
    const steps = readFileSync(join(root, 'infra', 'docker', 'Dockerfile'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const users = steps.filter((l) => /^USER\s/i.test(l));
    expect(users.at(-1)).toBe('USER node');
    // Nothing runs after the last USER but settings (no RUN as root at the end).
    expect(steps.slice(steps.lastIndexOf(users.at(-1)!) + 1).filter((l) => /^RUN\s/i.test(l))).toEqual([]);
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['.git', '.stack', '*.key', '**/senders.json']));
  });
});
