/** @pfm-stack kafka registry */
// Dependency checks against the real registry and broker, and against a port where
// nothing listens (what a scrape reports when the registry is down).
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig } from './client';
import { exportDependencyChecks, Metrics } from '@pfm/observability';
import { freePort, requireStack } from '@pfm/testkit';
import { kafkaCheck, registryCheck } from './checks';

describe('dependency checks on the real stack', () => {
  it('the registry and Kafka answer; a registry that is not there does not', async () => {
    const env = await requireStack();
    const admin = new Kafka(kafkaClientConfig({ brokers: env.kafkaBrokers, clientId: 'checks-test', logLevel: logLevel.NOTHING })).admin();
    await admin.connect();
    try {
      const down = `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`;
      expect(await registryCheck(env.schemaRegistryUrl)()).toEqual({ ok: true });
      expect(await registryCheck(down)()).toMatchObject({ ok: false, detail: expect.stringContaining('registry unreachable') });
      expect(await kafkaCheck(admin)()).toEqual({ ok: true });

      const metrics = new Metrics('checks-test');
      exportDependencyChecks(metrics, { kafka: kafkaCheck(admin), schema_registry: registryCheck(env.schemaRegistryUrl), schema_registry_standby: registryCheck(down) });
      const text = await metrics.registry.metrics();
      expect(text).toContain('pfm_dependency_up{dependency="kafka",service="checks-test"} 1');
      expect(text).toContain('pfm_dependency_up{dependency="schema_registry",service="checks-test"} 1');
      expect(text).toContain('pfm_dependency_up{dependency="schema_registry_standby",service="checks-test"} 0');
    } finally {
      await admin.disconnect();
    }
  });
});
