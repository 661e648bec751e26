// Netting a run's ops keeps every key's final value exactly as applying them one by one.
import fc from 'fast-check';
import { encodeRun, historyOp, invalidOp, netOps, RS, type KeyedOp } from './batch';

/** A model of the keys the ops touch, applied one op at a time (what Redis would hold). */
function applyAll(ops: readonly KeyedOp[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  const h = (k: string) => (m.get(k) as Map<string, number> | undefined) ?? m.set(k, new Map()).get(k) as Map<string, number>;
  const z = (k: string) => (m.get(k) as Map<string, number> | undefined) ?? m.set(k, new Map()).get(k) as Map<string, number>;
  const s = (k: string) => (m.get(k) as Set<string> | undefined) ?? m.set(k, new Set()).get(k) as Set<string>;
  for (const o of ops) {
    if (o.op === 'set') m.set(o.key, o.a);
    if (o.op === 'hist') {
      const list = (m.get(o.key) as string[] | undefined) ?? [];
      if (Number(o.a) > list.length) throw new Error(`refused: keep ${o.a} of ${list.length}`);
      m.set(o.key, [...list.slice(0, Number(o.a)), ...(o.b === '' ? [] : o.b.split(RS))]);
    }
    if (o.op === 'hincr') { const x = h(o.key); const v = (x.get(o.a) ?? 0) + Number(o.b); if (v === 0 && o.a !== 'seq') x.delete(o.a); else x.set(o.a, v); }
    if (o.op === 'zadd') z(o.key).set(o.a, Number(o.b));
    if (o.op === 'zrem') z(o.key).delete(o.a);
    if (o.op === 'due') {
      // As lua/due.lua: each step takes the time to min(low, the least kept time at or after it).
      const x = z(o.key);
      let cur = x.get(o.a);
      for (const step of o.b.split('|')) {
        const [low, kept] = step.split(';') as [string, string];
        let best = low === '' ? undefined : Number(low);
        if (cur !== undefined) for (const k of kept === '' ? [] : kept.split(',').map(Number)) if (k >= cur && (best === undefined || k < best)) best = k;
        cur = best;
      }
      if (cur === undefined) x.delete(o.a); else x.set(o.a, cur);
    }
    if (o.op === 'sadd') s(o.key).add(o.a);
    if (o.op === 'srem') s(o.key).delete(o.a);
  }
  const out = new Map<string, unknown>();
  for (const [k, v] of m) out.set(k, v instanceof Map ? [...v].sort() : v instanceof Set ? [...v].sort() : v);
  return out;
}

const opArb: fc.Arbitrary<KeyedOp> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('p:1', 'p:2'), a: fc.constantFrom('{"v":1}', '{"v":2}'), b: fc.constant('') }),
  fc.record({ op: fc.constant('hincr' as const), key: fc.constantFrom('c:W1', 'c:W2'), a: fc.constantFrom('occupied', 'seq', 'crfd'), b: fc.integer({ min: -2, max: 2 }).map(String) }),
  fc.record({ op: fc.constantFrom('zadd' as const, 'zrem' as const), key: fc.constantFrom('due', 'i:los'), a: fc.constantFrom('m1', 'm2', 'm3'), b: fc.integer({ min: 0, max: 9 }).map(String) }),
  fc.record({ op: fc.constantFrom('sadd' as const, 'srem' as const), key: fc.constantFrom('beds', 'wards'), a: fc.constantFrom('B1', 'B2'), b: fc.constant('') }),
  fc.record({
    op: fc.constant('due' as const), key: fc.constantFrom('due', 'due2'), a: fc.constantFrom('P1', 'P2'),
    b: fc.tuple(fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 })).map(([low, kept]) => `${low ?? ''};${kept.join(',')}`),
  }),
);

/**
 * Runs of a patient's history ops as the engine makes them: each keeps part of the list
 * the one before left (all of it: an event appended; less: a late event, a merge) and
 * appends events. `start`: the list's length before the run.
 */
const historyRunArb = (start: number): fc.Arbitrary<KeyedOp[]> => fc.array(fc.tuple(fc.constantFrom('h:1', 'h:2'), fc.nat(4), fc.nat(3), fc.boolean()), { maxLength: 30 }).map((steps) => {
  const len = new Map<string, number>([['h:1', start], ['h:2', start]]);
  let n = 0;
  return steps.map(([key, back, add, append]) => {
    const have = len.get(key)!;
    const keep = append ? have : Math.max(0, have - back);
    const items = Array.from({ length: add }, () => `{"e":${n++}}`);
    len.set(key, keep + add);
    return historyOp(key, keep, items);
  });
});

