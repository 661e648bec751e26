// Kafka topics the product owns. Names are part of the public contract (DESIGN.md).
export const TOPICS = {
  flowEvents: 'pfm.flow-events.v1',
  ingestRejects: 'pfm.ingest-rejects.v1',
  boardUpdates: 'pfm.board-updates.v1',
  alerts: 'pfm.alerts.v1',
  /** Flow events the engine can never apply (undecodable, breaking the contract, refused by Redis). */
  flowEventsDlq: 'pfm.flow-events.dlq.v1',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export type TopicSet = { flowEvents: string; ingestRejects: string; boardUpdates: string; alerts: string; flowEventsDlq: string };

/**
 * Topic names under an optional namespace ("<ns>.pfm.flow-events.v1"): replay sandboxes
 * and tests get their own topics; live uses no namespace.
 */
export function topicsFor(namespace = ''): TopicSet {
  const p = namespace ? `${namespace}.` : '';
  return { flowEvents: p + TOPICS.flowEvents, ingestRejects: p + TOPICS.ingestRejects, boardUpdates: p + TOPICS.boardUpdates, alerts: p + TOPICS.alerts, flowEventsDlq: p + TOPICS.flowEventsDlq };
}

export interface TopicSpec { topic: string; numPartitions: number; configEntries: { name: string; value: string }[] }

/**
 * Retention: the flow-event log is the source of truth (replay and rebuild read it
 * from the beginning), so it is kept forever by default; rejects and dead letters (raw
 * patient data) are kept 30 days, or what ops set in ingest, for re-drive; board updates
 * and alerts are derived and kept 7 / 30 days.
 */
export function topicSpecs(opts: { partitions?: number; flowEventRetentionMs?: number; namespace?: string } = {}): TopicSpec[] {
  const partitions = opts.partitions ?? 6;
  const day = 24 * 3600 * 1000;
  const t = topicsFor(opts.namespace);
  return [
    { topic: t.flowEvents, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: String(opts.flowEventRetentionMs ?? -1) }] },
    // Raw rejected input holds patient data: kept 30 days unless ops choose otherwise (ingest's PFM_REJECTS_RETENTION_DAYS).
    { topic: t.ingestRejects, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * day) }] },
    { topic: t.boardUpdates, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(7 * day) }] },
    { topic: t.alerts, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * day) }] },
    { topic: t.flowEventsDlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * day) }] },
  ];
}
