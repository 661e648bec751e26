// Batch commits: the changes of a run of consecutive events (one partition, one site),
// netted and encoded for one call of lua/applyBatch-1.lua. Pure: no I/O.
//
// Netting keeps the final state of every key exactly as applying the ops one by one
// would leave it: a patient's state is written once (its last), counter increments are
// summed (a field at 0 is deleted, as one by one), and sorted-set and set membership
// keep the last op per member, and a patient's history ops (keep the first n events,
// append some) are folded into one. Alert ops (raise, acknowledge, own, move, resolve) read what they
// change, so they stay in order; they touch only alert keys, the alert index and the
// outbox, and counters' seq (an increment, which commutes). A patient's due-time steps
// ('due') on one due set are joined in order into one op (the script folds them and writes
// the patient's member at most once).

export type OpKind = 'set' | 'hist' | 'hincr' | 'zadd' | 'zrem' | 'sadd' | 'srem' | 'due' | 'raise' | 'ack' | 'own' | 'move' | 'resolve';

/** One change to one key. `refs`: other keys the op writes (alert index, outbox, counters), passed by index. */
export interface KeyedOp { op: OpKind; key: string; a: string; b: string; refs?: string[] }

const REF_COUNT: Partial<Record<OpKind, number>> = { raise: 4, ack: 1, own: 1, move: 1, resolve: 2 };
const US = '\u001f';
/** Separates the event JSONs of a history op ('hist': a = events kept, b = events appended). */
export const RS = '\u001e';

/**
 * A patient's next due time after one event (key: the site's due set, a: the patient id):
 * `low` the earliest due time of the clocks the event started or moved (undefined: none),
 * `kept` the due times of the clocks that run on unchanged and were not raised by it. The
 * script takes the member's score `cur` (none = no clock pending) to min(low, the least of
 * `kept` at or after `cur`): the clocks before `cur` were raised or dropped already, the
 * event's new ones count whenever they fall due (lua/due.lua).
 */
export function dueOp(key: string, patientId: string, low: number | undefined, kept: readonly number[]): KeyedOp {
  return { op: 'due', key, a: patientId, b: `${low === undefined ? '' : String(low)};${kept.join(',')}` };
}

/** Steps of a 'due' op: "low;k,k" each, joined by '|' (several events of one run). */
function invalidDueSteps(b: string): string | undefined {
  for (const step of b.split('|')) {
    const semi = step.indexOf(';');
    if (semi < 0) return 'due step without its separator';
    const low = step.slice(0, semi);
    if (low !== '' && !isNumber(low)) return 'due with a non-number time';
    const kept = step.slice(semi + 1);
    if (kept !== '') for (const k of kept.split(',')) if (!isNumber(k)) return 'due with a non-number time';
  }
  return undefined;
}

/** A history op: keep the first `keep` items of the patient's history list, then append `items`. */
export function historyOp(key: string, keep: number, items: readonly string[]): KeyedOp {
  return { op: 'hist', key, a: String(keep), b: items.join(RS) };
}

const isNumber = (s: string): boolean => s.trim() !== '' && Number.isFinite(Number(s));

/** Why Redis would refuse this op, or undefined when it is well formed. Checked before any call (once per op: no arrays made). */
export function invalidOp(o: KeyedOp): string | undefined {
  if (!(o.op in KIND)) return `unknown op ${String(o.op)}`;
  if (typeof o.key !== 'string' || o.key === '') return `op ${o.op} names no key`;
  if (typeof o.a !== 'string' || typeof o.b !== 'string') return `op ${o.op} has a non-string argument`;
  const refs = o.refs;
  if ((refs?.length ?? 0) !== (REF_COUNT[o.op] ?? 0)) return `op ${o.op} has bad key references`;
  if (refs) for (let i = 0; i < refs.length; i++) if (typeof refs[i] !== 'string' || refs[i] === '') return `op ${o.op} has bad key references`;
  switch (o.op) {
    case 'hincr': return isNumber(o.b) && Number.isInteger(Number(o.b)) ? undefined : 'hincr by a non-integer';
    case 'zadd': return isNumber(o.b) ? undefined : 'zadd with a non-number score';
    case 'due': return o.a === '' ? 'due of no patient' : invalidDueSteps(o.b);
    case 'resolve': return isNumber(o.a) ? undefined : 'resolve at a non-number time';
    case 'set': return o.a === '' ? 'set of an empty value' : undefined;
    case 'hist':
      if (!(isNumber(o.a) && Number.isInteger(Number(o.a)) && Number(o.a) >= 0)) return 'hist keeps a non-count';
      // An empty item among several: a separator at either end or two in a row.
      if (o.b.startsWith(RS) || o.b.endsWith(RS) || o.b.includes(RS + RS)) return 'hist appends an empty event';
      return undefined;
    case 'raise': {
      const i = o.b.indexOf(US);
      const j = i < 0 ? -1 : o.b.indexOf(US, i + 1);
      const last = j < 0 ? '' : o.b.slice(j + 1);
      if (j < 0 || last.includes(US) || !isNumber(o.b.slice(0, i)) || !(last === '-' || isNumber(last))) return 'raise without its time, id and escalation time';
      return o.a.startsWith('{') ? undefined : 'raise with a value that is not a JSON object';
    }
    case 'ack': case 'own': case 'move':
      return o.a.startsWith('{') ? undefined : `${o.op} with a value that is not a JSON object`;
    default: return undefined;
  }
}

