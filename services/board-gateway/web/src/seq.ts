// Per-ward sequence numbers: every board update for a ward carries seq = previous + 1.
// A snapshot sets the baseline; an update at or below it is stale (already reflected);
// exactly one above is applied; more than one above means updates were missed, so the
// client re-joins its rooms and the server re-sends a snapshot.

export type SeqVerdict = 'apply' | 'stale' | 'gap';

export function classifyUpdate(last: number | undefined, seq: number): SeqVerdict {
  if (last === undefined) return 'apply';
  if (seq <= last) return 'stale';
  if (seq === last + 1) return 'apply';
  return 'gap';
}
