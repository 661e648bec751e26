// The insights service's settings (read once from the environment, zod, fail fast).
import { z } from 'zod';
import { commonEnv, loadConfig } from '@pfm/config';
import { DEFAULT_CONCURRENT_PARTITIONS } from './consumer';

export const insightsEnv = {
  /** The warehouse file (DuckDB). */
  PFM_INSIGHTS_DB: z.string().min(1).default('.data/insights.duckdb'),
  PFM_INSIGHTS_GROUP: z.string().min(1).default('pfm-insights'),
  /** Trust secret keying the pseudonymous patient key (HMAC). Required: no default, closed by default. */
  PFM_INSIGHTS_SECRET: z.string({ error: 'required (the trust secret keying the pseudonymous patient key, >= 32 characters)' }).min(32, 'must be at least 32 characters (the key of the pseudonymous patient key)'),
  /** Local area level analysts see: "area" as sent (e.g. postcode district) or "locality" from the local-areas file. */
  PFM_INSIGHTS_AREA_LEVEL: z.enum(['area', 'locality']).default('locality'),
  PFM_LOCAL_AREAS_FILE: z.string().default('config/local-areas.csv'),
  PFM_POPULATION_FILE: z.string().default('config/population.csv'),
  PFM_MEASURES_FILE: z.string().default('config/measures.json'),
  /** Port of the read API (/api/v1/insights/...); 0 picks a free one (logged at start). */
  PFM_INSIGHTS_PORT: z.coerce.number().int().min(0).max(65535).default(3300),
  /** Equity view: counts from 1 to this minus 1 are shown only as "<N" and left out of its CSV (NHS statistical disclosure control). */
  PFM_INSIGHTS_SUPPRESS_BELOW: z.coerce.number().int().min(1).max(100).default(5),
  PFM_INSIGHTS_MAX_BATCH_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  /** Partitions whose batches are folded side by side (the consumer's concurrentPartitions): one is folded while DuckDB writes another. */
  PFM_INSIGHTS_CONCURRENT_PARTITIONS: z.coerce.number().int().min(1).max(8).default(DEFAULT_CONCURRENT_PARTITIONS),
};

export type InsightsConfig = z.infer<z.ZodObject<typeof commonEnv & typeof insightsEnv>>;

/** Reading the warehouse (export) needs no secret; folding events into it does. */
export function loadInsightsConfig(env: NodeJS.ProcessEnv = process.env, opts: { secret?: boolean } = {}): InsightsConfig {
  if (opts.secret === false) return loadConfig({ ...commonEnv, ...insightsEnv, PFM_INSIGHTS_SECRET: insightsEnv.PFM_INSIGHTS_SECRET.optional().default('') }, env) as InsightsConfig;
  return loadConfig({ ...commonEnv, ...insightsEnv }, env);
}
