// An in-memory EventSink for unit tests: records what would be published, and can be
// switched to "Kafka down" (every call throws UnavailableError).
import type { FlowEvent, Reject } from '@pfm/contracts';
import { boundedReject, contentRejectId, UnavailableError, type EventSink, type RejectInput } from '../publisher';

export class FakeSink implements EventSink {
  readonly events: FlowEvent[] = [];
  readonly rejects: Reject[] = [];
  down = false;
  /** Only the reject records fail (the events would go through). */
  rejectsDown = false;
  onReject?: (r: Reject) => void;

  async publish(events: FlowEvent[]): Promise<void> {
    if (this.down) throw new UnavailableError('Kafka did not accept the events: test says down');
    this.events.push(...events);
  }

  async reject(input: RejectInput): Promise<Reject> {
    if (this.down || this.rejectsDown) throw new UnavailableError('Kafka did not accept the reject record: test says down');
    const r = boundedReject(input);
    const full: Reject = { ...r, rejectId: r.rejectId ?? contentRejectId(r), receivedAt: r.receivedAt ?? Date.now(), stage: 'ingest' };
    this.rejects.push(full);
    this.onReject?.(full);
    return full;
  }
}
