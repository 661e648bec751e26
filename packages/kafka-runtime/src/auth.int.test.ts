// The broker is closed by default (infra/kafka: SASL/SCRAM-SHA-512, ACLs from acls.txt,
// no access without an ACL), met on the real broker of the stack: a client without
// credentials or with a wrong password is refused, and a service principal can only touch
// the topics its ACLs name. Needs the stack's SASL settings (.stack/stack.env): the test
// principal in KAFKA_SASL_*, every principal's password in PFM_KAFKA_PASSWORDS_FILE.
import { readFileSync } from 'node:fs';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type KafkaConfig } from 'kafkajs';
import { TOPICS, topicSpecs } from '@pfm/contracts';
import { requireStack, uniqueName, waitFor } from '@pfm/testkit';
import { ensureTopics, kafkaClientConfig, kafkaSaslFromEnv, KafkaAuthConfigError } from './client';

/** The error kafkajs ends with, after unwrapping retries: its name, type (protocol error code) and message. */
async function failure(p: Promise<unknown>): Promise<{ name: string; type?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    let err = e as { name: string; type?: string; message: string; originalError?: unknown };
    while (err.name === 'KafkaJSNumberOfRetriesExceeded' && err.originalError) err = err.originalError as typeof err;
    return { name: err.name, type: err.type ?? (err as { errors?: { type?: string }[] }).errors?.[0]?.type, message: err.message };
  }
  throw new Error('expected the broker to refuse, but the call succeeded');
}

