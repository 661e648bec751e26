// Support for this service's integration tests (not product code): the insights service
// started as a child process on a scratch namespace (tests/support/scratch.ts).
import { startService, type RunningService } from '@pfm/testkit';

/**
 * Starts the insights service on the namespace's topics with warehouse file `db`, until
 * `ready`. The read API gets token keys (it is closed without them) and any free port.
 */
export function startInsights(ns: string, db: string, env: { PFM_INSIGHTS_GROUP: string; PFM_INSIGHTS_SECRET: string } & Record<string, string>, ready: (s: RunningService) => boolean): Promise<RunningService> {
  return startService('insights', {
    PFM_TOPIC_NAMESPACE: ns, PFM_INSIGHTS_DB: db,
    PFM_JWT_SECRET: 'insights-int-test-jwt-secret-0123456789abcdef', PFM_INSIGHTS_PORT: '0', ...env,
  }, ready, 120_000);
}
