// The schema registry client of the product: one place for its address and login.
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

export class RegistryAuthConfigError extends Error {}

export interface RegistryAuth { username: string; password: string }

/**
 * The registry login from the environment, the one place every registry client of the
 * product (services, tools, tests) gets it:
 *   SCHEMA_REGISTRY_USERNAME  the principal (ingest, engine, ...); unset or empty: no login
 *   SCHEMA_REGISTRY_PASSWORD  its password
 * Throws RegistryAuthConfigError for a user without a password, so a service stops at
 * start rather than being refused on every request.
 */
export function registryAuthFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryAuth | undefined {
  const username = env.SCHEMA_REGISTRY_USERNAME?.trim();
  if (!username) return undefined;
  const password = env.SCHEMA_REGISTRY_PASSWORD;
  if (!password) throw new RegistryAuthConfigError(`SCHEMA_REGISTRY_USERNAME is set (${username}) but SCHEMA_REGISTRY_PASSWORD is empty`);
  return { username, password };
}

/** HTTP headers with the environment's registry login (HTTP basic), for plain fetches. */
export function registryHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const auth = registryAuthFromEnv(env);
  return auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
}

type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** How long one registry request may take by default (SCHEMA_REGISTRY_TIMEOUT_MS overrides). */
export const REGISTRY_TIMEOUT_MS = 10_000;

/**
 * Gives every request of the client a deadline: without one, a registry that accepts the
 * connection and never answers holds the caller (a service's start) for ever. A request
 * past it fails with `Timeout (<ms>ms)`, which the callers retry (FlowEventCodec.init) or
 * take as the registry's fault (isRetriableDecodeError).
 */
const requestTimeout = (ms: number): Middleware => () => ({
  async prepareRequest(next) {
    const request = await next();
    return request.timeout() ? request : request.enhance({ timeout: ms });
  },
});

/** The request timeout of `env` (SCHEMA_REGISTRY_TIMEOUT_MS, a positive number of ms), else REGISTRY_TIMEOUT_MS. */
export function registryTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SCHEMA_REGISTRY_TIMEOUT_MS?.trim();
  if (!raw) return REGISTRY_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`SCHEMA_REGISTRY_TIMEOUT_MS must be a positive number of milliseconds, not ${JSON.stringify(raw)}`);
  return ms;
}

/**
 * A registry client at `url` with the login of `env` (registryAuthFromEnv); each request
 * times out after `timeoutMs` (default: registryTimeoutFromEnv).
 */
export function createSchemaRegistry(url: string, env: NodeJS.ProcessEnv = process.env, timeoutMs: number = registryTimeoutFromEnv(env)): SchemaRegistry {
  const auth = registryAuthFromEnv(env);
  return new SchemaRegistry({ host: url, middlewares: [requestTimeout(timeoutMs)], ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}) });
}

/** The HTTP status of a registry client's error (mappersmith's response error), if any. */
export function registryStatus(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}
