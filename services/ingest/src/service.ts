// Wires ingest together: Kafka producer and codec, the rejects index (fed from the rejects
// topic), the HL7 intake behind the MLLP listener, and the HTTP app (JSON, FHIR, rejects).
// main.ts runs it as a process; tests and the benchmark run it in-process.
import { DEFAULT_MAX_AHEAD_MS } from './normalise';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { ConfigResourceTypes } from 'kafkajs';
import { authFromSettings, RejectKeys, SenderRegistry, type Auth } from '@pfm/access';
import { topicsFor, topicSpecs, type Reject } from '@pfm/contracts';
import { createKafka, createProducer, ensureTopics, FlowEventCodec, kafkaCheck, registryCheck } from '@pfm/kafka-runtime';
import { createLogger, exportDependencyChecks, Metrics, type Logger } from '@pfm/observability';
import { facilityResolver, registrySites, type IngestConfig } from './config';
import type { FhirContext } from './fhir';
import { registerFhirRoutes } from './fhir-http';
import { Hl7Intake } from './hl7-intake';
import { buildHttpApp } from './http';
import { startMllpServer } from './mllp';
import { Publisher, type EventSink } from './publisher';
import { Redriver, RejectFeed, RejectIndex, registerRejectRoutes } from './rejects';

export interface IngestService {
  httpUrl: string;
  mllpHost: string;
  mllpPort: number;
  /** The MLLP listener itself (its 'connection' / 'secureConnection' events give each connection's socket). */
  mllpServer: Server;
  topics: ReturnType<typeof topicsFor>;
  rejects: RejectIndex;
  metrics: Metrics;
  /** Stops intake (MLLP, then HTTP), lets in-flight messages finish, closes Kafka clients. */
  close(): Promise<void>;
}

export interface IngestHttpDeps {
  sink: EventSink;
  hl7: Hl7Intake;
  rejects: RejectIndex;
  logger: Logger;
  metrics: Metrics;
  defaultSite: string;
  siteForFacility?: (facility: string) => string | undefined;
  maxBatch: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  ready?: () => Promise<boolean>;
  rateLimitPerMinute?: number;
  idleTimeoutMs?: number;
  /** Who may send (HTTP: API keys). */
  senders: SenderRegistry;
  /** Reader tokens: rejects and re-drive are for the ops role. */
  auth: Auth;
  /** Where views and re-drives of raw input are recorded (default: the log, as audit lines). */
  audit?: (entry: AuditEntry) => void;
  /** Events dated further ahead of the clock are refused (0 = no limit; default DEFAULT_MAX_AHEAD_MS). */
  maxAheadMs?: number;
}

/** One view or re-drive of raw patient data: who, when, what. */
export interface AuditEntry { at: number; who: string; role: string; action: 'rejects.list' | 'reject.read' | 'reject.redrive'; rejectId?: string; result?: number }

/** The HTTP app: canonical JSON, FHIR R4, rejects and re-drive, metrics. */
export function buildIngestHttp(d: IngestHttpDeps): FastifyInstance {
  const fhirContext = (sourceSystem: string): FhirContext => ({ defaultSite: d.defaultSite, ...(d.siteForFacility ? { siteForFacility: d.siteForFacility } : {}), sourceSystem, now: Date.now(), maxAheadMs: d.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS });
  const redriver = new Redriver(d.rejects, { publisher: d.sink, hl7: d.hl7, fhirContext, maxAheadMs: d.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS, maxBatch: d.maxBatch, maxJsonDepth: d.maxJsonDepth, metrics: d.metrics });
  const audit = d.audit ?? ((entry: AuditEntry) => d.logger.info({ audit: entry }, 'audit'));
  return buildHttpApp({
    publisher: d.sink, logger: d.logger, maxBatch: d.maxBatch, maxBodyBytes: d.maxBodyBytes, maxJsonDepth: d.maxJsonDepth, senders: d.senders,
    ...(d.rateLimitPerMinute ? { rateLimitPerMinute: d.rateLimitPerMinute } : {}), ...(d.idleTimeoutMs ? { idleTimeoutMs: d.idleTimeoutMs } : {}),
    ...(d.ready ? { ready: d.ready } : {}), ...(d.maxAheadMs !== undefined ? { maxAheadMs: d.maxAheadMs } : {}),
    extraRoutes: (a) => {
      registerFhirRoutes(a, { publisher: d.sink, logger: d.logger, maxBatch: d.maxBatch, maxJsonDepth: d.maxJsonDepth, context: fhirContext });
      registerRejectRoutes(a, d.rejects, redriver, { auth: d.auth, audit });
      a.get('/metrics', async (_req, reply) => reply.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics()));
    },
  });
}