describe('batch ops', () => {
  it('netting a patient\'s history ops leaves the list one by one would', () => {
    const runs = fc.nat(3).chain((start) => historyRunArb(start).map((ops) => ({ start, ops })));
    fc.assert(fc.property(runs, ({ start, ops }) => {
      const stored = Array.from({ length: start }, (_, i) => `{"s":${i}}`);
      const before = [historyOp('h:1', 0, stored), historyOp('h:2', 0, stored)];
      const net = netOps(ops);
      expect(net.filter((o) => o.op === 'hist').length).toBeLessThanOrEqual(2);
      expect(applyAll([...before, ...net])).toEqual(applyAll([...before, ...ops]));
    }), { numRuns: 800, seed: 5 });
    // Appends stay appends: keep the list, add the events in order.
    expect(netOps([historyOp('h', 3, ['{"a":1}']), historyOp('h', 4, ['{"a":2}']), historyOp('h', 5, [])])).toEqual([historyOp('h', 3, ['{"a":1}', '{"a":2}'])]);
    // Keeping more than the list would hold is refused whole, whatever follows.
    expect(netOps([historyOp('h', 0, ['{"a":1}']), historyOp('h', 2, []), historyOp('h', 0, [])])[0]!.a).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('netting keeps the final value of every key', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      expect(applyAll(netOps(ops))).toEqual(applyAll(ops));
    }), { numRuns: 500, seed: 4 });
  });

  it('keeps alert ops in order and writes each patient once', () => {
    const raise = (id: string): KeyedOp => ({ op: 'raise', key: `a:${id}`, a: '{}', b: `1\u001f${id}\u001f1801`, refs: ['alerts', 'out', 'c:W1', 'esc'] });
    const ops: KeyedOp[] = [raise('x'), { op: 'set', key: 'p:1', a: 'old', b: '' }, { op: 'resolve', key: 'a:x', a: '5', b: '', refs: ['alerts', 'out'] }, { op: 'set', key: 'p:1', a: 'new', b: '' }, raise('y')];
    const net = netOps(ops);
    expect(net.filter((o) => o.op === 'set')).toEqual([{ op: 'set', key: 'p:1', a: 'new', b: '' }]);
    expect(net.filter((o) => o.op !== 'set').map((o) => `${o.op}:${o.key}`)).toEqual(['raise:a:x', 'resolve:a:x', 'raise:a:y']);
    const { keys, argv } = encodeRun({ offsetsKey: 'off', fenceKey: 'fen', field: 't:0', first: '3', last: '7', epoch: 2, ops });
    expect(keys.slice(0, 2)).toEqual(['off', 'fen']);
    expect(argv.slice(0, 4)).toEqual(['t:0', '3', '7', '2']);
    // References become key indexes, then the op's own arguments.
    const r = argv.indexOf('raise');
    expect(argv[r + 3]!.split('\u001f')).toEqual([String(keys.indexOf('alerts') + 1), String(keys.indexOf('out') + 1), String(keys.indexOf('c:W1') + 1), String(keys.indexOf('esc') + 1), '1', 'x', '1801']);
  });

  it('names what Redis would refuse before the call', () => {
    expect(invalidOp({ op: 'hincr', key: 'c', a: 'f', b: '1.5' })).toBe('hincr by a non-integer');
    expect(invalidOp({ op: 'zadd', key: 'z', a: 'm', b: 'NaN' })).toBe('zadd with a non-number score');
    expect(invalidOp({ op: 'resolve', key: 'a', a: '5', b: '', refs: ['x'] })).toBe('op resolve has bad key references');
    expect(invalidOp({ op: 'frob' as KeyedOp['op'], key: 'k', a: '', b: '' })).toBe('unknown op frob');
    expect(invalidOp({ op: 'set', key: '', a: 'x', b: '' })).toBe('op set names no key');
    expect(invalidOp({ op: 'zadd', key: 'z', a: 'm', b: '3' })).toBeUndefined();
    expect(invalidOp({ op: 'hist', key: 'h', a: '-1', b: '' })).toBe('hist keeps a non-count');
    expect(invalidOp({ op: 'hist', key: 'h', a: '2', b: `{}${RS}` })).toBe('hist appends an empty event');
    expect(invalidOp(historyOp('h', 2, ['{}', '{}']))).toBeUndefined();
    expect(invalidOp({ op: 'hist', key: 'h', a: '2', b: `{}${RS}${RS}{}` })).toBe('hist appends an empty event');
    expect(invalidOp({ op: 'hist', key: 'h', a: '2', b: `${RS}{}` })).toBe('hist appends an empty event');
    expect(invalidOp({ op: 'hist', key: 'h', a: '0', b: '' })).toBeUndefined();
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: 'x\u001fx\u001f-', refs: ['i', 'o', 'c', 'e'] })).toBe('raise without its time, id and escalation time');
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: '1\u001fx\u001f-\u001f2', refs: ['i', 'o', 'c', 'e'] })).toBe('raise without its time, id and escalation time');
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: '1\u001fx\u001fsoon', refs: ['i', 'o', 'c', 'e'] })).toBe('raise without its time, id and escalation time');
    expect(invalidOp({ op: 'raise', key: 'a', a: '[]', b: '1\u001fx\u001f5', refs: ['i', 'o', 'c', 'e'] })).toBe('raise with a value that is not a JSON object');
    expect(invalidOp({ op: 'move', key: 'a', a: 'x', b: '', refs: ['o'] })).toBe('move with a value that is not a JSON object');
    // A raise names when the alert first escalates ('-': never), with the schedule's key.
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: '1\u001fx', refs: ['i', 'o', 'c', 'e'] })).toBe('raise without its time, id and escalation time');
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: '1\u001fx\u001f-', refs: ['i', 'o', 'c'] })).toBe('op raise has bad key references');
    expect(invalidOp({ op: 'raise', key: 'a', a: '{}', b: '1\u001fx\u001f-', refs: ['i', 'o', 'c', 'e'] })).toBeUndefined();
  });
});
