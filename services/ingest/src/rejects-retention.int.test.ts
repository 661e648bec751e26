/** @pfm-stack kafka registry */
// Raw rejected input is kept only as long as ops choose: ingest applies
// PFM_REJECTS_RETENTION_DAYS to the rejects topic on start (default 30 days).
import { ConfigResourceTypes } from 'kafkajs';
import { startTestIngest } from './testing/ingest-under-test';

it('the rejects topic gets the configured retention', async () => {
  const t = await startTestIngest({ PFM_REJECTS_RETENTION_DAYS: '3' }, 'retention');
  const admin = t.kafka.admin();
  try {
    await admin.connect();
    const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t.ingest.topics.ingestRejects, configNames: ['retention.ms'] }] });
    expect(r.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe(String(3 * 86_400_000));
  } finally {
    await admin.disconnect();
    await t.stop();
  }
});
