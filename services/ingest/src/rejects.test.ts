import type { Reject } from '@pfm/contracts';
import { RejectIndex } from './rejects';

const rec = (id: string, over: Partial<Reject> = {}): Reject => ({
  rejectId: id, stage: 'ingest', channel: 'json', receivedAt: 1, reason: 'r', errors: [], raw: 'x', rawEncoding: 'utf8', ...over,
});

describe('RejectIndex', () => {
  it('keeps the newest records, bounded by count, newest first', () => {
    const ix = new RejectIndex(3);
    for (const id of ['a', 'b', 'c', 'd']) ix.add(rec(id));
    expect(ix.list().map((e) => e.reject.rejectId)).toEqual(['d', 'c', 'b']);
    expect(ix.get('a')).toBeUndefined();
  });
  it('is bounded by bytes too', () => {
    const ix = new RejectIndex(100, 2000);
    for (const id of ['a', 'b', 'c']) ix.add(rec(id, { raw: 'x'.repeat(900) }));
    expect(ix.size).toBe(1);
    expect(ix.get('c')).toBeDefined();
  });
  it('filters by channel and stage; ignores a record it already holds', () => {
    const ix = new RejectIndex(10);
    ix.add(rec('a', { channel: 'hl7v2' }));
    ix.add(rec('b', { stage: 'engine' }));
    ix.markRedriven('a', { at: 1, eventIds: ['e'], corrected: false });
    ix.add(rec('a', { channel: 'hl7v2' }));
    expect(ix.list({ channel: 'hl7v2' }).map((e) => [e.reject.rejectId, e.redrives.length])).toEqual([['a', 1]]);
    expect(ix.list({ stage: 'engine' }).map((e) => e.reject.rejectId)).toEqual(['b']);
    expect(ix.list({ limit: 1 })).toHaveLength(1);
  });
});
