// Ingest configuration: the shared slice from @pfm/config plus what only ingest reads
// (MLLP bind address and limits, publish deadline, facility -> site map, rejects index).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { accessEnv, commonEnv, loadConfig, serviceEnv } from '@pfm/config';
import { wardSchema } from '@pfm/contracts';

const host = z.string().regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address');
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const ingestEnv = {
  ...commonEnv,
  ...serviceEnv.ingest,
  ...accessEnv,
  /** The senders (JSON list: id, key hash, channels, types, sites, MLLP peers); none = nobody may send. */
  PFM_SENDERS_FILE: z.string().optional(),
  /** Interface the MLLP listener binds to; default PFM_BIND_HOST (the HTTP API's, 127.0.0.1 unless set). */
  PFM_MLLP_HOST: host.optional(),
  /** MLLP over TLS: the listener's certificate and key (PEM files); with the CA file, senders must present a certificate it issued. */
  PFM_MLLP_TLS_CERT_FILE: z.string().optional(),
  PFM_MLLP_TLS_KEY_FILE: z.string().optional(),
  PFM_MLLP_TLS_CA_FILE: z.string().optional(),
  /** Largest HL7 message accepted over MLLP, in bytes; larger frames get AR. */
  PFM_MLLP_MAX_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  PFM_MLLP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(10000).default(256),
  /** Connections one peer address may hold open. */
  PFM_MLLP_MAX_CONNECTIONS_PER_PEER: z.coerce.number().int().min(1).max(10000).default(16),
  /** An MLLP connection with nothing received for this long is closed. */
  PFM_MLLP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(24 * 3600 * 1000).default(10 * 60 * 1000),
  /** A frame must arrive whole within this long of its start. */
  /**
   * Keys that seal raw rejected input at rest (AES-256-GCM): "<kid>:<base64 of 32 bytes>,...";
   * the first seals, all open. Required with PFM_ENV=production; without it (development)
   * raw input is stored in clear and a warning is logged on start.
   */
  PFM_REJECTS_KEYS: z.string().optional(),
  /** How long the rejects topic keeps raw rejected input (applied to the topic at start). */
  PFM_REJECTS_RETENTION_DAYS: z.coerce.number().min(1).max(3650).default(30),
  /** HTTP requests one client address may make per minute (429 beyond). */
  PFM_HTTP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(30_000),
  /** An HTTP connection that sends nothing for this long is closed. */
  PFM_HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  PFM_MLLP_FRAME_TIMEOUT_MS: z.coerce.number().int().min(100).max(600000).default(30000),
  /** MSH-11.1 processing ids this feed accepts (P production; T training and D debugging are refused). */
  PFM_MLLP_PROCESSING_IDS: list.default(['P']),
  /** How long a publish may wait for Kafka before the input is answered "unavailable". */
  PFM_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(5000),
  /** PV1-3.4 / serviceProvider facility -> site, e.g. "RXT01=RXT,RXT02=RXT". */
  PFM_FACILITY_SITES: list.default([]),
  PFM_REJECTS_INDEX_MAX: z.coerce.number().int().min(10).max(100000).default(1000),
  PFM_REJECTS_INDEX_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).default(32 * 1024 * 1024),
  /** Deepest JSON nesting accepted on the HTTP endpoints (FHIR resources nest about 6 deep). */
  /** Events dated more than this many minutes ahead of the server's clock are refused as wrong dates; 0 = no limit (the demo's time-compressed feed). */
  PFM_INGEST_MAX_AHEAD_MINUTES: z.coerce.number().int().min(0).max(366 * 24 * 60).default(24 * 60),
  PFM_MAX_JSON_DEPTH: z.coerce.number().int().min(4).max(1000).default(32),
};

export type IngestConfig = z.infer<z.ZodObject<typeof ingestEnv>> & { PFM_MLLP_HOST: string };

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const c = loadConfig(ingestEnv, env);
  return { ...c, PFM_MLLP_HOST: c.PFM_MLLP_HOST ?? c.PFM_BIND_HOST };
}

/** Sites named in the ward registry (a missing or unreadable file means "none known"). */
export function registrySites(path: string): string[] {
  try {
    const wards = z.array(wardSchema).parse(JSON.parse(readFileSync(path, 'utf8')));
    return [...new Set(wards.map((w) => w.site))];
  } catch {
    return [];
  }
}

/**
 * Facility (PV1-3.4, FHIR serviceProvider / performer ODS code) -> site. In order: the
 * explicit map; the facility itself when it is a known site; its first three characters
 * when those are a known site (an ODS site code such as RXT01 starts with its trust's code).
 * Anything else is undefined, and the mapper falls back to the default site with a warning.
 */
export function facilityResolver(pairs: string[], knownSites: string[]): (facility: string) => string | undefined {
  const explicit = new Map<string, string>();
  for (const p of pairs) {
    const [from, to] = p.split('=').map((s) => s.trim());
    if (from && to) explicit.set(from.toUpperCase(), to);
  }
  const known = new Set(knownSites);
  return (facility) => {
    const f = facility.trim().toUpperCase();
    if (!f) return undefined;
    const hit = explicit.get(f);
    if (hit) return hit;
    if (known.has(f)) return f;
    const trust = f.slice(0, 3);
    return f.length > 3 && known.has(trust) ? trust : undefined;
  };
}