/** The MLLP listener's TLS files, when configured (a certificate without its key, or the reverse, stops the start). */
function mllpTls(c: IngestConfig): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  if (!c.PFM_MLLP_TLS_CERT_FILE && !c.PFM_MLLP_TLS_KEY_FILE) return undefined;
  if (!c.PFM_MLLP_TLS_CERT_FILE || !c.PFM_MLLP_TLS_KEY_FILE) throw new Error('MLLP over TLS needs both PFM_MLLP_TLS_CERT_FILE and PFM_MLLP_TLS_KEY_FILE');
  return { cert: readFileSync(c.PFM_MLLP_TLS_CERT_FILE), key: readFileSync(c.PFM_MLLP_TLS_KEY_FILE), ...(c.PFM_MLLP_TLS_CA_FILE ? { ca: readFileSync(c.PFM_MLLP_TLS_CA_FILE) } : {}) };
}

export async function startIngest(config: IngestConfig, opts: { logger?: Logger; metrics?: Metrics } = {}): Promise<IngestService> {
  const logger = opts.logger ?? createLogger('ingest');
  const metrics = opts.metrics ?? new Metrics('ingest');
  // Raw rejected input is sealed at rest; production does not start without the keys.
  const rejectKeys = RejectKeys.parse(config.PFM_REJECTS_KEYS);
  if (!rejectKeys && config.PFM_ENV === 'production') throw new Error('PFM_REJECTS_KEYS is required in production: raw rejected input is sealed at rest (<kid>:<base64 of 32 bytes>)');
  // Both fail fast: a bad sender list or missing token keys stop the service at start.
  const senders = SenderRegistry.fromFile(config.PFM_SENDERS_FILE);
  const auth = authFromSettings(config);
  if (senders.size === 0) logger.warn('PFM_SENDERS_FILE lists no senders: every HTTP and MLLP input will be refused');
  if (!rejectKeys) logger.warn('PFM_REJECTS_KEYS is not set: raw rejected input is stored in clear in the rejects topic (development only)');
  const topics = topicsFor(config.PFM_TOPIC_NAMESPACE);

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-ingest', logger, metrics });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs({ partitions: config.PFM_TOPIC_PARTITIONS, namespace: config.PFM_TOPIC_NAMESPACE }));
  // The retention ops chose for raw rejected input, whoever created the topic.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.ingestRejects, configEntries: [{ name: 'retention.ms', value: String(Math.round(config.PFM_REJECTS_RETENTION_DAYS * 86_400_000)) }] }],
  });
  await admin.disconnect();
  const codec = new FlowEventCodec(config.SCHEMA_REGISTRY_URL, `${topics.flowEvents}-value`, process.env, { logger });
  await codec.init();
  const producer = createProducer(kafka);
  await producer.connect();
  const opsAdmin = kafka.admin();
  await opsAdmin.connect();
  exportDependencyChecks(metrics, { kafka: kafkaCheck(opsAdmin), schema_registry: registryCheck(config.SCHEMA_REGISTRY_URL) });

  const rejects = new RejectIndex(config.PFM_REJECTS_INDEX_MAX, config.PFM_REJECTS_INDEX_MAX_BYTES);
  const publisher = new Publisher(producer, codec, logger, metrics, {
    topics: { flowEvents: topics.flowEvents, rejects: topics.ingestRejects }, timeoutMs: config.PFM_PUBLISH_TIMEOUT_MS, onReject: (r) => rejects.add(r),
    ...(rejectKeys ? { seal: (r: Reject) => rejectKeys.seal(r) } : {}),
  });
  // A group of its own per process, never committed: every instance reads every reject from the start.
  const feed = new RejectFeed(kafka, [topics.ingestRejects, topics.flowEventsDlq], rejects, logger, `pfm-ingest-rejects-index-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`, rejectKeys ? (r) => rejectKeys.open(r) : undefined);
  await feed.start();

  const knownSites = registrySites(config.PFM_WARDS_FILE);
  // Said at start, not found out later as every facility landing on the default site.
  if (!knownSites.length) logger.error({ wardsFile: config.PFM_WARDS_FILE, defaultSite: config.PFM_DEFAULT_SITE }, 'the ward registry is missing, unreadable or names no site: HL7 and FHIR facilities map to sites only through PFM_FACILITY_SITES, every other one to the default site (each with a warning)');
  const siteForFacility = facilityResolver(config.PFM_FACILITY_SITES, knownSites);
  const hl7 = new Hl7Intake({
    publisher, logger, metrics, mapContext: { defaultSite: config.PFM_DEFAULT_SITE, siteForFacility }, maxAheadMs: config.PFM_INGEST_MAX_AHEAD_MINUTES * 60_000,
    processingIds: config.PFM_MLLP_PROCESSING_IDS, maxMessageBytes: config.PFM_MLLP_MAX_BYTES,
    // peer is "address:port"; the address names the sender (and so its scope).
    senderOf: (peer) => senders.peer(peer.slice(0, peer.lastIndexOf(':'))),
  });
  const connections = metrics.gauge('pfm_ingest_mllp_connections', 'Open MLLP connections');
  const refused = metrics.counter('pfm_ingest_mllp_refused_total', 'MLLP connections refused or closed by a limit, by reason', ['reason']);
  const stray = metrics.counter('pfm_ingest_mllp_stray_bytes_total', 'Non-whitespace bytes received outside any MLLP frame (dropped)');
  const tls = mllpTls(config);
  const mllp = await startMllpServer({
    ...(tls ? { tls } : {}),
    host: config.PFM_MLLP_HOST, port: config.PFM_MLLP_PORT, maxMessageBytes: config.PFM_MLLP_MAX_BYTES, maxConnections: config.PFM_MLLP_MAX_CONNECTIONS,
    allowPeer: (address) => !!senders.peer(address), maxConnectionsPerPeer: config.PFM_MLLP_MAX_CONNECTIONS_PER_PEER,
    idleTimeoutMs: config.PFM_MLLP_IDLE_TIMEOUT_MS, frameTimeoutMs: config.PFM_MLLP_FRAME_TIMEOUT_MS, onRefused: (reason) => refused.inc({ reason }),
    handler: hl7.handle, logger, onConnections: (n) => connections.set(n), onStrayBytes: (n) => stray.inc(n),
  });

  const app = buildIngestHttp({
    sink: publisher, hl7, rejects, logger, metrics, defaultSite: config.PFM_DEFAULT_SITE, siteForFacility,
    maxBatch: config.PFM_MAX_BATCH, maxBodyBytes: config.PFM_MAX_BODY_BYTES, maxJsonDepth: config.PFM_MAX_JSON_DEPTH,
    ready: async () => feed.running, senders, auth, maxAheadMs: config.PFM_INGEST_MAX_AHEAD_MINUTES * 60_000, rateLimitPerMinute: config.PFM_HTTP_RATE_LIMIT_PER_MINUTE, idleTimeoutMs: config.PFM_HTTP_IDLE_TIMEOUT_MS,
  });
  await app.listen({ port: config.PFM_INGEST_HTTP_PORT, host: config.PFM_BIND_HOST });
  const http = app.server.address() as AddressInfo;

  return {
    httpUrl: `http://${config.PFM_BIND_HOST === '0.0.0.0' ? '127.0.0.1' : config.PFM_BIND_HOST}:${http.port}`,
    mllpHost: mllp.host,
    mllpPort: mllp.port,
    mllpServer: mllp.server,
    topics,
    rejects,
    metrics,
    close: async () => {
      await mllp.close();
      await app.close();
      await feed.stop();
      await producer.disconnect();
      await opsAdmin.disconnect();
    },
  };
}
