// An in-memory EventSink for unit tests: records what would be published, and can be
// switched to "Kafka down" (every call throws UnavailableError).
import { randomUUID } from 'node:crypto';
import type { FlowEvent, Reject } from '@pfm/contracts';
import { boundedReject, UnavailableError, type EventSink, type RejectInput } from '../publisher';

export class FakeSink implements EventSink {
  readonly events: FlowEvent[] = [];
  readonly rejects: Reject[] = [];
  down = false;
  onReject?: (r: Reject) => void;

  async publish(events: FlowEvent[]): Promise<void> {
    if (this.down) throw new UnavailableError('Kafka did not accept the events: test says down');
    this.events.push(...events);
  }

  async reject(input: RejectInput): Promise<Reject> {
    if (this.down) throw new UnavailableError('Kafka did not accept the reject record: test says down');
    const r = boundedReject(input);
    const full: Reject = { ...r, rejectId: r.rejectId ?? randomUUID(), receivedAt: r.receivedAt ?? Date.now(), stage: 'ingest' };
    this.rejects.push(full);
    this.onReject?.(full);
    return full;
  }
}
