// A stack of the suite's own on testcontainers: Kafka (single-node KRaft, the native
// stack's settings), the schema registry and Redis, started in parallel on a network of
// their own, with faults a shared native stack cannot have: pause (freeze) and unpause,
// kill and start again (Kafka keeps its log volume; Redis restarts empty), stop and start,
// and cutting a container off its network and back. stop() removes everything it started;
// call it in afterAll, so a failing test still cleans up.
import { GenericContainer, getContainerRuntimeClient, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { ensureContainerEngine, imageNames } from './engine';
import { freePort } from './services';
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
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  redisUrl: string;
  kafka?: StackContainer;
  registry?: StackContainer;
  redis?: StackContainer;
  /** KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL for services started against this stack. */
  env: Record<string, string>;
  /** Seconds the parallel start took (reported in docs/testing.md). */
  startSeconds: number;
  stop(): Promise<void>;
}

const STARTUP_MS = Number(process.env.PFM_CONTAINER_STARTUP_MS ?? 240_000);

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

async function kafkaSpec(network: StartedNetwork): Promise<PartSpec> {
  const hostPort = await freePort();
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
  };
  return {
    port: 9092, hostPort,
    container: new GenericContainer(imageNames().kafka).withNetwork(network).withNetworkAliases('kafka').withEnvironment(env)
      .withExposedPorts({ container: 9092, host: hostPort }).withWaitStrategy(Wait.forLogMessage(/Kafka Server started/)),
    ready: (c, since) => logLine(c, /Kafka Server started/, since),
  };
}

async function registrySpec(network: StartedNetwork): Promise<PartSpec> {
  const hostPort = await freePort();
  const ready = async (c: StartedTestContainer) => {
    await waitFor(async () => (await fetch(`http://${host()}:${hostPort}/apis/ccompat/v7/subjects`).catch(() => undefined))?.ok, { timeoutMs: STARTUP_MS, intervalMs: 250, what: `${c.getName()} (registry) to answer` });
  };
  return {
    port: 8080, hostPort,
    // In-memory storage: a suite's registry needs no Kafka, so all three start at once.
    container: new GenericContainer(imageNames().registry).withNetwork(network).withNetworkAliases('registry')
      .withEnvironment({ APICURIO_STORAGE_KIND: 'sql', APICURIO_STORAGE_SQL_KIND: 'h2', APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED: 'false', APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD' })
      .withExposedPorts({ container: 8080, host: hostPort }).withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080)),
    ready,
  };
}

async function redisSpec(network: StartedNetwork): Promise<PartSpec> {
  const hostPort = await freePort();
  return {
    port: 6379, hostPort,
    // No persistence, as the native stack's redis-server: a restart comes back empty.
    container: new GenericContainer(imageNames().redis).withNetwork(network).withNetworkAliases('redis')
      .withCommand(['redis-server', '--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'])
      .withExposedPorts({ container: 6379, host: hostPort }).withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/)),
    ready: (c, since) => logLine(c, /Ready to accept connections/, since),
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
 * Starts the suite's own stack (all three parts by default, in parallel) and returns its
 * addresses. Parts left out keep the shared stack's address from the environment.
 */
export async function startContainerStack(opts: { parts?: StackPart[] } = {}): Promise<ContainerStack> {
  const t0 = Date.now();
  await ensureContainerEngine();
  const parts = opts.parts ?? ['kafka', 'registry', 'redis'];
  const network = await new Network().start();
  // Every container of this stack carries its id, so stop() finds even one whose start failed.
  const stackId = network.getName();
  const specs: Partial<Record<StackPart, PartSpec>> = {};
  const started: Partial<Record<StackPart, StartedTestContainer>> = {};
  const stop = async () => {
    await ensureContainerEngine().catch(() => undefined);
    const client = await getContainerRuntimeClient();
    const mine = (await client.container.dockerode.listContainers({ all: true, filters: { label: [`org.pfm.stack=${stackId}`] } })).map((c) => c.Id);
    await Promise.all(mine.map(async (id) => {
      const c = client.container.getById(id);
      await c.unpause().catch(() => undefined); // a paused container cannot be removed
      await c.remove({ force: true, v: true }).catch(() => undefined);
    }));
    await network.stop().catch(() => undefined);
  };
  try {
    const makers = { kafka: kafkaSpec, registry: registrySpec, redis: redisSpec };
    for (const p of parts) specs[p] = await makers[p](network);
    for (const p of parts) specs[p]!.container.withLabels({ 'org.pfm.stack': stackId, 'org.pfm.part': p, 'org.pfm.owner': String(process.pid) });
    const results = await Promise.allSettled(parts.map(async (p) => {
      started[p] = await specs[p]!.container.withStartupTimeout(STARTUP_MS).start();
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (e) {
    await stop();
    throw e;
  }
  const shared = { kafka: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', registry: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7', redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
  const at = (p: StackPart) => `${host()}:${specs[p]!.hostPort}`;
  const kafkaBrokers = started.kafka ? [at('kafka')] : shared.kafka.split(',');
  const schemaRegistryUrl = started.registry ? `http://${at('registry')}/apis/ccompat/v7` : shared.registry;
  const redisUrl = started.redis ? `redis://${at('redis')}` : shared.redis;
  const ctl = (p: StackPart) => (started[p] ? control(p, started[p], network, specs[p]!) : undefined);
  return {
    kafkaBrokers, schemaRegistryUrl, redisUrl,
    kafka: ctl('kafka'), registry: ctl('registry'), redis: ctl('redis'),
    // A suite's own broker is PLAINTEXT (no credentials, no TLS) and its own registry open:
    // services started on them must not try the logins of the environment
    // (KAFKA_SASL_USERNAME, KAFKA_SSL_CA_FILE, SCHEMA_REGISTRY_USERNAME from .stack/stack.env).
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: schemaRegistryUrl, REDIS_URL: redisUrl,
      ...(started.kafka ? { KAFKA_SASL_USERNAME: '', KAFKA_SSL_CA_FILE: '' } : {}), ...(started.registry ? { SCHEMA_REGISTRY_USERNAME: '' } : {}),
    },
    startSeconds: (Date.now() - t0) / 1000,
    stop,
  };
}
