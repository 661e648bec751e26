// The gateway as a real process on the real stack, for integration tests of its doors:
// its own topic namespace and Redis key prefix, one ward (RXT/OAK, 10 beds), a loopback
// port, and the settings a test adds. stop() stops the process and removes its keys.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, httpReady, requireStack, startService, uniqueName, type RunningService } from '@pfm/testkit';

export interface GatewayProcess {
  gateway: RunningService;
  /** http://127.0.0.1:<port> */
  base: string;
  prefix: string;
  redis: Redis;
  stop(): Promise<void>;
}

export async function startGatewayProcess(label: string, secret: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const stack = await requireStack();
  const ns = uniqueName(label);
  const prefix = ns.replace(/-/g, '_');
  const redis = new Redis(stack.redisUrl);
  const dir = mkdtempSync(join(tmpdir(), `pfm-${label}-`));
  writeFileSync(join(dir, 'wards.json'), JSON.stringify([{ site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = await startService('board-gateway', {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
    PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '1', PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: join(dir, 'wards.json'),
    PFM_JWT_SECRET: secret, PFM_GATEWAY_PORT: String(port), PFM_LOG_LEVEL: 'info', ...env,
  }, httpReady(`${base}/healthz`));
  return {
    gateway, base, prefix, redis,
    stop: async () => {
      await gateway.stop();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.unlink(...keys);
      redis.disconnect();
    },
  };
}
