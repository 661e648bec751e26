// A stack of the suite's own on testcontainers: Kafka (single-node KRaft, the native
// stack's settings), the schema registry and Redis, started in parallel on a network of
// their own, with faults a shared native stack cannot have: pause (freeze) and unpause,
// kill and start again (Kafka keeps its log volume; Redis restarts empty), stop and start,
// and cutting a container off its network and back. stop() removes everything it started;
// call it in afterAll, so a failing test still cleans up.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GenericContainer, getContainerRuntimeClient, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { ensureContainerEngine, imageNames } from './engine';
import { freePort, repoRoot } from './services';
import { waitFor } from './index';

export type StackPart = 'kafka' | 'registry' | 'redis';

export interface StackContainer {
  readonly name: StackPart;
  readonly container: StartedTestContainer;
  /** Freezes every process in the container (SIGSTOP through the cgroup freezer); connections stay open. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** SIGKILL; the container and its volume stay for start(). */
  kill(): Promise<void>;
  /** Graceful stop (SIGTERM); the container and its volume stay for start(). */
  stop(): Promise<void>;
  /** Starts a stopped or killed container again on the same host port and waits until it is ready. */
  start(): Promise<void>;
  /** Cuts the container off its network (its published port stops answering) and back. */
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
  /** The container's last log lines (for failure messages). */
  logs(lines?: number): Promise<string>;
}

/** Addresses in the shape of stackEnv(), plus the containers for faults. */
export interface ContainerStack {
  /** The stack's id: every container of it carries the label org.pfm.stack=<id> (stackPart). */
  id: string;
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  redisUrl: string;
  kafka?: StackContainer;
  registry?: StackContainer;
  redis?: StackContainer;
  /** KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL for services started against this stack. */
  env: Record<string, string>;
  /** The logins of a `secure` stack (passwords files, CA), removed by stop(). */
  security?: StackSecurity;
  /** Seconds the parallel start took (reported in docs/testing.md). */
  startSeconds: number;
  /** Seconds from the start until each step was done: logins, each part ready, the broker secured. */
  phases: Record<string, number>;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const STARTUP_MS = Number(process.env.PFM_CONTAINER_STARTUP_MS ?? 240_000);
/**
 * JVM options of a test stack's broker and registry: the client compiler only (no C2).
 * A test stack lives for one suite, where the JVM's start is most of its work: measured
 * 2026-12-03 (docs/testing.md), a broker's start took 2.8 s of CPU against 4.2 s, the
 * registry's 3.8 s against 6.4 s. PFM_CONTAINER_JVM_OPTS replaces them.
 */
const TEST_JVM_OPTS = '-XX:TieredStopAtLevel=1';

interface PartSpec {
  container: GenericContainer;
  port: number;
  hostPort: number;
  ready: (c: StartedTestContainer, since: number) => Promise<void>;
}

/** Waits until a new log line matching `re` appears after `since` (unix seconds). */
async function logLine(c: StartedTestContainer, re: RegExp, since: number): Promise<void> {
  await waitFor(async () => re.test(await readLogs(c, { since })), { timeoutMs: STARTUP_MS, intervalMs: 250, what: `${c.getName()} to log ${re}` });
}

async function readLogs(c: StartedTestContainer, opts: { since?: number; tail?: number }): Promise<string> {
  const stream = await c.logs(opts);
  const chunks: string[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { stream.destroy(); resolve(); }, 2000);
    stream.on('data', (b: Buffer | string) => chunks.push(b.toString()));
    stream.on('end', () => { clearTimeout(timer); resolve(); });
    stream.on('error', () => { clearTimeout(timer); resolve(); });
  });
  return chunks.join('');
}

const host = () => process.env.TESTCONTAINERS_HOST_OVERRIDE ?? '127.0.0.1';

/** The log line that says a (re)started part is ready. */
const READY_LOG = { kafka: /Kafka Server started/, redis: /Ready to accept connections/ } as const;

