// Publishes accepted events to pfm.flow-events.v1 and rejected input to
// pfm.ingest-rejects.v1. A publish resolves only when Kafka holds the messages
// (idempotent producer, acks=-1); when Kafka cannot be reached it throws
// UnavailableError, and the callers answer "try again" (HTTP 503, no HL7 ACK).
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { TOPICS, type FlowEvent, type Reject } from '@pfm/contracts';
import { InfrastructureError, sendFlowEvents, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';

export class UnavailableError extends InfrastructureError {}

export type RejectInput = Omit<Reject, 'rejectId' | 'receivedAt' | 'stage'> & { rejectId?: string; receivedAt?: number };

export class Publisher {
  private readonly accepted;
  private readonly rejected;
  constructor(
    private readonly producer: Producer,
    private readonly codec: FlowEventCodec,
    private readonly logger: Logger,
    metrics?: Metrics,
    private readonly topics = { flowEvents: TOPICS.flowEvents as string, rejects: TOPICS.ingestRejects as string },
  ) {
    this.accepted = metrics?.counter('pfm_ingest_accepted_total', 'Events accepted and durably written to Kafka', ['channel', 'type']);
    this.rejected = metrics?.counter('pfm_ingest_rejected_total', 'Inputs rejected, kept in the rejects topic', ['channel']);
  }

  async publish(events: FlowEvent[]): Promise<void> {
    try {
      await sendFlowEvents(this.producer, this.codec, events, this.topics.flowEvents);
    } catch (e) {
      throw new UnavailableError(`Kafka did not accept the events: ${(e as Error).message}`, { cause: e });
    }
    for (const e of events) this.accepted?.inc({ channel: e.channel, type: e.type });
  }

  async reject(r: RejectInput): Promise<Reject> {
    const full: Reject = { ...r, rejectId: r.rejectId ?? randomUUID(), receivedAt: r.receivedAt ?? Date.now(), stage: 'ingest' };
    try {
      await this.producer.send({ topic: this.topics.rejects, acks: -1, messages: [{ key: full.rejectId, value: JSON.stringify(full) }] });
    } catch (e) {
      throw new UnavailableError(`Kafka did not accept the reject record: ${(e as Error).message}`, { cause: e });
    }
    this.rejected?.inc({ channel: full.channel });
    this.logger.info({ rejectId: full.rejectId, channel: full.channel, reason: full.reason }, 'input rejected');
    return full;
  }
}
