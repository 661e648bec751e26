// Per-ward sequence numbers: the ward's change counter. A snapshot sets the baseline; an
// update at or below it is stale (already reflected); exactly one above is the next
// change; more than one above ('gap') is a batch of changes. Updates carry the ward's
// whole summary, so a gap is applied like any newer update.

export type SeqVerdict = 'apply' | 'stale' | 'gap';

export function classifyUpdate(last: number | undefined, seq: number): SeqVerdict {
  if (last === undefined) return 'apply';
  if (seq <= last) return 'stale';
  if (seq === last + 1) return 'apply';
  return 'gap';
}