/**
 * The logins of a secure stack, made by the native stack's own scripts (`kafka.sh prepare`,
 * `registry.sh prepare`) in a directory of the stack's own: the same principals, passwords
 * files, local CA and broker certificate, users and roles as `./pfm stack up` makes.
 */
export interface StackSecurity {
  dir: string;
  kafkaPasswordsFile: string;
  kafkaPasswords: Map<string, string>;
  brokerPem: string;
  caFile: string;
  registryPasswordsFile: string;
  registryPasswords: Map<string, string>;
  registryUsersConfig: string;
}

const readPasswords = (file: string) => new Map(readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.split(' ') as [string, string]));
const scriptOut = (out: string, key: string) => {
  const line = out.split('\n').find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`expected ${key}= in: ${out}`);
  return line.slice(key.length + 1);
};

async function prepareSecurity(kafkaHostPort: number): Promise<StackSecurity> {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-stack-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PFM_STATE_DIR: dir, PFM_KAFKA_PORT: String(kafkaHostPort), PFM_KAFKA_SASL: '1', PFM_KAFKA_TLS: '1', PFM_REGISTRY_AUTH: '1' };
  delete env.PFM_KAFKA_PASSWORDS_FILE; delete env.PFM_REGISTRY_PASSWORDS_FILE;
  try {
    // Both scripts at once (they take the state directory's lock in turn), while the caller starts the network and Redis.
    const run = async (script: string) => (await execFileAsync('bash', [join(repoRoot, 'infra', script), 'prepare'], { env, encoding: 'utf8', timeout: 300_000 })).stdout;
    const [k, r] = await Promise.all([run('kafka/kafka.sh'), run('schema-registry/registry.sh')]);
    const kafkaPasswordsFile = scriptOut(k, 'PASSWORDS_FILE');
    const registryPasswordsFile = scriptOut(r, 'PASSWORDS_FILE');
    return {
      dir, kafkaPasswordsFile, kafkaPasswords: readPasswords(kafkaPasswordsFile), brokerPem: scriptOut(k, 'BROKER_PEM'), caFile: scriptOut(k, 'CA_CRT'),
      registryPasswordsFile, registryPasswords: readPasswords(registryPasswordsFile), registryUsersConfig: scriptOut(r, 'USERS_CONFIG'),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`could not make the secure stack's logins: ${err.stderr || err.message}`);
  }
}

const pw = (m: Map<string, string>, name: string) => {
  const v = m.get(name);
  if (!v) throw new Error(`no password for the ${name} principal`);
  return v;
};

/**
 * The native stack's security (infra/kafka/kafka.sh render_config) as KAFKA_* settings:
 * clients on SASL_SSL with SCRAM-SHA-512 (PLAIN for the admin and the test principal, as
 * kcat needs), the broker's own listeners SASL_PLAINTEXT on the container's loopback,
 * ACLs closed by default with admin the only super user.
 */
function secureKafkaEnv(sec: StackSecurity, hostPort: number): Record<string, string> {
  const admin = pw(sec.kafkaPasswords, 'admin');
  const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${admin}" user_admin="${admin}";`;
  const clientJaas = `${jaas.slice(0, -1)} user_test="${pw(sec.kafkaPasswords, 'test')}";`;
  return {
    KAFKA_LISTENERS: 'SASL_SSL://0.0.0.0:9092,INTERNAL://127.0.0.1:19092,CONTROLLER://127.0.0.1:9093',
    KAFKA_ADVERTISED_LISTENERS: `SASL_SSL://${host()}:${hostPort},INTERNAL://127.0.0.1:19092`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'SASL_SSL:SASL_SSL,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    KAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512,PLAIN',
    KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL: 'PLAIN', KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL: 'PLAIN',
    KAFKA_LISTENER_NAME_SASL__SSL_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512,PLAIN',
    KAFKA_LISTENER_NAME_SASL__SSL_PLAIN_SASL_JAAS_CONFIG: clientJaas,
    KAFKA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___512_SASL_JAAS_CONFIG: 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    KAFKA_LISTENER_NAME_INTERNAL_SASL_ENABLED_MECHANISMS: 'PLAIN', KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG: jaas,
    KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS: 'PLAIN', KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG: jaas,
    KAFKA_AUTHORIZER_CLASS_NAME: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false', KAFKA_SUPER_USERS: 'User:admin',
    KAFKA_SSL_KEYSTORE_TYPE: 'PEM', KAFKA_SSL_KEYSTORE_LOCATION: '/etc/pfm-kafka/broker.pem',
    KAFKA_SSL_TRUSTSTORE_TYPE: 'PEM', KAFKA_SSL_TRUSTSTORE_LOCATION: '/etc/pfm-kafka/ca.crt',
    KAFKA_SSL_CLIENT_AUTH: 'none',
  };
}