describe('Kafka is closed by default: authentication and ACLs on the real broker', () => {
  let brokers: string[];
  let passwords: Map<string, string>;
  const clients: { disconnect(): Promise<void> }[] = [];
  /** A client with exactly these settings, over the environment's TLS (KAFKA_SSL_CA_FILE) unless `extra` says otherwise (no retries: a refusal is final). */
  const client = (extra: Partial<KafkaConfig>) => {
    const ssl = kafkaSaslFromEnv().ssl;
    return new Kafka({ brokers, clientId: uniqueName('auth'), logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 0 }, ...(ssl ? { ssl } : {}), ...extra });
  };
  const as = (principal: string, extra: Partial<KafkaConfig> = {}) => {
    const password = passwords.get(principal);
    if (!password) throw new Error(`no password for the ${principal} principal in ${process.env.PFM_KAFKA_PASSWORDS_FILE}`);
    return client({ sasl: { mechanism: 'scram-sha-512', username: principal, password }, ...extra });
  };
  /** Error types (Kafka protocol error codes) the client met, as kafkajs logs them at debug level. */
  const watched = () => {
    const seen: string[] = [];
    const logCreator = () => ({ log }: { log: object }) => { const t = (log as { error?: { type?: string } }).error?.type; if (t) seen.push(t); };
    return { seen, settings: { logLevel: logLevel.DEBUG, logCreator } };
  };
  /** Runs a consumer until it crashes (a refusal is not retriable); its error. */
  const consumerCrash = async (k: Kafka, groupId: string, topic: string): Promise<Error> => {
    const consumer = k.consumer({ groupId, retry: { retries: 0, restartOnFailure: async () => false } });
    clients.push(consumer);
    let crashed: Error | undefined;
    const got: unknown[] = [];
    consumer.on(consumer.events.CRASH, (e) => { crashed = e.payload.error; });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async (m) => { got.push(m); } });
    const error = await waitFor(() => crashed, { what: `the ${groupId} consumer of ${topic} to be refused` });
    expect(got).toEqual([]);
    return error;
  };
  const admin = async (k: Kafka) => { const a = k.admin(); clients.push(a); await a.connect(); return a; };

  beforeAll(async () => {
    brokers = (await requireStack()).kafkaBrokers;
    const file = process.env.PFM_KAFKA_PASSWORDS_FILE;
    if (!kafkaSaslFromEnv().sasl || !file) {
      throw new Error('the stack is expected to run Kafka with SASL (infra/kafka/kafka.sh, PFM_KAFKA_SASL=1): source .stack/stack.env for KAFKA_SASL_* and PFM_KAFKA_PASSWORDS_FILE');
    }
    passwords = new Map(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
    // The live topics, as every service creates them at start (idempotent): a service may
    // see that a live topic exists, so refusals are only meaningful once they do.
    await ensureTopics(await admin(new Kafka(kafkaClientConfig({ brokers, clientId: uniqueName('auth'), logLevel: logLevel.NOTHING }))), topicSpecs({ partitions: Number(process.env.PFM_TOPIC_PARTITIONS ?? 6) }));
  });
  afterAll(async () => { await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined))); });

  it('refuses a client without credentials: the SASL listener closes the connection before any request is served', async () => {
    const k = client({});
    const a = k.admin();
    clients.push(a);
    const e = await failure(a.connect().then(() => a.listTopics()));
    expect(e.name).toBe('KafkaJSConnectionClosedError');
  });

  it('refuses a wrong password with a SASL authentication error', async () => {
    const k = client({ sasl: { mechanism: 'scram-sha-512', username: 'gateway', password: 'not-the-password' } });
    const a = k.admin();
    clients.push(a);
    const e = await failure(a.connect());
    expect(e.name).toBe('KafkaJSSASLAuthenticationError');
    expect(e.message).toMatch(/SCRAM SHA512 authentication failed/i);
  });

  it('refuses a principal that does not exist', async () => {
    const k = client({ sasl: { mechanism: 'scram-sha-512', username: uniqueName('nobody'), password: 'x'.repeat(32) } });
    const a = k.admin();
    clients.push(a);
    expect((await failure(a.connect())).name).toBe('KafkaJSSASLAuthenticationError');
  });

  it('takes PLAIN only from the test principal (for kcat), never from a service principal', async () => {
    const k = client({ sasl: { mechanism: 'plain', username: 'gateway', password: passwords.get('gateway')! } });
    const a = k.admin();
    clients.push(a);
    expect((await failure(a.connect())).name).toBe('KafkaJSSASLAuthenticationError');
    const t = await admin(client({ sasl: { mechanism: 'plain', username: 'test', password: passwords.get('test')! } }));
    expect(Array.isArray(await t.listTopics())).toBe(true);
  });

  it('lets the gateway log in but not write board updates (the engine does) nor read raw rejects (ingest only)', async () => {
    const k = as('gateway');
    await admin(k);
    const producer = k.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    clients.push(producer);
    await producer.connect();
    const write = await failure(producer.send({ topic: TOPICS.boardUpdates, acks: -1, messages: [{ key: 'k', value: '{}' }] }));
    expect(write).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });

    // It may see that the rejects topic exists (DESCRIBE on "pfm."), but its fetches are refused.
    const crash = await consumerCrash(as('gateway'), `pfm-gateway-${uniqueName('auth')}`, TOPICS.ingestRejects);
    expect(crash.message).toBe('Not authorized to access topics: [Topic authorization failed]');
  });

  it('keeps every service out of a consumer group that is not its own', async () => {
    // insights may not read (nor reset) the engine's committed offsets. kafkajs reports a
    // refused coordinator lookup as "not found"; the broker's own answer is in its debug log.
    // kafkajs reports a refused coordinator lookup as "not found"; the broker's own answer
    // (GROUP_AUTHORIZATION_FAILED) is in the client's debug log.
    const w = watched();
    const crash = await consumerCrash(as('insights', w.settings), 'pfm-flow-engine', TOPICS.flowEvents);
    expect(crash.name).toBe('KafkaJSGroupCoordinatorNotFound');
    expect(w.seen).toContain('GROUP_AUTHORIZATION_FAILED');
  });

  it('shows a service only the topics it may describe, and the simulator (which sends through ingest) none', async () => {
    const testAdmin = await admin(new Kafka(kafkaClientConfig({ brokers, clientId: uniqueName('auth'), logLevel: logLevel.NOTHING })));
    const topic = uniqueName('auth-visible');
    await testAdmin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    try {
      expect(await testAdmin.listTopics()).toContain(topic);
      expect(await (await admin(as('gateway'))).listTopics()).not.toContain(topic);
      expect(await (await admin(as('simulator'))).listTopics()).toEqual([]);
      const create = await failure((await admin(as('simulator'))).createTopics({ topics: [{ topic: uniqueName('auth-sim'), numPartitions: 1, replicationFactor: 1 }] }));
      expect(create.type).toBe('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await testAdmin.deleteTopics({ topics: [topic] });
    }
  });

  it('gives the test principal topics and groups but no say over ACLs (admin is the only super user)', async () => {
    const testAdmin = await admin(new Kafka(kafkaClientConfig({ brokers, clientId: uniqueName('auth'), logLevel: logLevel.NOTHING })));
    const e = await failure(testAdmin.createAcls({ acl: [{ resourceType: AclResourceTypes.TOPIC, resourceName: TOPICS.flowEvents, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:test', host: '*', operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.ALLOW }] }));
    expect(e.type).toBe('CLUSTER_AUTHORIZATION_FAILED');
  });

  it('reads the credentials from the environment and fails fast on a user without a password or an unknown mechanism', () => {
    expect(kafkaSaslFromEnv({})).toEqual({});
    expect(kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: '' })).toEqual({});
    expect(kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ingest', KAFKA_SASL_PASSWORD: 'pw' })).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'ingest', password: 'pw' } });
    expect(kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ingest', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SSL: 'true' })).toEqual({ sasl: { mechanism: 'scram-sha-256', username: 'ingest', password: 'pw' }, ssl: true });
    expect(() => kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ingest' })).toThrow(KafkaAuthConfigError);
    expect(() => kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ingest', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(KafkaAuthConfigError);
    // A CA file turns TLS on and is the one CA trusted; one that cannot be read stops the client at start.
    const ca = __filename;
    expect(kafkaSaslFromEnv({ KAFKA_SSL_CA_FILE: ca })).toEqual({ ssl: { ca: [readFileSync(ca)] } });
    expect(kafkaSaslFromEnv({ KAFKA_SASL_USERNAME: 'ingest', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SSL_CA_FILE: ca })).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'ingest', password: 'pw' }, ssl: { ca: [readFileSync(ca)] } });
    expect(() => kafkaSaslFromEnv({ KAFKA_SSL_CA_FILE: '/no/such/ca.crt' })).toThrow(KafkaAuthConfigError);
  });
});
