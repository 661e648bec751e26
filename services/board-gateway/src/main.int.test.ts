// The gateway as a process: in production it refuses to start without the identity
// provider's keys (it used to start with a random secret and a warning).
import { requireStack, startService } from '@pfm/testkit';

it('PFM_ENV=production without JWKS keys (even with a demo secret): the gateway exits at start and says why', async () => {
  const stack = await requireStack();
  const env = { KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl, PFM_GATEWAY_PORT: '0', PFM_ENV: 'production' };
  const extras: Record<string, string>[] = [{}, { PFM_JWT_SECRET: 'a-demo-secret-a-demo-secret-0123456789' }];
  for (const extra of extras) {
    await expect(startService('board-gateway', { ...env, ...extra }, () => false, 30000)).rejects.toThrow(/exited[\s\S]*PFM_JWKS_FILE or PFM_JWKS_URL/);
  }
});