async function kafkaSpec(network: StartedNetwork, sec?: StackSecurity, hostPort?: number): Promise<PartSpec> {
  hostPort ??= await freePort();
  // The native stack's server.properties (infra/kafka) as the apache/kafka image reads env;
  // the local image renders the same template and applies these on top.
  const env: Record<string, string> = {
    KAFKA_NODE_ID: '1', KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,INTERNAL://127.0.0.1:19092,CONTROLLER://127.0.0.1:9093',
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host()}:${hostPort},INTERNAL://127.0.0.1:19092`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL', KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093', KAFKA_LOG_DIRS: '/var/lib/kafka/data',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false', KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1', KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1', KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1', KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_DEFAULT_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '1',
    KAFKA_NUM_NETWORK_THREADS: '2', KAFKA_NUM_IO_THREADS: '4',
    KAFKA_HEAP_OPTS: process.env.PFM_CONTAINER_KAFKA_HEAP ?? '-Xms128m -Xmx512m',
    KAFKA_OPTS: process.env.PFM_CONTAINER_JVM_OPTS ?? TEST_JVM_OPTS,
    // A throwaway stack: the local image's preformatted storage, no storage-tool start (infra/images/kafka).
    PFM_KAFKA_PREFORMATTED: '1',
    ...(sec ? secureKafkaEnv(sec, hostPort) : {}),
  };
  const container = new GenericContainer(imageNames().kafka).withNetwork(network).withNetworkAliases('kafka').withEnvironment(env);
  // The broker's key and certificate chain, and the CA (a throwaway CA of this stack's own).
  if (sec) container.withCopyFilesToContainer([{ source: sec.brokerPem, target: '/etc/pfm-kafka/broker.pem', mode: 0o644 }, { source: sec.caFile, target: '/etc/pfm-kafka/ca.crt', mode: 0o644 }]);
  return {
    port: 9092, hostPort,
    container: container
      .withExposedPorts({ container: 9092, host: hostPort }).withWaitStrategy(Wait.forLogMessage(READY_LOG.kafka)),
    ready: (c, since) => logLine(c, READY_LOG.kafka, since),
  };
}

