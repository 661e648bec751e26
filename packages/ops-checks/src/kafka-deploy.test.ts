// docker-compose.yml's Kafka is closed like the native stack's (infra/kafka): SASL on every
// listener, TLS (SASL_SSL) on every listener a client reaches, the controller on the
// broker's own loopback, ACLs with no access by default, admin the only super user, and
// each service logging in as a principal that infra/kafka/acls.txt gives rights to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { registryConfigFiles } from './compose-registry-config';

const root = join(__dirname, '..', '..', '..');
type Service = { environment?: Record<string, string | number>; depends_on?: Record<string, { condition: string }>; volumes?: string[]; ports?: string[]; user?: string; entrypoint?: string[]; command?: string[]; image?: string };
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const registryKafkaClient = registryConfigFiles().kafkaClient;
/** Listener name -> security protocol. */
const protocolMap = (env: Record<string, string | number>) => Object.fromEntries(String(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).split(',').map((p) => p.split(':') as [string, string]));
/** Listener name -> host:port of a KAFKA_LISTENERS-style value. */
const listeners = (value: string | number | undefined) => Object.fromEntries(String(value ?? '').split(',').filter(Boolean).map((l) => { const m = /^(\w+):\/\/(.+)$/.exec(l)!; return [m[1]!, m[2]!]; }));
/** Named volume -> mount path (with its options) in a service. */
const mounts = (svc: Service) => Object.fromEntries((svc.volumes ?? []).filter((v) => !v.startsWith('.')).map((v) => { const [name, ...rest] = v.split(':'); return [name!, rest.join(':')]; }));
const PRODUCT_SERVICES = ['ingest', 'flow-engine', 'board-gateway'];
const acls = readFileSync(join(root, 'infra', 'kafka', 'acls.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));

describe('Kafka in docker-compose.yml', () => {
  const kafka = compose.services.kafka!.environment!;

  it('takes SASL logins only and allows nothing without an ACL; admin is the only super user', () => {
    expect(new Set(Object.values(protocolMap(kafka)).map((p) => p.replace(/^SASL_(SSL|PLAINTEXT)$/, 'SASL')))).toEqual(new Set(['SASL']));
    expect(kafka.KAFKA_AUTHORIZER_CLASS_NAME).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(kafka.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
    expect(kafka.KAFKA_SUPER_USERS).toBe('User:admin');
    // PLAIN knows the admin alone (one user_ entry on every listener).
    for (const l of ['EXTERNAL', 'INTERNAL', 'CONTROLLER']) expect(String(kafka[`KAFKA_LISTENER_NAME_${l}_PLAIN_SASL_JAAS_CONFIG`]).match(/user_\w+=/g)).toEqual(['user_admin=']);
    // SCRAM (the services' logins) on the two client listeners: a login module each, no users in it.
    for (const l of ['EXTERNAL', 'INTERNAL']) expect(kafka[`KAFKA_LISTENER_NAME_${l}_SCRAM___SHA___512_SASL_JAAS_CONFIG`]).toBe('org.apache.kafka.common.security.scram.ScramLoginModule required;');
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
    for (const client of ['producer', 'consumer', 'admin']) {
      expect(registryKafkaClient).toContain(`apicurio.kafkasql.${client}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="registry" password="<PFM_KAFKA_PASSWORD_REGISTRY>";`);
    }
    expect(String(compose.services['schema-registry']!.environment!.QUARKUS_CONFIG_LOCATIONS).split(',')).toContain('/pfm/registry/kafka-client.properties');
  });

  it('takes TLS (SASL_SSL) on every listener a client reaches; the controller stays on the broker\'s own loopback', () => {
    const protocols = protocolMap(kafka);
    const bound = listeners(kafka.KAFKA_LISTENERS);
    const advertised = listeners(kafka.KAFKA_ADVERTISED_LISTENERS);
    const controller = String(kafka.KAFKA_CONTROLLER_LISTENER_NAMES);
    // Every listener that is advertised (what clients are told to use), and the broker's own inter-broker one.
    expect(Object.keys(advertised).sort()).toEqual(Object.keys(bound).filter((l) => l !== controller).sort());
    for (const l of [...Object.keys(advertised), String(kafka.KAFKA_INTER_BROKER_LISTENER_NAME)]) expect({ l, protocol: protocols[l] }).toEqual({ l, protocol: 'SASL_SSL' });
    // The controller: not advertised, not published, bound to the container's loopback and voted for there.
    expect(advertised[controller]).toBeUndefined();
    expect(bound[controller]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(String(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS)).toBe(`1@${bound[controller]}`);
    const port = bound[controller]!.split(':')[1];
    expect(compose.services.kafka!.ports!.filter((p) => p.endsWith(`:${port}`))).toEqual([]);
    // Published listeners only on this host's 127.0.0.1.
    expect(compose.services.kafka!.ports!.every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
  });

  it('the broker\'s keystore comes from the kafka-tls step; names are checked; the CA\'s key stays in that step', () => {
    expect(kafka.KAFKA_SSL_KEYSTORE_TYPE).toBe('PKCS12');
    expect(String(kafka.KAFKA_SSL_KEYSTORE_PASSWORD)).toContain('PFM_KAFKA_TLS_PASSWORD');
    expect(kafka.KAFKA_SSL_KEY_PASSWORD).toBe(kafka.KAFKA_SSL_KEYSTORE_PASSWORD);
    expect(kafka.KAFKA_SSL_TRUSTSTORE_TYPE).toBe('PEM');
    expect(kafka.KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM).toBe('https');
    expect(kafka.KAFKA_SSL_CLIENT_AUTH).toBe('none');
    // The advertised names are in the broker's certificate.
    const tls = compose.services['kafka-tls']!;
    const names = String(tls.environment!.PFM_KAFKA_TLS_NAMES).split(',');
    for (const hostPort of Object.values(listeners(kafka.KAFKA_ADVERTISED_LISTENERS))) {
      const host = hostPort.replace(/:(\d+|\$\{[^}]*\})$/, '');
      expect(names).toContain(/^\d+\.\d+\.\d+\.\d+$/.test(host) ? `ip:${host}` : `dns:${host}`);
    }
    expect(tls.entrypoint).toEqual(['bash', '/pfm/compose-tls.sh']);
    expect(compose.services.kafka!.depends_on?.['kafka-tls']).toEqual({ condition: 'service_completed_successfully' });
    // Volumes: the CA key (kafka-tls-ca) in kafka-tls alone; the broker's keystore (kafka-tls) in kafka-tls and the broker.
    const tlsMounts = mounts(tls);
    const kafkaMounts = mounts(compose.services.kafka!);
    expect(tlsMounts['kafka-tls-ca']).toBe(tls.environment!.PFM_KAFKA_TLS_CA_DIR);
    expect(tlsMounts['kafka-tls']).toBe(tls.environment!.PFM_KAFKA_TLS_BROKER_DIR);
    expect(tlsMounts['kafka-ca']).toBe(tls.environment!.PFM_KAFKA_TLS_PUBLIC_DIR);
    expect(kafkaMounts['kafka-tls']).toBe('/pfm/tls:ro');
    expect(String(kafka.KAFKA_SSL_KEYSTORE_LOCATION)).toBe('/pfm/tls/broker.p12');
    expect(String(kafka.KAFKA_SSL_TRUSTSTORE_LOCATION)).toBe('/pfm/tls/ca.crt');
    for (const [name, svc] of Object.entries(compose.services)) {
      const m = mounts(svc);
      if (name !== 'kafka-tls') expect({ name, caKey: m['kafka-tls-ca'] }).toEqual({ name, caKey: undefined });
      if (name !== 'kafka-tls' && name !== 'kafka') expect({ name, keystore: m['kafka-tls'] }).toEqual({ name, keystore: undefined });
    }
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['kafka-tls-ca', 'kafka-tls', 'kafka-ca']));
  });

  it('every client trusts that CA over SASL_SSL: the services, kafka-setup and the registry\'s KafkaSQL storage', () => {
    for (const name of PRODUCT_SERVICES) {
      const svc = compose.services[name]!;
      expect({ name, ca: svc.environment!.KAFKA_SSL_CA_FILE }).toEqual({ name, ca: '/pfm/kafka-ca/ca.crt' });
      expect({ name, mount: mounts(svc)['kafka-ca'] }).toEqual({ name, mount: '/pfm/kafka-ca:ro' });
    }
    // kafka-setup: the product's own command (setup-cli.ts) in the product's image, on TLS to the compose network's listener.
    const setup = compose.services['kafka-setup']!;
    expect(setup.image).toBe(compose.services.ingest!.image);
    expect(setup.command).toEqual(['pnpm', '-s', 'tsx', 'packages/kafka-runtime/src/setup-cli.ts']);
    expect(setup.environment!.KAFKA_SSL_CA_FILE).toBe('/pfm/kafka-ca/ca.crt');
    expect(setup.environment!.KAFKA_BROKERS).toBe('kafka:19092');
    expect(mounts(setup)['kafka-ca']).toBe('/pfm/kafka-ca:ro');
    for (const client of ['producer', 'consumer', 'admin']) {
      expect(registryKafkaClient).toContain(`apicurio.kafkasql.${client}.security.protocol=SASL_SSL`);
      expect(registryKafkaClient).toContain(`apicurio.kafkasql.${client}.ssl.truststore.type=PEM`);
      expect(registryKafkaClient).toContain(`apicurio.kafkasql.${client}.ssl.truststore.location=/pfm/kafka-ca/ca.crt`);
    }
    expect(mounts(compose.services['schema-registry']!)['kafka-ca']).toBe('/pfm/kafka-ca:ro');
  });

  it('acls.txt lets each service write every live topic it publishes to', () => {
    // What the code sends where (engine: FlowEngine's outputs, rejects included; ingest: accepted events and rejects).
    const publishes: Record<string, string[]> = {
      engine: ['pfm.flow-events.v1', 'pfm.board-updates.v1', 'pfm.alerts.v1', 'pfm.flow-events.dlq.v1', 'pfm.ingest-rejects.v1'],
      ingest: ['pfm.flow-events.v1', 'pfm.ingest-rejects.v1'],
    };
    for (const [who, topics] of Object.entries(publishes)) {
      const missing = topics.filter((t) => !acls.some((a) => a[0] === who && a[1] === 'TOPIC' && a[2] === 'LITERAL' && a[3] === t && a[4] === 'WRITE'));
      expect({ who, missing }).toEqual({ who, missing: [] });
    }
  });

  it('acls.txt grants no service cluster administration and no wildcard topic or group', () => {
    const services = ['ingest', 'engine', 'gateway', 'insights', 'replay', 'simulator', 'registry'];
    const granted = acls.filter((a) => services.includes(a[0]!));
    expect(granted.filter((a) => a[1] === 'CLUSTER' && !['DESCRIBE', 'IDEMPOTENT_WRITE'].includes(a[4]!))).toEqual([]);
    expect(granted.filter((a) => a[3] === '*')).toEqual([]);
    expect(acls.filter((a) => a[0] === 'admin')).toEqual([]);
  });
});
