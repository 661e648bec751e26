// The product running end to end for a test: ingest, flow-engine and board-gateway as
// real processes on the real stack, isolated by topic namespace, Redis key prefix,
// consumer groups and a ward registry of the test's own. Each service logs in to Kafka
// and the registry as its own principal where the stack has the password files (the
// native stack and the secure container stacks; `ownPrincipals: false` for the test
// principal), with the rules of infra/kafka/acls.txt granted on the test's namespace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka } from 'kafkajs';
import { grantNamespaceAcls, kafkaClientConfig, namespaceGroups, passwordFilesFromEnv, servicePrincipalEnv, type KafkaService } from '@pfm/kafka-runtime';
import Redis from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { topicsFor, type ClientToServerEvents, type ServerToClientEvents, type Ward } from '@pfm/contracts';
import { newSenderKey } from '@pfm/access';
import { Auth, type ClaimsInput } from '@pfm/board-gateway/src/auth';
import { freePort, httpReady, logReady, requireStack, startService, uniqueName, type RunningService, type stackEnv } from '@pfm/testkit';

export const SECRET = 'e2e-test-secret-e2e-test-secret-0123456789';
/** The e2e sender (every channel, MLLP from loopback); its key is made once per test process. */
export const SENDER = newSenderKey('e2e-sender');
export const SENDER_HEADER = `ApiKey ${SENDER.key}`;

export interface ProductUnderTest {
  ns: string;
  prefix: string;
  ingestUrl: string;
  gatewayUrl: string;
  topics: ReturnType<typeof topicsFor>;
  services: Record<'ingest' | 'engine' | 'gateway', RunningService | undefined>;
  env: Record<string, string>;
  /** `env` with a service's own logins (ownPrincipals), for starting it or another service as itself. */
  envOf(service: KafkaService): Record<string, string>;
  kafka: Kafka;
  redis: Redis;
  token(claims?: Partial<ClaimsInput>): Promise<string>;
  connect(token: string): Promise<Socket<ServerToClientEvents, ClientToServerEvents>>;
  startEngine(): Promise<RunningService>;
  stop(): Promise<void>;
}

export const DEFAULT_WARDS: Ward[] = [
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu', beds: 6 },
];

export const ACLS_FILE = process.env.PFM_KAFKA_ACLS_FILE ?? join(__dirname, '..', '..', 'infra', 'kafka', 'acls.txt');

export async function startProduct(opts: { wards?: Ward[]; engine?: boolean; extraEnv?: Record<string, string>; stack?: ReturnType<typeof stackEnv>; ownPrincipals?: boolean } = {}): Promise<ProductUnderTest> {
  // The shared stack, or the addresses given (a suite's own container stack).
  const stack = opts.stack ?? await requireStack();
  // Each service as its own principal wherever the stack has the password files (the
  // native stack and the secure container stacks do); the test principal otherwise.
  const own = opts.ownPrincipals ?? passwordFilesFromEnv() !== undefined;
  const ns = uniqueName('e2e');
  const prefix = ns.replace(/-/g, '_');
  const dir = mkdtempSync(join(tmpdir(), 'pfm-e2e-'));
  const wardsFile = join(dir, 'wards.json');
  writeFileSync(wardsFile, JSON.stringify(opts.wards ?? DEFAULT_WARDS));
  const sendersFile = join(dir, 'senders.json');
  const sites = [...new Set(['RXT', ...(opts.wards ?? DEFAULT_WARDS).map((w) => w.site)])];
  writeFileSync(sendersFile, JSON.stringify([{ id: 'e2e-sender', keySha256: SENDER.keySha256, channels: ['json', 'fhir', 'hl7v2'], mllpPeers: ['127.0.0.1', '::1'], types: ['*'], sites, sourceSystem: 'E2E' }]), { mode: 0o600 });
  const [ingestPort, gatewayPort, mllpPort] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
    PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '3', PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: wardsFile,
    PFM_INGEST_HTTP_PORT: String(ingestPort), PFM_MLLP_PORT: String(mllpPort), PFM_GATEWAY_PORT: String(gatewayPort), PFM_JWT_SECRET: SECRET, PFM_SENDERS_FILE: sendersFile,
    PFM_ENGINE_GROUP: own ? namespaceGroups(ns).engine : `${ns}-engine`, PFM_SCAN_INTERVAL_MS: '500', ...opts.extraEnv,
  };
  // Each service as itself: its principal's logins, and acls.txt's rules on this namespace's topics.
  const principals = own ? passwordFilesFromEnv() : undefined;
  if (own) {
    if (!principals) throw new Error('ownPrincipals needs the stack\'s password files: source .stack/stack.env (PFM_KAFKA_PASSWORDS_FILE, PFM_REGISTRY_PASSWORDS_FILE)');
    await grantNamespaceAcls({ brokers: stack.kafkaBrokers, namespace: ns, aclsFile: ACLS_FILE, kafka: principals.kafka });
  }
  const envOf = (service: KafkaService): Record<string, string> => (principals ? { ...env, ...servicePrincipalEnv(service, principals) } : env);
  const ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const services: ProductUnderTest['services'] = { ingest: undefined, engine: undefined, gateway: undefined };
  const auth = new Auth(SECRET);
  const kafka = new Kafka(kafkaClientConfig({ brokers: stack.kafkaBrokers, clientId: ns, logLevel: 0 }));
  const redis = new Redis(stack.redisUrl);
  const sockets: Socket[] = [];
  const product: ProductUnderTest = {
    ns, prefix, ingestUrl, gatewayUrl, topics: topicsFor(ns), services, env, envOf, kafka, redis,
    token: (claims = {}) => auth.issue({ sub: 'bm-test', role: 'bed_manager', sites: ['RXT'], ...claims } as ClaimsInput),
    connect: async (token) => {
      const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(gatewayUrl, { auth: { token }, transports: ['websocket'], reconnection: false });
      sockets.push(s);
      return s;
    },
    startEngine: async () => {
      services.engine = await startService('flow-engine', envOf('flow-engine'), logReady('flow-engine running'));
      return services.engine;
    },
    stop: async () => {
      for (const s of sockets) s.disconnect();
      await Promise.all(Object.values(services).map((s) => s?.stop()));
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.unlink(...keys);
      redis.disconnect();
    },
  };
  try {
    services.ingest = await startService('ingest', envOf('ingest'), httpReady(`${ingestUrl}/readyz`));
    if (opts.engine !== false) await product.startEngine();
    services.gateway = await startService('board-gateway', envOf('board-gateway'), httpReady(`${gatewayUrl}/healthz`));
  } catch (e) {
    await product.stop();
    throw e;
  }
  return product;
}

export async function postEvents(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: SENDER_HEADER }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