async function registrySpec(network: StartedNetwork, sec?: StackSecurity): Promise<PartSpec> {
  const hostPort = await freePort();
  // With logins, readiness is asked as the test principal (anonymous gets 401).
  const login = sec ? { user: 'test', password: pw(sec.registryPasswords, 'test') } : undefined;
  const headers: Record<string, string> = login ? { authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}` } : {};
  const ready = async (c: StartedTestContainer) => {
    await waitFor(async () => (await fetch(`http://${host()}:${hostPort}/apis/ccompat/v7/subjects`, { headers }).catch(() => undefined))?.ok, { timeoutMs: STARTUP_MS, intervalMs: 250, what: `${c.getName()} (registry) to answer` });
  };
  const wait = Wait.forHttp('/apis/ccompat/v7/subjects', 8080);
  if (login) wait.withBasicCredentials(login.user, login.password);
  const container = new GenericContainer(imageNames().registry).withNetwork(network).withNetworkAliases('registry')
    .withEnvironment({
      JAVA_OPTS_APPEND: process.env.PFM_CONTAINER_JVM_OPTS ?? TEST_JVM_OPTS,
      APICURIO_STORAGE_KIND: 'sql', APICURIO_STORAGE_SQL_KIND: 'h2', APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED: 'false', APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD',
      // The native registry's logins (registry.sh): HTTP basic against the embedded users
      // and roles of users.properties, role-based authorization with roles from the identity.
      ...(sec ? {
        QUARKUS_HTTP_AUTH_BASIC: 'true', APICURIO_AUTH_ROLE_BASED_AUTHORIZATION: 'true', APICURIO_AUTH_ROLE_SOURCE: 'token',
        APICURIO_AUTHN_BASIC_CLIENT_CREDENTIALS_ENABLED: 'false', QUARKUS_OIDC_TENANT_ENABLED: 'false',
        QUARKUS_CONFIG_LOCATIONS: '/etc/pfm-registry/users.properties',
      } : {}),
    });
  if (sec) container.withCopyFilesToContainer([{ source: sec.registryUsersConfig, target: '/etc/pfm-registry/users.properties', mode: 0o644 }]);
  return {
    port: 8080, hostPort,
    // In-memory storage: a suite's registry needs no Kafka, so all three start at once.
    container: container.withExposedPorts({ container: 8080, host: hostPort }).withWaitStrategy(wait),
    ready,
  };
}

async function redisSpec(network: StartedNetwork, password?: string): Promise<PartSpec> {
  const hostPort = await freePort();
  // With logins, as the native stack's Redis: the default user off, one pfm login.
  const logins = password ? ['--user', 'default', 'off', '--user', 'pfm', 'on', `>${password}`, '~*', '&*', '+@all'] : [];
  return {
    port: 6379, hostPort,
    // No persistence, as the native stack's redis-server: a restart comes back empty.
    container: new GenericContainer(imageNames().redis).withNetwork(network).withNetworkAliases('redis')
      .withCommand(['redis-server', '--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', ...logins])
      .withExposedPorts({ container: 6379, host: hostPort }).withWaitStrategy(Wait.forLogMessage(READY_LOG.redis)),
    ready: (c, since) => logLine(c, READY_LOG.redis, since),
  };
}

function control(name: StackPart, c: StartedTestContainer, network: StartedNetwork, spec: PartSpec): StackContainer {
  const docker = async () => (await getContainerRuntimeClient()).container.getById(c.getId());
  let cut: { net: string; aliases: string[] }[] = [];
  const startAgain = async () => {
    const since = Math.floor(Date.now() / 1000);
    await (await docker()).start();
    await spec.ready(c, since);
  };
  return {
    name, container: c,
    pause: async () => { await ensureContainerEngine(); await (await docker()).pause(); },
    unpause: async () => { await ensureContainerEngine(); await (await docker()).unpause(); },
    kill: async () => { await ensureContainerEngine(); await (await docker()).kill(); },
    stop: async () => { await ensureContainerEngine(); await (await docker()).stop({ t: 10 }); },
    start: async () => { await ensureContainerEngine(); await startAgain(); },
    disconnect: async () => {
      await ensureContainerEngine();
      const client = await getContainerRuntimeClient();
      // Every network it is on (podman also attaches its default one): no path in or out.
      const nets = (await client.container.inspect(await docker())).NetworkSettings.Networks;
      cut = Object.entries(nets).map(([net, e]) => ({ net, aliases: ((e.Aliases ?? []) as string[]).filter((a) => !c.getId().startsWith(a)) }));
      for (const { net } of cut) await client.network.getById(net).disconnect({ Container: c.getId(), Force: true });
    },
    reconnect: async () => {
      await ensureContainerEngine();
      const client = await getContainerRuntimeClient();
      for (const { net, aliases } of cut) await client.network.getById(net).connect({ Container: c.getId(), EndpointConfig: { Aliases: aliases } });
      cut = [];
    },
    logs: async (lines = 40) => readLogs(c, { tail: lines }).catch((e: Error) => `(no logs: ${e.message})`),
  };
}

