// ingest: HL7 v2 over MLLP, FHIR R4 and canonical JSON over HTTP -> pfm.flow-events.v1;
// rejected input (with reasons and the raw input) -> pfm.ingest-rejects.v1. See README.md.
import { createLogger, initTracing, onShutdown } from '@pfm/observability';
import { loadIngestConfig } from './config';
import { startIngest } from './service';

async function main(): Promise<void> {
  const config = loadIngestConfig();
  const logger = createLogger('ingest');
  const tracing = initTracing('ingest', { url: config.PFM_OTLP_TRACES_URL });
  const ingest = await startIngest(config, { logger });
  logger.info({ http: ingest.httpUrl, mllp: `${ingest.mllpHost}:${ingest.mllpPort}`, traces: tracing.enabled }, 'ingest listening');
  onShutdown(logger, [() => ingest.close(), () => tracing.shutdown()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
