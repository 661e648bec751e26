// docker-compose.yml's Kafka is closed like the native stack's (infra/kafka): SASL on every
// listener, ACLs with no access by default, admin the only super user, and each service
// logging in as a principal that infra/kafka/acls.txt gives rights to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..');
type Service = { environment?: Record<string, string | number>; depends_on?: Record<string, { condition: string }> };
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; configs: Record<string, { content: string }> };
const acls = readFileSync(join(root, 'infra', 'kafka', 'acls.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));

describe('Kafka in docker-compose.yml', () => {
  const kafka = compose.services.kafka!.environment!;

  it('takes SASL logins only and allows nothing without an ACL; admin is the only super user', () => {
    const protocols = String(kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).split(',').map((p) => p.split(':')[1]);
    expect(new Set(protocols)).toEqual(new Set(['SASL_PLAINTEXT']));
    expect(kafka.KAFKA_AUTHORIZER_CLASS_NAME).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(kafka.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
    expect(kafka.KAFKA_SUPER_USERS).toBe('User:admin');
    // PLAIN knows the admin alone (one user_ entry on every listener).
    for (const l of ['EXTERNAL', 'INTERNAL', 'CONTROLLER']) expect(String(kafka[`KAFKA_LISTENER_NAME_${l}_PLAIN_SASL_JAAS_CONFIG`]).match(/user_\w+=/g)).toEqual(['user_admin=']);
  });

  it('runs each service as its own principal, with rights in acls.txt and a password kafka-setup registers', () => {
    const setup = compose.services['kafka-setup']!.environment!;
    const logins = Object.fromEntries(['ingest', 'flow-engine', 'board-gateway'].map((name) => {
      const env = compose.services[name]!.environment!;
      const user = String(env.KAFKA_SASL_USERNAME);
      expect(env.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
      expect(String(env.KAFKA_SASL_PASSWORD)).toContain(`PFM_KAFKA_PASSWORD_${user.toUpperCase()}`);
      expect(String(setup[`PFM_KAFKA_PASSWORD_${user.toUpperCase()}`])).toContain(`PFM_KAFKA_PASSWORD_${user.toUpperCase()}`);
      expect(acls.some((a) => a[0] === user)).toBe(true);
      expect(compose.services[name]!.depends_on?.['kafka-setup']).toEqual({ condition: 'service_completed_successfully' });
      return [name, user];
    }));
    expect(logins).toEqual({ ingest: 'ingest', 'flow-engine': 'engine', 'board-gateway': 'gateway' });
  });

  it('has the registry\'s KafkaSQL storage log in as `registry` for all three of its clients', () => {
    const content = compose.configs['registry-kafka-client']!.content;
    for (const client of ['producer', 'consumer', 'admin']) {
      expect(content).toContain(`apicurio.kafkasql.${client}.security.protocol=SASL_PLAINTEXT`);
      expect(content).toMatch(new RegExp(`apicurio\\.kafkasql\\.${client}\\.sasl\\.jaas\\.config=\\S+ScramLoginModule required username="registry"`));
    }
    expect(String(compose.services['schema-registry']!.environment!.QUARKUS_CONFIG_LOCATIONS).split(',')).toContain('/pfm/kafka-client.properties');
  });

  it('acls.txt grants no service cluster administration and no wildcard topic or group', () => {
    const services = ['ingest', 'engine', 'gateway', 'insights', 'replay', 'simulator', 'registry'];
    const granted = acls.filter((a) => services.includes(a[0]!));
    expect(granted.filter((a) => a[1] === 'CLUSTER' && !['DESCRIBE', 'IDEMPOTENT_WRITE'].includes(a[4]!))).toEqual([]);
    expect(granted.filter((a) => a[3] === '*')).toEqual([]);
    expect(acls.filter((a) => a[0] === 'admin')).toEqual([]);
  });
});