/**
 * Puts every principal's SCRAM credential and the ACLs in place on a secure stack's broker
 * once it answers (as the admin over PLAIN, trusting `caFile`). Given by the caller (the
 * test environments pass the product's own setup, @pfm/kafka-runtime's setupKafka, which
 * needs no JVM start); without it, the native stack's Java tool does it (kafka.sh secure).
 */
export type SecureKafka = (p: { brokers: string; caFile: string; passwords: ReadonlyMap<string, string> }) => Promise<void>;

/**
 * Starts the suite's own stack (all three parts by default, in parallel) and returns its
 * addresses. Parts left out keep the shared stack's address from the environment.
 */
export async function startContainerStack(opts: { parts?: StackPart[]; secure?: boolean; secureKafka?: SecureKafka } = {}): Promise<ContainerStack> {
  const t0 = Date.now();
  await ensureContainerEngine();
  const parts = opts.parts ?? ['kafka', 'registry', 'redis'];
  const kafkaPort = await freePort();
  const phases: Record<string, number> = {};
  const mark = (what: string) => { phases[what] = (Date.now() - t0) / 1000; };
  // The Kafka and registry logins (a CA, a certificate, passwords: ~1 s) only for a stack
  // with either, made while the network and Redis start.
  const secMade = opts.secure && (parts.includes('kafka') || parts.includes('registry'))
    ? prepareSecurity(kafkaPort).then((made) => { mark('logins'); return made; })
    : Promise.resolve(undefined);
  secMade.catch(() => undefined); // awaited below; its failure is the start's
  let sec: StackSecurity | undefined;
  const redisPassword = opts.secure ? randomBytes(24).toString('base64url') : undefined;
  const network = await new Network().start().catch(async (e: unknown) => {
    const made = await secMade.catch(() => undefined);
    if (made) rmSync(made.dir, { recursive: true, force: true });
    throw e;
  });
  // Every container of this stack carries its id, so stop() finds even one whose start failed.
  const stackId = network.getName();
  const specs: Partial<Record<StackPart, PartSpec>> = {};
  const started: Partial<Record<StackPart, StartedTestContainer>> = {};
  const stop = async () => removeStack(stackId, (await secMade.catch(() => undefined))?.dir);
  try {
    const makers = {
      kafka: async (n: StartedNetwork) => kafkaSpec(n, await secMade, kafkaPort),
      registry: async (n: StartedNetwork) => registrySpec(n, await secMade),
      redis: (n: StartedNetwork) => redisSpec(n, redisPassword),
    };
    const results = await Promise.allSettled(parts.map(async (p) => {
      specs[p] = await makers[p](network);
      specs[p].container.withLabels({ 'org.pfm.stack': stackId, 'org.pfm.part': p, 'org.pfm.owner': String(process.pid) });
      started[p] = await specs[p]!.container.withStartupTimeout(STARTUP_MS).start();
      mark(p);
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    sec = await secMade;
    // Every principal's SCRAM credential and the ACLs of infra/kafka/acls.txt, as a native start puts them.
    if (sec && started.kafka && opts.secureKafka) {
      await opts.secureKafka({ brokers: `${host()}:${kafkaPort}`, caFile: sec.caFile, passwords: sec.kafkaPasswords });
      mark('secured');
    } else if (sec && started.kafka) {
      execFileSync('bash', [join(repoRoot, 'infra', 'kafka', 'kafka.sh'), 'secure'], { env: { ...process.env, PFM_STATE_DIR: sec.dir, PFM_KAFKA_PORT: String(kafkaPort), PFM_KAFKA_SASL: '1', PFM_KAFKA_TLS: '1' }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const shared = { kafka: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', registry: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7', redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
  const at = (p: StackPart) => `${host()}:${specs[p]!.hostPort}`;
  const kafkaBrokers = started.kafka ? [at('kafka')] : shared.kafka.split(',');
  const schemaRegistryUrl = started.registry ? `http://${at('registry')}/apis/ccompat/v7` : shared.registry;
  const redisUrl = started.redis ? `redis://${redisPassword ? `pfm:${encodeURIComponent(redisPassword)}@` : ''}${at('redis')}` : shared.redis;
  const ctl = (p: StackPart) => (started[p] ? control(p, started[p], network, specs[p]!) : undefined);
  return {
    id: stackId, kafkaBrokers, schemaRegistryUrl, redisUrl,
    kafka: ctl('kafka'), registry: ctl('registry'), redis: ctl('redis'),
    // Without `secure`, a suite's own broker is PLAINTEXT (no credentials, no TLS) and its
    // own registry open: services started on them must not try the logins of the
    // environment (KAFKA_SASL_USERNAME, KAFKA_SSL_CA_FILE, SCHEMA_REGISTRY_USERNAME from
    // .stack/stack.env). With `secure`, the same variables as the native stack's stack.env.
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: schemaRegistryUrl, REDIS_URL: redisUrl,
      ...(started.kafka ? (sec ? {
        KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'test', KAFKA_SASL_PASSWORD: pw(sec.kafkaPasswords, 'test'),
        KAFKA_SSL_CA_FILE: sec.caFile, PFM_KAFKA_PASSWORDS_FILE: sec.kafkaPasswordsFile,
      } : { KAFKA_SASL_USERNAME: '', KAFKA_SSL_CA_FILE: '' }) : {}),
      ...(started.registry ? (sec ? {
        SCHEMA_REGISTRY_USERNAME: 'test', SCHEMA_REGISTRY_PASSWORD: pw(sec.registryPasswords, 'test'), PFM_REGISTRY_PASSWORDS_FILE: sec.registryPasswordsFile,
      } : { SCHEMA_REGISTRY_USERNAME: '' }) : {}),
    },
    security: sec,
    startSeconds: (Date.now() - t0) / 1000,
    phases,
    stop,
  };
}

/**
 * Removes a stack by its id, from any process: its containers (by their org.pfm.stack
 * label), its network (named by the id) and its logins directory. A stack's own stop()
 * is this; the global tear-down calls it for stacks a jest worker cannot stop itself.
 */
export async function removeStack(stackId: string, securityDir?: string): Promise<void> {
  await ensureContainerEngine().catch(() => undefined);
  const client = await getContainerRuntimeClient();
  const mine = (await client.container.dockerode.listContainers({ all: true, filters: { label: [`org.pfm.stack=${stackId}`] } })).map((c) => c.Id);
  await Promise.all(mine.map(async (id) => {
    const c = client.container.getById(id);
    await c.unpause().catch(() => undefined); // a paused container cannot be removed
    await c.remove({ force: true, v: true }).catch(() => undefined);
  }));
  await client.container.dockerode.getNetwork(stackId).remove().catch(() => undefined);
  if (securityDir) rmSync(securityDir, { recursive: true, force: true });
}

/** Stops and starts a part of a stack by its labels: a stack jest's global set-up started (PFM_TEST_STACK_ID). */
export interface StackPartControl {
  /** Graceful stop (SIGTERM); the container and its volume stay. */
  stop(): Promise<void>;
  /** Starts it again on the same host port and waits until it is ready. */
  start(): Promise<void>;
}

export async function stackPart(stackId: string, part: 'kafka' | 'redis'): Promise<StackPartControl> {
  await ensureContainerEngine();
  const client = await getContainerRuntimeClient();
  const [found] = await client.container.dockerode.listContainers({ all: true, filters: { label: [`org.pfm.stack=${stackId}`, `org.pfm.part=${part}`] } });
  if (!found) throw new Error(`no ${part} container in stack ${stackId}`);
  const c = client.container.getById(found.Id);
  return {
    stop: async () => { await c.stop({ t: 10 }); },
    start: async () => {
      const since = Math.floor(Date.now() / 1000);
      await c.start();
      await waitFor(async () => READY_LOG[part].test((await c.logs({ stdout: true, stderr: true, since, follow: false })).toString()), { timeoutMs: STARTUP_MS, intervalMs: 250, what: `${part} of stack ${stackId} to start again` });
    },
  };
}
