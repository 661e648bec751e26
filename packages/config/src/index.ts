// Configuration is read once from the environment, parsed by zod, and fails fast with
// every problem listed. Each service declares the slice it needs.
import { z } from 'zod';

const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const port = z.coerce.number().int().min(0).max(65535);

export const commonEnv = {
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Live key prefix; "sbx." is the replay sandboxes' and cannot be taken. */
  PFM_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).refine((p) => !p.startsWith('sbx.') && p !== 'sbx', 'the sbx prefix is reserved for replay sandboxes').default('pfm'),
  PFM_WARDS_FILE: z.string().default('config/wards.json'),
  PFM_THRESHOLDS_FILE: z.string().optional(),
  /** Prefixes every topic name ("<ns>.pfm.flow-events.v1"); empty for live. */
  PFM_TOPIC_NAMESPACE: z.string().regex(/^[A-Za-z0-9_-]*$/).refine((n) => !n.startsWith('sbx-'), 'namespaces starting with sbx- are reserved for replay sandboxes').default(''),
  PFM_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(256).default(6),
  PFM_OPS_PORT: port.optional(),
  /** Address the services listen on: loopback by default; 0.0.0.0 in containers. */
  PFM_BIND_HOST: z.string().default('127.0.0.1'),
  /** OTLP/HTTP traces endpoint (a collector's /v1/traces); unset or empty: no traces. */
  PFM_OTLP_TRACES_URL: z.union([z.literal(''), z.url()]).optional(),
};

export const serviceEnv = {
  ingest: { PFM_INGEST_HTTP_PORT: port.default(8080), PFM_MLLP_PORT: port.default(2575), PFM_MAX_BATCH: z.coerce.number().int().min(1).max(10000).default(500), PFM_MAX_BODY_BYTES: z.coerce.number().int().default(1048576), PFM_DEFAULT_SITE: z.string().default('RXT') },
  engine: { PFM_BOARD_WINDOW_MS: z.coerce.number().int().min(0).max(5000).default(100), PFM_ENGINE_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).default(30000), PFM_ENGINE_MAX_BATCH_BYTES: z.coerce.number().int().min(1024).default(1048576), PFM_ENGINE_GROUP: z.string().default('pfm-flow-engine'), PFM_ENGINE_INSTANCE: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(), PFM_SCAN_INTERVAL_MS: z.coerce.number().int().min(100).default(5000), PFM_CLOCK: z.enum(['wall', 'event']).default('wall'), PFM_ENV: z.enum(['development', 'production']).default('development'), PFM_REJECTS_KEYS: z.string().optional(), PFM_PAGER_URL: z.string().url().optional(), PFM_PAGER_TOKEN: z.string().min(16).optional(), PFM_PAGER_GROUP: z.string().default('pfm-pager'), PFM_BOARD_URL: z.string().url().optional() },
  gateway: { PFM_CLOCK: z.enum(['wall', 'event']).default('wall'), PFM_GATEWAY_PORT: port.default(3000), PFM_GATEWAY_GROUP: z.string().optional(), PFM_GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200), PFM_GATEWAY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000), PFM_GATEWAY_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20), PFM_GATEWAY_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(500), PFM_INSIGHTS_URL: z.union([z.literal(''), z.url()]).optional() },
} as const;

/** Time-travel snapshots (replay service and board-gateway; one builder at a time across them). */
export const snapshotEnv = {
  /** How often the log is checked for enough new events to take a snapshot; 0 = this process takes none. */
  PFM_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** Events between two snapshots: the most a time travel replays after restoring one. */
  PFM_SNAPSHOT_EVERY_EVENTS: z.coerce.number().int().min(100).max(1_000_000).default(1000),
};

export class ConfigError extends Error {}

export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const r = z.object(shape).safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}

/**
 * Reader-token settings, shared by every service with a door for people (board-gateway,
 * ingest's rejects routes, the replay API). Asymmetric keys (PFM_JWKS_FILE / PFM_JWKS_URL)
 * in production; PFM_JWT_SECRET (HS256) only outside production.
 */
export const accessEnv = {
  /** "production" refuses HS256 secrets and starting without keys. */
  PFM_ENV: z.enum(['development', 'production']).default('development'),
  PFM_JWT_SECRET: z.string().min(32).optional(),
  PFM_JWKS_FILE: z.string().optional(),
  PFM_JWKS_URL: z.url().optional(),
  PFM_JWT_ISSUER: z.string().min(1).default('pfm'),
  PFM_JWT_AUDIENCE: z.string().min(1).default('pfm'),
  PFM_JWT_MAX_AGE_SECONDS: z.coerce.number().int().min(60).max(30 * 86400).default(12 * 3600),
  PFM_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
};