const KIND: Record<OpKind, true> = { set: true, hist: true, hincr: true, zadd: true, zrem: true, sadd: true, srem: true, due: true, raise: true, ack: true, own: true, move: true, resolve: true };


function countItems(b: string): number {
  let n = 1;
  for (let i = b.indexOf(RS); i >= 0; i = b.indexOf(RS, i + 1)) n++;
  return n;
}

/** The ops of a run after netting, in the order the script applies them. */
export function netOps(ops: readonly KeyedOp[]): KeyedOp[] {
  const sets = new Map<string, KeyedOp>();
  const histories = new Map<string, { keep: number; b: string; n: number }>();
  // By key, then field or member: no joined strings to build and hash per op.
  const counters = new Map<string, Map<string, number>>();
  const members = new Map<string, Map<string, KeyedOp>>();
  // Due steps by key, then patient: applied in order by the script, so they are joined in order.
  const dues = new Map<string, Map<string, string>>();
  const ordered: KeyedOp[] = [];
  for (const o of ops) {
    switch (o.op) {
      case 'set': sets.delete(o.key); sets.set(o.key, o); break;
      case 'hist': {
        // Each op is relative to the list the one before left: keep k of it, append some.
        const keep = Number(o.a);
        const n = o.b === '' ? 0 : countItems(o.b);
        const h = histories.get(o.key);
        if (h?.keep === Number.MAX_SAFE_INTEGER) break;
        if (!h || keep <= h.keep) histories.set(o.key, { keep, b: o.b, n });
        // Keeping more than the list would hold: Redis refuses it, as it would the op alone.
        else if (keep > h.keep + h.n) histories.set(o.key, { keep: Number.MAX_SAFE_INTEGER, b: '', n: 0 });
        else if (keep === h.keep + h.n) histories.set(o.key, { keep: h.keep, b: h.b === '' ? o.b : o.b === '' ? h.b : h.b + RS + o.b, n: h.n + n });
        else {
          // Keeps part of what the earlier op appended (rare: a late event after an append).
          const kept = h.b.split(RS).slice(0, keep - h.keep);
          if (o.b !== '') kept.push(o.b);
          histories.set(o.key, { keep: h.keep, b: kept.join(RS), n: keep - h.keep + n });
        }
        break;
      }
      case 'hincr': {
        let c = counters.get(o.key);
        if (!c) { c = new Map(); counters.set(o.key, c); }
        c.set(o.a, (c.get(o.a) ?? 0) + Number(o.b));
        break;
      }
      case 'zadd': case 'zrem': case 'sadd': case 'srem': {
        // Sorted sets and sets are distinct keys; the last op on a member decides it. Ops on
        // different members (or keys) commute, so their order in the output does not matter.
        let m = members.get(o.key);
        if (!m) { m = new Map(); members.set(o.key, m); }
        m.set(o.a, o);
        break;
      }
      case 'due': {
        let m = dues.get(o.key);
        if (!m) { m = new Map(); dues.set(o.key, m); }
        const b = m.get(o.a);
        m.set(o.a, b === undefined ? o.b : `${b}|${o.b}`);
        break;
      }
      default: ordered.push(o);
    }
  }
  const out: KeyedOp[] = [];
  for (const o of sets.values()) out.push(o);
  for (const [key, h] of histories) out.push({ op: 'hist', key, a: String(h.keep), b: h.b });
  for (const m of members.values()) for (const o of m.values()) out.push(o);
  for (const [key, m] of dues) for (const [a, b] of m) out.push({ op: 'due', key, a, b });
  for (const [key, c] of counters) {
    // A net 0 still runs: a field left at 0 is deleted, as one by one would leave it.
    for (const [field, by] of c) out.push({ op: 'hincr', key, a: field, b: String(by) });
  }
  for (const o of ordered) out.push(o);
  return out;
}

/**
 * The site's state id a committer checks (lua/applyBatch-1.lua): the id it has seen in this
 * Redis for the site (undefined: none yet), and the id to record when the site has none.
 */
export interface StateIdCheck { seen: string | undefined; proposal: string }

/** KEYS and ARGV of one applyBatch call: offsets and fence keys first, then every key the ops name. */
export function encodeRun(args: { offsetsKey: string; fenceKey: string; field: string; first: string; last: string; epoch: number; stateId?: StateIdCheck; ops: readonly KeyedOp[] }): { keys: string[]; argv: string[] } {
  const keys = [args.offsetsKey, args.fenceKey];
  const index = new Map<string, number>();
  const k = (key: string): number => {
    let i = index.get(key);
    if (i === undefined) { keys.push(key); i = keys.length; index.set(key, i); }
    return i;
  };
  const argv = [args.field, args.first, args.last, args.stateId ? `${args.epoch}${US}${args.stateId.seen ?? '-'}${US}${args.stateId.proposal}` : String(args.epoch)];
  for (const o of netOps(args.ops)) {
    let b = o.b;
    if (o.refs?.length) {
      let refs = String(k(o.refs[0]!));
      for (let i = 1; i < o.refs.length; i++) refs += US + String(k(o.refs[i]!));
      b = o.b ? refs + US + o.b : refs;
    }
    argv.push(o.op, String(k(o.key)), o.a, b);
  }
  return { keys, argv };
}
