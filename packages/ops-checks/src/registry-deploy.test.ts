// docker-compose.yml's schema registry is closed like the native one (infra/schema-registry):
// HTTP basic auth, Apicurio's role-based authorization with the roles of its own users,
// and each service logging in as its own principal, only ingest allowed to register.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { properties, registryConfigFiles } from './compose-registry-config';

const root = join(__dirname, '..', '..', '..');
type Service = { environment?: Record<string, string | number>; healthcheck?: { test: string[] }; volumes?: string[]; depends_on?: Record<string, { condition: string }>; entrypoint?: string[] };
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; configs?: unknown };

describe('the schema registry in docker-compose.yml', () => {
  const registry = compose.services['schema-registry']!;
  const files = registryConfigFiles();
  const users = properties(files.users);

  it('requires a login (HTTP basic) and authorizes by role, with its users and the Kafka client settings as config', () => {
    expect(registry.environment!.QUARKUS_HTTP_AUTH_BASIC).toBe('true');
    expect(registry.environment!.APICURIO_AUTH_ROLE_BASED_AUTHORIZATION).toBe('true');
    expect(registry.environment!.APICURIO_AUTH_ROLE_SOURCE).toBe('token');
    expect(String(registry.environment!.QUARKUS_CONFIG_LOCATIONS).split(',')).toEqual(['/pfm/registry/kafka-client.properties', '/pfm/registry/users.properties']);
    // The health check needs no login: the management interface's readiness.
    expect(registry.healthcheck!.test.join(' ')).toContain('/health/ready');
  });

  it('logs each service in as its own principal; ingest may register, engine and gateway only read', () => {
    const logins = Object.fromEntries(['ingest', 'flow-engine', 'board-gateway'].map((name) => {
      const env = compose.services[name]!.environment!;
      const user = String(env.SCHEMA_REGISTRY_USERNAME);
      expect(String(env.SCHEMA_REGISTRY_PASSWORD)).toContain(`PFM_REGISTRY_PASSWORD_${user.toUpperCase()}`);
      expect(users[`quarkus.security.users.embedded.users.${user}`]).toBe(`<PFM_REGISTRY_PASSWORD_${user.toUpperCase()}>`);
      return [user, users[`quarkus.security.users.embedded.roles.${user}`]];
    }));
    expect(logins).toEqual({ ingest: 'sr-developer', engine: 'sr-readonly', gateway: 'sr-readonly' });
    expect(users['quarkus.security.users.embedded.roles.admin']).toBe('sr-admin');
  });

  it('gets its users and Kafka settings from the registry-config step, in a volume of the two alone (no config content in the compose file)', () => {
    const step = compose.services['registry-config']!;
    expect(step.entrypoint).toEqual(['bash', '/pfm/compose-config.sh']);
    expect(registry.depends_on?.['registry-config']).toEqual({ condition: 'service_completed_successfully' });
    const holders = Object.entries(compose.services).filter(([, svc]) => (svc.volumes ?? []).some((v) => v.startsWith('registry-config:'))).map(([name]) => name);
    expect(holders.sort()).toEqual(['registry-config', 'schema-registry']);
    expect(registry.volumes).toContain('registry-config:/pfm/registry:ro');
    // Compose 2.23's configs.content is what docker-compose 1.29 cannot read.
    expect(compose.configs).toBeUndefined();
    // Every password the step writes comes from the compose file's environment, required there.
    for (const v of ['PFM_REGISTRY_PASSWORD_ADMIN', 'PFM_REGISTRY_PASSWORD_INGEST', 'PFM_REGISTRY_PASSWORD_ENGINE', 'PFM_REGISTRY_PASSWORD_GATEWAY', 'PFM_KAFKA_PASSWORD_REGISTRY']) {
      expect(String(step.environment![v])).toBe(`\${${v}:?set ${v}}`);
    }
    expect(files.modes).toEqual([0o644, 0o644]);
  });
});
