// docker-compose.yml's schema registry is closed like the native one (infra/schema-registry):
// HTTP basic auth, Apicurio's role-based authorization with the roles of its own users,
// and each service logging in as its own principal, only ingest allowed to register.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..');
type Service = { environment?: Record<string, string | number>; healthcheck?: { test: string[] } };
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; configs: Record<string, { content: string }> };

describe('the schema registry in docker-compose.yml', () => {
  const registry = compose.services['schema-registry']!;
  const users = Object.fromEntries(compose.configs['registry-users']!.content.split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));

  it('requires a login (HTTP basic) and authorizes by role, with its users and the Kafka client settings as config', () => {
    expect(registry.environment!.QUARKUS_HTTP_AUTH_BASIC).toBe('true');
    expect(registry.environment!.APICURIO_AUTH_ROLE_BASED_AUTHORIZATION).toBe('true');
    expect(registry.environment!.APICURIO_AUTH_ROLE_SOURCE).toBe('token');
    expect(String(registry.environment!.QUARKUS_CONFIG_LOCATIONS).split(',')).toEqual(['/pfm/kafka-client.properties', '/pfm/registry-users.properties']);
    // The health check needs no login: the management interface's readiness.
    expect(registry.healthcheck!.test.join(' ')).toContain('/health/ready');
  });

  it('logs each service in as its own principal; ingest may register, engine and gateway only read', () => {
    const logins = Object.fromEntries(['ingest', 'flow-engine', 'board-gateway'].map((name) => {
      const env = compose.services[name]!.environment!;
      const user = String(env.SCHEMA_REGISTRY_USERNAME);
      expect(String(env.SCHEMA_REGISTRY_PASSWORD)).toContain(`PFM_REGISTRY_PASSWORD_${user.toUpperCase()}`);
      expect(users[`quarkus.security.users.embedded.users.${user}`]).toContain(`PFM_REGISTRY_PASSWORD_${user.toUpperCase()}`);
      return [user, users[`quarkus.security.users.embedded.roles.${user}`]];
    }));
    expect(logins).toEqual({ ingest: 'sr-developer', engine: 'sr-readonly', gateway: 'sr-readonly' });
    expect(users['quarkus.security.users.embedded.roles.admin']).toBe('sr-admin');
  });
});
