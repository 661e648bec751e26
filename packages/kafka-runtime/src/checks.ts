// Reachability checks of Kafka and the schema registry, for /readyz and for the
// `pfm_dependency_up` gauge the alert rules read. Each answers within its timeout.
import type { Admin } from 'kafkajs';
import { registryHeaders } from './registry';

export interface CheckResult { ok: boolean; detail?: string }

/** The schema registry answers its subject list (any 2xx) within timeoutMs, to the login of `env` (registryHeaders). */
export function registryCheck(registryUrl: string, timeoutMs = 2000, env: NodeJS.ProcessEnv = process.env): () => Promise<CheckResult> {
  const headers = registryHeaders(env);
  return async () => {
    try {
      const r = await fetch(`${registryUrl.replace(/\/$/, '')}/subjects`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      return r.ok ? { ok: true } : { ok: false, detail: `registry answered ${r.status}` };
    } catch (e) {
      return { ok: false, detail: `registry unreachable: ${(e as Error).message}` };
    }
  };
}

/** A connected admin client can describe the cluster within timeoutMs. */
export function kafkaCheck(admin: Admin, timeoutMs = 3000): () => Promise<CheckResult> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs); });
      const c = await Promise.race([admin.describeCluster(), timeout]);
      return c.brokers.length > 0 ? { ok: true } : { ok: false, detail: 'no brokers in the cluster metadata' };
    } catch (e) {
      return { ok: false, detail: `kafka unreachable: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  };
}
