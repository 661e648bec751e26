// FlowStore: the Redis materialised view of flow state. State changes go through the
// Lua scripts in src/lua (atomic, offset-guarded); reads are plain pipelined commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Alert, PatientRow, WardSummary } from '@pfm/contracts';
import {
  admissionWaiting, type AdmissionWaiting, crfdDelayDays, firstEscalationAt, dayStartIn, diffFacts, facts, fold, followUpDue, type FollowUpDue, oapSince, spellOutOfArea, type Fact, type Timer, losCrossingAt, losDays, losRulesFor, movedClocks, thresholdsForSite, timers, timersAfter, type ClockScope, type DomainContext, type PatientState, type PatientView, type Thresholds,
} from '@pfm/flow-domain';
import { dueOp, encodeRun, historyOp, type KeyedOp, type StateIdCheck } from './batch';
import { Keys } from './keys';
import type { WardRegistry } from './registry';

export const SCRIPTS = {
  applyPatient: { name: 'pfmApplyPatient1', file: 'applyPatient-1.lua' },
  applyBatch: { name: 'pfmApplyBatch1', file: 'applyBatch-1.lua' },
  raiseAlert: { name: 'pfmRaiseAlert1', file: 'raiseAlert-1.lua' },
  raiseAlerts: { name: 'pfmRaiseAlerts1', file: 'raiseAlerts-1.lua' },
  raiseDue: { name: 'pfmRaiseDue1', file: 'raiseDue-1.lua' },
  escalateAlert: { name: 'pfmEscalateAlert1', file: 'escalateAlert-1.lua' },
} as const;

export const APPLIED_BEFORE = -1;

/** A patient's view with what it contributes to aggregates and the clocks it runs. */
export interface Derived { view: PatientView; facts: Fact[]; timers: Timer[] }

/** One event's change: the per-event script call (keys, argv) and the same change as keyed ops for a batch commit. */
export interface ApplyPlan {
  site: string; patientKey: string; offsetField: string; offset: string;
  /** The patient's new state JSON without its events ('' = unchanged); the events are the 'hist' op of `changes`. */
  state: string;
  scopes: string[];
  /** Every change as keyed ops, the patient's state and history first when it changed. */
  changes: KeyedOp[];
}

/** What a batch commit came to: applied, refused because (part of) the run was applied before, or refused because another owner holds the partition. */
export type RunOutcome =
  | { status: 'applied'; ops: number; micros: number; stateId?: string }
  | { status: 'applied-before'; applied: string }
  | { status: 'fenced'; owner: number }
  /** The site's state id the caller had seen is gone (or another): Redis lost the state since. */
  | { status: 'state-lost' };

const CLAIM_FENCE = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if cur < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return cur`;

interface ScriptedRedis {
  pfmApplyPatient1(numKeys: number, ...args: string[]): Promise<number>;
  pfmRaiseAlert1(numKeys: number, ...args: string[]): Promise<number>;
  pfmRaiseAlerts1(numKeys: number, ...args: string[]): Promise<number[]>;
  pfmRaiseDue1(numKeys: number, ...args: string[]): Promise<(number | number[])[]>;
  pfmLoadStamped1(numKeys: number, ...args: string[]): Promise<[string | null, string[], string][]>;
  pfmEscalateAlert1(numKeys: number, ...args: string[]): Promise<number>;
  pfmApplyBatch1(numKeys: number, ...args: string[]): Promise<[number, number, number?, string?]>;
  pfmLoadPatients1(numKeys: number, ...args: string[]): Promise<[string | null, string[]][]>;
}
type ScriptedPipeline = ChainableCommander & {
  pfmApplyPatient1(numKeys: number, ...args: string[]): ChainableCommander;
  pfmRaiseAlert1(numKeys: number, ...args: string[]): ChainableCommander;
};

const LUA_DIR = join(__dirname, 'lua');

/**
 * A script's text as Redis runs it: each line `--#include <file>.lua` replaced by that
 * fragment of src/lua (the alert changes the scripts share). The same files give the
 * same text, so a script's SHA changes only with its content.
 */
export function scriptSource(file: string): string {
  return readFileSync(join(LUA_DIR, file), 'utf8')
    .replace(/^--#include ([\w.-]+\.lua)$/gm, (_, fragment: string) => readFileSync(join(LUA_DIR, fragment), 'utf8').trimEnd());
}

/**
 * Reads patients in one call: for each of the n patients, its state (KEYS[i]) and its
 * history list (KEYS[n + i]), as { state or nil, items }. One command where a pipeline
 * of a GET and an LRANGE per patient would write each to the socket (the scanner reads
 * patients one at a time).
 */
const LOAD_PATIENTS = `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  out[i] = { redis.call('GET', KEYS[i]), redis.call('LRANGE', KEYS[n + i], 0, -1) }
end
return out`;
const LOAD_PATIENTS_NAME = 'pfmLoadPatients1';

/**
 * As LOAD_PATIENTS, with each patient's stamp: the SHA-1 of its state and history as
 * Redis holds them (the state, US, the history's items joined by RS). raiseDue-1.lua
 * computes the same and writes nothing for a patient whose stamp changed since.
 */
const LOAD_STAMPED = `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local state = redis.call('GET', KEYS[i])
  local items = redis.call('LRANGE', KEYS[n + i], 0, -1)
  out[i] = { state, items, redis.sha1hex((state or '') .. '\\31' .. table.concat(items, '\\30')) }
end
return out`;
const LOAD_STAMPED_NAME = 'pfmLoadStamped1';

export function defineScripts(redis: Redis): void {
  for (const s of Object.values(SCRIPTS)) {
    if ((redis as unknown as Record<string, unknown>)[s.name]) continue;
    redis.defineCommand(s.name, { lua: scriptSource(s.file) });
  }
  if (!(redis as unknown as Record<string, unknown>)[LOAD_PATIENTS_NAME]) redis.defineCommand(LOAD_PATIENTS_NAME, { lua: LOAD_PATIENTS });
  if (!(redis as unknown as Record<string, unknown>)[LOAD_STAMPED_NAME]) redis.defineCommand(LOAD_STAMPED_NAME, { lua: LOAD_STAMPED });
}

const DUE_SEP = '\u001f';

/** Index of the last timer with this alert id, or -1. */
function lastTimer(list: readonly Timer[], alertId: string): number {
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.alertId === alertId) return i;
  return -1;
}

/** The consumer group every engine process reads the alert outbox through. */
export const OUTBOX_GROUP = 'publisher';

/** One alert change in the outbox: its stream id and the alert (null if the entry is gone). */
export interface OutboxEntry { id: string; alert: Alert | null }

const MOVE_LEGACY_OUTBOX = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'list' then return 0 end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for _, v in ipairs(items) do redis.call('XADD', KEYS[2], '*', 'a', v) end
redis.call('DEL', KEYS[1])
return #items`;

/** A patient's state JSON as one value (its events in it), from the state and its history list. */
function withHistory(raw: string, items: string[]): string {
  const state = JSON.parse(raw) as PatientState;
  if (state.events.length || !items.length) return raw;
  state.events = JSON.parse(`[${items.join(',')}]`) as PatientState['events'];
  return JSON.stringify(state);
}

function parseEntries(raw: [string, string[] | null][]): OutboxEntry[] {
  return raw.map(([id, fields]) => {
    const i = fields ? fields.indexOf('a') : -1;
    return { id, alert: i >= 0 && fields ? (JSON.parse(fields[i + 1]!) as Alert) : null };
  });
}

/**
 * Fills a store's keys on first use. A time-travel sandbox restored from a snapshot "on
 * demand" (@pfm/flow-processing) holds the aggregates at once, and each patient's and
 * alert's value is copied in when one of this store's own methods first reads or writes
 * that key: a board at T reads a few hundred of the tens of thousands of keys a year of
 * history leaves. Reads by pattern (dump, every alert kept) fill every key first.
 */
export interface KeyFiller {
  /**
   * Copies in the values of those of these keys not filled yet (before they are read or
   * written). The copies are sent on the store's own connection before fill() returns, so
   * a command the store sends after calling it runs after them.
   */
  fill(keys: readonly string[]): Promise<void>;
  /** Copies in every key not filled yet. */
  fillAll(): Promise<void>;
  /** True when one of these keys is still to be filled (calls that queue on a pipeline cannot wait: they refuse). */
  pending(keys: readonly string[]): boolean;
}

/**
 * True when two states have the same fields apart from their history: the same values (the
 * arrays of parked and rejected events are replaced, never changed in place, by evolve and
 * merges), so their JSON without events is the same text.
 */
function sameRest(a: PatientState, b: PatientState): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const k in x) if (k !== 'events' && x[k] !== y[k]) return false;
  for (const k in y) if (k !== 'events' && y[k] !== undefined && !(k in x)) return false;
  return true;
}

export class FlowStore {
  /** Set while the store's keys are filled on first use (see KeyFiller); cleared by clear(). */
  filler: KeyFiller | undefined;

  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
    readonly registry: WardRegistry,
    readonly thresholds: Thresholds,
  ) {
    defineScripts(redis);
  }

  private readonly contexts = new Map<string, DomainContext>();

  /** Domain context for one site (ward types come from that site's registry, asked at each call). Made once per site. */
  ctxFor(site: string): DomainContext {
    let ctx = this.contexts.get(site);
    if (!ctx) {
      ctx = { thresholds: thresholdsForSite(this.thresholds, site), wardType: (ward) => this.registry.typeOf(site, ward), external: (ward) => this.registry.external(site, ward) };
      this.contexts.set(site, ctx);
    }
    return ctx;
  }

  /** Makes sure these keys hold their values before they are read or written (a no-op unless a KeyFiller is set). */
  async need(keys: readonly string[]): Promise<void> {
    if (this.filler) await this.filler.fill(keys);
  }

  /**
   * Runs `command` (sent on this store's connection) with these keys filled: the filler
   * sends its copies on the same connection before `command` is sent, and one connection
   * runs commands in order, so the command need not wait for the copies' replies.
   */
  private async withKeys<T>(keys: readonly string[], command: () => Promise<T>): Promise<T> {
    if (!this.filler) return command();
    // Under Redis Cluster a pipeline may wait for the slot map: wait for the copies.
    if ((this.redis as unknown as { isCluster?: boolean }).isCluster) { await this.filler.fill(keys); return command(); }
    const filled = this.filler.fill(keys);
    filled.catch(() => undefined); // awaited below: a failed copy fails the call
    const out = await command();
    await filled;
    return out;
  }

  private refuseUnfilled(keys: readonly string[]): void {
    if (this.filler?.pending(keys)) throw new Error('a change queued on a pipeline would touch keys not filled yet: call need() with them first');
  }

  /**
   * States read in the form written before a patient's history had its own list (every
   * event in the state's JSON): their next write rewrites the history whole (migration on
   * first touch), never appends to a list that does not hold it.
   */
  private readonly wholeStates = new WeakSet<PatientState>();

  async loadPatients(refs: { site: string; patientId: string }[]): Promise<(PatientState | null)[]> {
    if (refs.length === 0) return [];
    const keys = refs.map((r) => this.keys.patient(r.site, r.patientId));
    const histories = refs.map((r) => this.keys.history(r.site, r.patientId));
    const all = [...keys, ...histories];
    const res = await this.withKeys(all, () => (this.redis as unknown as ScriptedRedis).pfmLoadPatients1(all.length, ...all));
    return res.map(([raw, items]) => {
      if (!raw) return null;
      const state = JSON.parse(raw) as PatientState;
      if (state.events.length) this.wholeStates.add(state);
      else if (items.length) state.events = JSON.parse(`[${items.join(',')}]`) as PatientState['events'];
      return state;
    });
  }

  /**
   * Writes a patient's state (returns '' when its key need not be written): the state without its events (`events: []`, so the JSON keeps
   * its shape and key order) and the history list from the first event that differs from
   * `prior`'s (the state as stored before, or as the same commit left it): an event that
   * extends the history appends one item. Without `prior` (or one read in the old form)
   * the whole history is written. Returns the state's JSON.
   */
  private stateOps(changes: KeyedOp[], site: string, patientId: string, state: PatientState, prior: PatientState | undefined): string {
    const before = prior && !this.wholeStates.has(prior) ? prior.events : undefined;
    // A prior with a history is stored (its state key written with it): when nothing but the
    // history changed, the stored JSON is already this state's, and only the history is written.
    const unchanged = before !== undefined && before.length > 0 && sameRest(state, prior!);
    const rest = unchanged ? '' : JSON.stringify({ ...state, events: [] });
    if (!unchanged) changes.push({ op: 'set', key: this.keys.patient(site, patientId), a: rest, b: '' });
    const events = state.events;
    let keep = 0;
    if (before) {
      const most = Math.min(before.length, events.length);
      while (keep < most && before[keep] === events[keep]) keep++;
      if (keep === before.length && keep === events.length) return rest;
    }
    const items: string[] = [];
    for (let i = keep; i < events.length; i++) items.push(JSON.stringify(events[i]));
    changes.push(historyOp(this.keys.history(site, patientId), keep, items));
    return rest;
  }

  /**
   * What a patient's view contributes and which clocks it runs (computed once per state,
   * cacheable). `since`: the derived state before one event and that event's clock scope
   * (`clockScope`): only the clocks of that spell or referral are computed again, the
   * others kept (`timersAfter`). Give it only when the view is the one before plus that
   * event alone (no parked events released, no merge, a history that folded clean).
   */
  derive(site: string, patientId: string, view: PatientView, since?: { prior: Derived; scope: ClockScope | undefined }): Derived {
    const ctx = this.ctxFor(site);
    const clocks = since ? timersAfter(site, patientId, view, ctx, since.prior.timers, since.scope) : timers(site, patientId, view, ctx);
    return { view, facts: facts(patientId, view, ctx), timers: clocks };
  }

  /**
   * Plans the script call that moves a patient from `before` to `after`: new state,
   * aggregate differences, clock changes, offset guard. `state` null = state unchanged
   * (duplicates and rejects still record their offset). `prior`: the state `state` follows
   * (as read from this store or planned before it in the same commit), so that only the
   * events after the part of the history they share are written; absent = all of them.
   */
  planApply(args: {
    site: string; patientId: string; before: Derived | PatientView; after: Derived | PatientView; state: PatientState | null; prior?: PatientState;
    offsetField: string; offset: string; acknowledge?: { alertId: string; by: string; at: number; note?: string };
    /** A named person takes (or is given) the alert: written on the alert, a new version to the outbox. */
    own?: { alertId: string; name: string; by: string; at: number };
    /** Event time of the change: alerts whose clock it stops are resolved at this time. */
    at?: number;
    /** Other patients of the same site this event changes (A40: the retired record), committed in the same call. */
    also?: { patientId: string; before: Derived | PatientView; after: Derived | PatientView; state: PatientState }[];
    /** Clocks of `before` whose alerts the same commit raises (the engine fires them at this event): no longer to fire. */
    fired?: readonly string[];
  }): ApplyPlan {
    const { site, patientId } = args;
    const keys = this.keys;
    const before = this.asDerived(site, patientId, args.before);
    const after = args.after === args.before ? before : this.asDerived(site, patientId, args.after);
    const changes: KeyedOp[] = [];
    const scopes = new Set<string>();
    // The patient's own state first: a batch commit nets it with the rest; the per-event script takes it apart.
    const state = args.state ? this.stateOps(changes, site, patientId, args.state, args.prior) : '';
    if (before !== after) this.diffInto(changes, scopes, site, patientId, before, after, args.at, args.fired);
    else if (args.fired?.length) this.dueInto(changes, site, patientId, before.timers, before.timers, args.fired);
    // Other patients changed by the same event (the record an A40 merge retires), in the same atomic call.
    for (const o of args.also ?? []) {
      this.diffInto(changes, scopes, site, o.patientId, this.asDerived(site, o.patientId, o.before), this.asDerived(site, o.patientId, o.after), args.at, undefined);
      this.stateOps(changes, site, o.patientId, o.state, undefined);
      if (o.state.parked.length === 0) changes.push({ op: 'zrem', key: keys.parked(site), a: o.patientId, b: '' });
    }
    if (args.state && (args.state.parked.length || (before !== after && args.state.parked.length === 0))) {
      if (args.state.parked.length) changes.push({ op: 'zadd', key: keys.parked(site), a: patientId, b: String(Math.min(...args.state.parked.map((p) => p.parkedAt))) });
      else changes.push({ op: 'zrem', key: keys.parked(site), a: patientId, b: '' });
    }
    if (args.acknowledge) {
      const { alertId, ...ack } = args.acknowledge;
      changes.push({ op: 'ack', key: keys.alert(site, alertId), a: JSON.stringify(ack), b: '', refs: [keys.alertOutbox(site)] });
    }
    if (args.own) {
      const { alertId, ...owner } = args.own;
      changes.push({ op: 'own', key: keys.alert(site, alertId), a: JSON.stringify(owner), b: '', refs: [keys.alertOutbox(site)] });
    }
    for (const scope of scopes) changes.push({ op: 'hincr', key: keys.counts(site, scope), a: 'seq', b: '1' });
    return { site, patientKey: keys.patient(site, patientId), offsetField: args.offsetField, offset: args.offset, state, scopes: [...scopes], changes };
  }

  private asDerived(site: string, patientId: string, d: Derived | PatientView): Derived {
    return 'facts' in d && 'timers' in d && 'view' in d ? (d as Derived) : this.derive(site, patientId, d as PatientView);
  }

  /**
   * The patient's next due time after an event (a 'due' op, lua/due.lua), when its clocks
   * changed or some were fired: the earliest due time of the clocks started or moved, and
   * the due times of those that run on unchanged and were not fired. With a repeated id
   * the last one counts. No op when nothing changes for the due set.
   */
  private dueInto(changes: KeyedOp[], site: string, pid: string, tb: readonly Timer[], ta: readonly Timer[], fired: readonly string[] | undefined): void {
    let low: number | undefined;
    let changed = false;
    const kept: number[] = [];
    for (let i = 0; i < ta.length; i++) {
      const t = ta[i]!;
      if (lastTimer(ta, t.alertId) !== i) continue;
      const j = lastTimer(tb, t.alertId);
      if (j < 0 || tb[j]!.dueAt !== t.dueAt) { changed = true; if (low === undefined || t.dueAt < low) low = t.dueAt; continue; }
      if (fired?.includes(t.alertId)) { changed = true; continue; }
      kept.push(t.dueAt);
    }
    if (!changed && tb !== ta) {
      // A clock stopped: the next due time may move on.
      for (let i = 0; i < tb.length && !changed; i++) if (lastTimer(tb, tb[i]!.alertId) === i && lastTimer(ta, tb[i]!.alertId) < 0) changed = true;
    }
    if (changed) changes.push(dueOp(this.keys.due(site), pid, low, kept));
  }

  /** The ops moving one patient's aggregates and clocks from `b` to `a` (scopes touched are added to `scopes`). */
  private diffInto(changes: KeyedOp[], scopes: Set<string>, site: string, pid: string, b: Derived, a: Derived, at: number | undefined, fired: readonly string[] | undefined): void {
    const keys = this.keys;
    for (const op of diffFacts(b.facts, a.facts)) {
      if (!scopes.has(op.scope)) {
        scopes.add(op.scope);
        // Register the ward or team the first time it is touched (sets are idempotent).
        if (op.scope.startsWith('ward:')) changes.push({ op: 'sadd', key: keys.wards(site), a: op.scope.slice(5), b: '' });
        else if (op.scope.startsWith('team:')) changes.push({ op: 'sadd', key: keys.teams(site), a: op.scope.slice(5), b: '' });
      }
      switch (op.op) {
        case 'incr': changes.push({ op: 'hincr', key: keys.counts(site, op.scope), a: op.name, b: String(op.by) }); break;
        case 'zadd': changes.push({ op: 'zadd', key: keys.index(site, op.scope, op.index), a: op.member, b: String(op.score) }); break;
        case 'zrem': changes.push({ op: 'zrem', key: keys.index(site, op.scope, op.index), a: op.member, b: '' }); break;
        // A set of "bed<US>patient|spell" entries, not a bed->patient hash: concurrent partitions
        // may apply a double-booking in any order, and set updates commute.
        case 'bedset': changes.push({ op: 'sadd', key: keys.beds(site, op.scope), a: `${op.bed}${DUE_SEP}${op.member}`, b: '' }); break;
        case 'beddel': changes.push({ op: 'srem', key: keys.beds(site, op.scope), a: `${op.bed}${DUE_SEP}${op.member}`, b: '' }); break;
      }
    }
    if (b.timers === a.timers) {
      if (fired?.length) this.dueInto(changes, site, pid, b.timers, a.timers, fired);
      return;
    }
    // A handful of clocks per patient: plain scans, no maps. With a repeated id the last one counts.
    const tb = b.timers;
    const ta = a.timers;
    this.dueInto(changes, site, pid, tb, ta, fired);
    for (let i = 0; i < tb.length; i++) {
      const t = tb[i]!;
      const id = t.alertId;
      if (lastTimer(tb, id) !== i || lastTimer(ta, id) >= 0) continue;
      if (t.rule === 'followup_missed') changes.push({ op: 'zrem', key: keys.followups(site), a: `${pid}${DUE_SEP}${id}`, b: '' });
      // The clock stopped: an alert it raised is no longer true.
      if (at !== undefined) changes.push({ op: 'resolve', key: keys.alert(site, id), a: String(at), b: '', refs: [keys.alerts(site), keys.alertOutbox(site)] });
    }
    for (let i = 0; i < ta.length; i++) {
      const t = ta[i]!;
      if (t.rule !== 'followup_missed' || lastTimer(ta, t.alertId) !== i) continue;
      const j = lastTimer(tb, t.alertId);
      if (j < 0 || tb[j]!.dueAt !== t.dueAt) changes.push({ op: 'zadd', key: keys.followups(site), a: `${pid}${DUE_SEP}${t.alertId}`, b: String(t.dueAt) });
    }
    // A clock that runs on but names another ward, team or area (a transfer): the alert it
    // raised, if any, follows the patient (same alert, next version; nothing when not raised).
    for (const m of movedClocks(tb, ta)) changes.push({ op: 'move', key: keys.alert(site, m.alertId), a: JSON.stringify(m.place), b: '', refs: [keys.alertOutbox(site)] });
  }

  /** Every key a plan's script call reads or writes. */
  keysOf(plan: ApplyPlan): string[] { return this.perEventCall(plan).keys; }

  /** KEYS and ARGV of the per-event script (applyPatient-1.lua) for a plan. */
  private perEventCall(plan: ApplyPlan): { keys: string[]; argv: string[] } {
    const keys: string[] = [plan.patientKey, this.keys.offsets(plan.site)];
    const index = new Map<string, number>(keys.map((key, i) => [key, i + 1]));
    const k = (key: string): number => {
      let i = index.get(key);
      if (i === undefined) { keys.push(key); i = keys.length; index.set(key, i); }
      return i;
    };
    const argv = [plan.offsetField, plan.offset, plan.state];
    for (const c of plan.changes) {
      if (c.op === 'set' && c.key === plan.patientKey) continue;
      const b = c.op === 'resolve' ? c.refs!.map(k).join(',') : c.op === 'ack' || c.op === 'own' || c.op === 'move' ? String(k(c.refs![0]!)) : c.b;
      argv.push(c.op, String(k(c.key)), c.a, b);
    }
    return { keys, argv };
  }

  /**
   * Raising an alert (once; on the escalation schedule when its severity escalates; a
   * follow-up clock's entry off the worklist) as keyed ops for a batch commit. The
   * patient's due time is the plan's (`planApply({ fired })`).
   */
  raiseOps(alert: Alert): KeyedOp[] {
    const scope = alert.ward ? `ward:${alert.ward}` : alert.team ? `team:${alert.team}` : 'site';
    const refs = [this.keys.alerts(alert.site), this.keys.alertOutbox(alert.site), this.keys.counts(alert.site, scope), this.keys.escalations(alert.site)];
    const raise: KeyedOp = { op: 'raise', key: this.keys.alert(alert.site, alert.alertId), a: JSON.stringify({ ...alert, version: 1 }), b: `${alert.becameTrueAt}\u001f${alert.alertId}\u001f${this.escalateAt(alert)}`, refs };
    if (alert.rule !== 'followup_missed' || !alert.patientId) return [raise];
    return [{ op: 'zrem', key: this.keys.followups(alert.site), a: `${alert.patientId}${DUE_SEP}${alert.alertId}`, b: '' }, raise];
  }

  /** When a newly raised alert first falls due for escalation under its site's policy ('-': never). */
  private escalateAt(alert: Alert): string {
    const at = firstEscalationAt(alert, this.ctxFor(alert.site).thresholds.escalation);
    return at === undefined ? '-' : String(at);
  }

  /**
   * Takes ownership of a partition: a new epoch, recorded in the fence of every known
   * site, so that batch commits of a previous owner (a zombie) are refused from now on.
   */
  async claimPartition(topic: string, partition: number): Promise<number> {
    const epoch = await this.redis.incr(this.keys.epoch(topic, partition));
    for (const site of await this.sites()) await this.redis.eval(CLAIM_FENCE, 1, this.keys.fence(site), `${topic}:${partition}`, String(epoch));
    return epoch;
  }

  /**
   * Commits a run of consecutive events of one partition and one site (offsets first..last)
   * in one atomic script call, fenced by the owner's epoch and the applied offset.
   */
  async commitRun(run: { site: string; field: string; first: string; last: string; epoch: number; stateId?: StateIdCheck; ops: readonly KeyedOp[] }): Promise<RunOutcome> {
    const { keys, argv } = encodeRun({ offsetsKey: this.keys.offsets(run.site), fenceKey: this.keys.fence(run.site), ...run });
    const [status, value, micros, stateId] = await this.withKeys(keys, () => (this.redis as unknown as ScriptedRedis).pfmApplyBatch1(keys.length, ...keys, ...argv));
    if (status === 1) return { status: 'applied', ops: value, micros: micros ?? 0, ...(stateId !== undefined ? { stateId: String(stateId) } : {}) };
    if (status === -1) return { status: 'applied-before', applied: String(value) };
    if (status === -3) return { status: 'state-lost' };
    return { status: 'fenced', owner: value };
  }

  /** Queues the planned change on a pipeline (results come back in order with exec()). */
  queueApply(p: ChainableCommander, plan: ApplyPlan): void {
    const { keys, argv } = this.perEventCall(plan);
    this.refuseUnfilled(keys);
    (p as ScriptedPipeline).pfmApplyPatient1(keys.length, ...keys, ...argv);
  }

  async apply(plan: ApplyPlan): Promise<number> {
    await this.noteSite(plan.site);
    const { keys, argv } = this.perEventCall(plan);
    await this.need(keys);
    return (this.redis as unknown as ScriptedRedis).pfmApplyPatient1(keys.length, ...keys, ...argv);
  }

  /** Records that a site has state (once per batch: the set must come back if Redis lost it). */
  async noteSite(site: string): Promise<void> {
    await this.redis.sadd(this.keys.sites(), site);
  }

  async sites(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.sites())).sort();
  }

  /** Highest applied offset per partition of `topic`, over every site (where the consumer resumes). */
  async appliedOffsets(topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const site of await this.sites()) {
      const h = await this.redis.hgetall(this.keys.offsets(site));
      for (const [field, off] of Object.entries(h)) {
        const i = field.lastIndexOf(':');
        if (field.slice(0, i) !== topic) continue;
        const p = Number(field.slice(i + 1));
        const cur = out.get(p);
        if (cur === undefined || BigInt(off) > BigInt(cur)) out.set(p, off);
      }
    }
    return out;
  }

  // ---- clocks and alerts ------------------------------------------------------

  /**
   * Patients due at or before `now`, earliest first, from the first `limit` members of the
   * due set: one entry per patient with the members naming it (its own, the patient id,
   * and per-clock members "patientId<US>alertId" an older version wrote).
   */
  async duePatients(site: string, now: number, limit = 500): Promise<{ patientId: string; dueAt: number; members: string[] }[]> {
    const r = await this.redis.zrangebyscore(this.keys.due(site), '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const by = new Map<string, { patientId: string; dueAt: number; members: string[] }>();
    for (let i = 0; i < r.length; i += 2) {
      const member = r[i]!;
      const sep = member.indexOf(DUE_SEP);
      const patientId = sep < 0 ? member : member.slice(0, sep);
      let e = by.get(patientId);
      if (!e) { e = { patientId, dueAt: Number(r[i + 1]), members: [] }; by.set(patientId, e); }
      e.members.push(member);
    }
    return [...by.values()];
  }

  /**
   * Patients as the scanner reads them: each state (null: none) with its stamp, the SHA-1 of
   * the state and history as Redis holds them; `raiseDue` writes nothing for a patient whose
   * stamp has changed since (an event was applied in between).
   */
  async loadStamped(site: string, patientIds: readonly string[]): Promise<{ state: PatientState | null; stamp: string }[]> {
    if (!patientIds.length) return [];
    const all = [...patientIds.map((id) => this.keys.patient(site, id)), ...patientIds.map((id) => this.keys.history(site, id))];
    const res = await this.withKeys(all, () => (this.redis as unknown as ScriptedRedis).pfmLoadStamped1(all.length, ...all));
    return res.map(([raw, items, stamp]) => {
      if (!raw) return { state: null, stamp };
      const state = JSON.parse(raw) as PatientState;
      if (state.events.length) this.wholeStates.add(state);
      else if (items.length) state.events = JSON.parse(`[${items.join(',')}]`) as PatientState['events'];
      return { state, stamp };
    });
  }

  /**
   * The scanner's writes for due patients of one site, in one script call (raiseDue-1.lua):
   * for each patient whose stamp is unchanged, its alerts raised (each once, in the order
   * given), its per-clock members of the older form (`legacy`) taken out, and its member
   * re-armed at `next` (undefined: taken out). Per patient: null when it changed since it
   * was read (nothing written for it), else per alert true when this call raised it.
   */
  async raiseDue(site: string, items: readonly { patientId: string; stamp: string; next: number | undefined; legacy: readonly string[]; alerts: readonly Alert[] }[]): Promise<(boolean[] | null)[]> {
    if (!items.length) return [];
    const keys = [this.keys.due(site), this.keys.alerts(site), this.keys.alertOutbox(site), this.keys.escalations(site), this.keys.followups(site)];
    const index = new Map<string, number>();
    const k = (key: string): string => {
      let i = index.get(key);
      if (i === undefined) { keys.push(key); i = keys.length; index.set(key, i); }
      return String(i);
    };
    const argv: string[] = [];
    for (const it of items) {
      argv.push(it.patientId, k(this.keys.patient(site, it.patientId)), k(this.keys.history(site, it.patientId)), it.stamp, it.next === undefined ? '' : String(it.next), String(it.legacy.length), ...it.legacy, String(it.alerts.length));
      for (const alert of it.alerts) {
        if (alert.site !== site) throw new Error(`raiseDue: an alert of site ${alert.site} in a call of site ${site}`);
        const scope = alert.ward ? `ward:${alert.ward}` : alert.team ? `team:${alert.team}` : 'site';
        argv.push(k(this.keys.alert(site, alert.alertId)), k(this.keys.counts(site, scope)), JSON.stringify({ ...alert, version: 1 }), alert.alertId, String(alert.becameTrueAt), this.escalateAt(alert), alert.rule === 'followup_missed' ? '1' : '');
      }
    }
    const out = await this.withKeys(keys, () => (this.redis as unknown as ScriptedRedis).pfmRaiseDue1(keys.length, ...keys, ...argv));
    return out.map((r) => (Array.isArray(r) ? r.map((n) => Number(n) === 1) : null));
  }

  private raiseArgs(alert: Alert, dueMember: string, dueBy?: number): string[] {
    const scope = alert.ward ? `ward:${alert.ward}` : alert.team ? `team:${alert.team}` : 'site';
    const keys = [this.keys.alert(alert.site, alert.alertId), this.keys.alerts(alert.site), this.keys.due(alert.site), this.keys.alertOutbox(alert.site), this.keys.counts(alert.site, scope), this.keys.escalations(alert.site)];
    return [String(keys.length), ...keys, JSON.stringify({ ...alert, version: 1 }), alert.alertId, String(alert.becameTrueAt), dueMember, this.escalateAt(alert), dueBy === undefined ? '' : String(dueBy)];
  }

  /**
   * Raises once; returns true when this call raised it. `dueMember` is a per-clock member of
   * the due set's older form ("patientId<US>alertId"), taken out; with `dueBy` it raises only
   * while that member is still due by then. The scanner raises with `raiseDue` (the due set's
   * members are patients now); this stays for alerts raised one by one (tests, tools) and
   * per-clock members still held.
   */
  async raiseAlert(alert: Alert, dueMember: string, dueBy?: number): Promise<boolean> {
    const [n, ...rest] = this.raiseArgs(alert, dueMember, dueBy);
    return (await this.withKeys(rest.slice(0, Number(n)), () => (this.redis as unknown as ScriptedRedis).pfmRaiseAlert1(Number(n), ...rest))) === 1;
  }

  /**
   * Raises a page of fired clocks' alerts of one site in one script call
   * (raiseAlerts-1.lua): each exactly as raiseAlert() would, in this order (once, its due
   * clock removed, guarded by `dueBy` when given). Returns, per item, true when this call
   * raised it. The whole page is one atomic call. Per-clock members of the due set's older
   * form, like `raiseAlert`; the scanner raises with `raiseDue`.
   */
  async raiseAlerts(site: string, items: readonly { alert: Alert; dueMember: string }[], dueBy?: number): Promise<boolean[]> {
    if (!items.length) return [];
    const keys = [this.keys.alerts(site), this.keys.due(site), this.keys.alertOutbox(site), this.keys.escalations(site)];
    const index = new Map<string, number>();
    const k = (key: string): string => {
      let i = index.get(key);
      if (i === undefined) { keys.push(key); i = keys.length; index.set(key, i); }
      return String(i);
    };
    const argv = [dueBy === undefined ? '' : String(dueBy)];
    for (const { alert, dueMember } of items) {
      if (alert.site !== site) throw new Error(`raiseAlerts: an alert of site ${alert.site} in a page of site ${site}`);
      const scope = alert.ward ? `ward:${alert.ward}` : alert.team ? `team:${alert.team}` : 'site';
      argv.push(k(this.keys.alert(site, alert.alertId)), k(this.keys.counts(site, scope)), JSON.stringify({ ...alert, version: 1 }), alert.alertId, String(alert.becameTrueAt), dueMember, this.escalateAt(alert));
    }
    const out = await this.withKeys(keys, () => (this.redis as unknown as ScriptedRedis).pfmRaiseAlerts1(keys.length, ...keys, ...argv));
    return out.map((n) => Number(n) === 1);
  }

  /** Queues raising an alert on a pipeline (ordered with the patient changes around it). */
  queueRaiseAlert(p: ChainableCommander, alert: Alert, dueMember: string): void {
    const [n, ...rest] = this.raiseArgs(alert, dueMember);
    this.refuseUnfilled(rest.slice(0, Number(n)));
    (p as ScriptedPipeline).pfmRaiseAlert1(Number(n), ...rest);
  }

  /** A per-clock member of the due set's older form (still read; see Keys.due). */
  dueMember(patientId: string, alertId: string): string { return `${patientId}${DUE_SEP}${alertId}`; }

  // ---- escalation ---------------------------------------------------------------
  // Alerts waiting to escalate are on a schedule per site (sorted set by due time). The
  // scanner reads what is due, decides with the pure rule (escalationStep) and writes each
  // step with escalateAlert-1.lua: the next version of the alert with `escalated`, in the
  // outbox, in one atomic call that never lowers a level and never touches an
  // acknowledged or resolved alert.

  /** Alert ids whose next escalation level is due at or before `now` (oldest first). */
  async dueEscalations(site: string, now: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.escalations(site), '-inf', now, 'LIMIT', 0, limit);
  }

  /** Alerts by id (null where gone). */
  async alertsById(site: string, ids: string[]): Promise<(Alert | null)[]> {
    if (!ids.length) return [];
    return (await this.redis.mget(...ids.map((id) => this.keys.alert(site, id)))).map((r) => (r ? (JSON.parse(r) as Alert) : null));
  }

  /**
   * Writes an escalation step once: the alert's next version carries `escalated`, goes to
   * the outbox, and the alert's next level is scheduled at `nextAt` (undefined: the
   * chain's end). True when escalated now (false: already at that level or above, or
   * acknowledged, resolved or gone).
   */
  async escalateAlert(site: string, alertId: string, escalated: { level: number; role: string; at: number }, nextAt?: number): Promise<boolean> {
    const keys = [this.keys.alert(site, alertId), this.keys.escalations(site), this.keys.alertOutbox(site)];
    const argv = [JSON.stringify(escalated), String(escalated.level), nextAt === undefined ? '-' : String(nextAt), alertId];
    // In a sandbox restored on demand the alert's key is copied first (the scanner reads it before, but the call does not rely on that).
    return (await this.withKeys(keys, () => (this.redis as unknown as ScriptedRedis).pfmEscalateAlert1(keys.length, ...keys, ...argv))) === 1;
  }

  /** Moves an alert's place on the escalation schedule (`at` undefined: off it). Only ever for an alert read just before; a step written meanwhile reschedules it itself. */
  async scheduleEscalation(site: string, alertId: string, at?: number): Promise<void> {
    if (at === undefined) await this.redis.zrem(this.keys.escalations(site), alertId);
    else await this.redis.zadd(this.keys.escalations(site), 'XX', at, alertId);
  }

  /**
   * Puts active alerts that escalate and are not on the schedule onto it (alerts raised
   * before the schedule existed); returns how many. Idempotent (ZADD NX).
   */
  async enrolEscalations(site: string): Promise<number> {
    const policy = this.ctxFor(site).thresholds.escalation;
    let n = 0;
    // The ZADDs of a page of alerts in one round trip (same writes, same count).
    const alerts = await this.alerts(site, { limit: 1_000_000 });
    for (let i = 0; i < alerts.length; i += 1000) {
      const p = this.redis.pipeline();
      for (const a of alerts.slice(i, i + 1000)) {
        if (a.acknowledged || a.resolvedAt !== undefined || !policy[a.severity]) continue;
        const at = firstEscalationAt(a, policy);
        if (at === undefined) continue;
        p.zadd(this.keys.escalations(site), 'NX', at, a.alertId);
      }
      for (const [err, added] of (await p.exec()) ?? []) { if (err) throw err; n += Number(added); }
    }
    return n;
  }

  // ---- alert outbox -----------------------------------------------------------
  // A Redis stream per site, written by the Lua scripts in the transaction that changes
  // the alert, and read through one consumer group: each entry goes to exactly one
  // reader, however many partitions, scanners or engine processes drain at once. An
  // entry is acknowledged and deleted only after Kafka has it (at least once); an entry
  // read by a process that died stays pending and is claimed back (recoverOutbox).

  private readonly outboxGroups = new Set<string>();

  private async ensureOutboxGroup(site: string): Promise<void> {
    const key = this.keys.alertOutbox(site);
    if (this.outboxGroups.has(key)) return;
    try {
      await this.redis.xgroup('CREATE', key, OUTBOX_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
    // Alerts queued by a version that kept the outbox as a list are not left behind.
    const moved = Number(await this.redis.eval(MOVE_LEGACY_OUTBOX, 2, this.keys.legacyOutbox(site), key));
    if (moved > 0) this.movedLegacy += moved;
    this.outboxGroups.add(key);
  }

  /** Alerts moved from a legacy outbox list into the stream by this process. */
  movedLegacy = 0;

  /**
   * Up to `max` alert changes for `consumer`: new ones, or with `pending` the ones this
   * consumer read before and did not acknowledge (a previous run of it stopped between
   * publishing and acknowledging).
   */
  async readOutbox(site: string, consumer: string, opts: { max?: number; pending?: boolean } = {}): Promise<OutboxEntry[]> {
    // A sandbox without outputs: the scripts write no outbox, so there is nothing to read (and no stream to make).
    if (!this.keys.alertOutboxOn) return [];
    const key = this.keys.alertOutbox(site);
    for (let attempt = 0; ; attempt++) {
      await this.ensureOutboxGroup(site);
      try {
        const res = (await this.redis.xreadgroup('GROUP', OUTBOX_GROUP, consumer, 'COUNT', opts.max ?? 1000, 'STREAMS', key, opts.pending ? '0' : '>')) as [string, [string, string[] | null][]][] | null;
        return parseEntries(res?.[0]?.[1] ?? []);
      } catch (err) {
        // The stream was deleted (clear(), a rebuild): make the group again, once.
        if (attempt > 0 || !String((err as Error).message).startsWith('NOGROUP')) throw err;
        this.outboxGroups.delete(key);
      }
    }
  }

  /** Takes over entries other consumers read and left unacknowledged for `minIdleMs` (they died). */
  async claimOutbox(site: string, consumer: string, minIdleMs: number, max = 1000): Promise<OutboxEntry[]> {
    if (!this.keys.alertOutboxOn) return [];
    await this.ensureOutboxGroup(site);
    const res = (await this.redis.xautoclaim(this.keys.alertOutbox(site), OUTBOX_GROUP, consumer, minIdleMs, '0-0', 'COUNT', max)) as [string, [string, string[] | null][], string[]?];
    return parseEntries(res[1] ?? []);
  }

  /** Marks entries as published: acknowledged in the group and removed from the stream. */
  async ackOutbox(site: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const key = this.keys.alertOutbox(site);
    const res = (await this.redis.multi().xack(key, OUTBOX_GROUP, ...ids).xdel(key, ...ids).exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }

  /** Alert changes in the outbox not yet acknowledged (waiting or in flight). */
  async outboxDepth(site: string): Promise<number> {
    if (!this.keys.alertOutboxOn) return 0;
    return this.redis.xlen(this.keys.alertOutbox(site));
  }

  /**
   * Active alerts, newest first: the newest `limit` (default 500), or with `limit: 'all'`
   * every one (what a reader's screen or list must show: a cut by the site's newest would
   * leave out a ward's older, most overdue alerts). `includeResolved`: every alert still
   * kept (resolved ones are kept 30 days for audit), e.g. for a what-if over a range, where
   * an alert raised and resolved inside the range counts as much as one still open.
   */
  async alerts(site: string, opts: { limit?: number | 'all'; includeResolved?: boolean } = {}): Promise<Alert[]> {
    const end = opts.limit === 'all' ? -1 : (opts.limit ?? 500) - 1;
    const ids = opts.includeResolved ? await this.allAlertIds(site) : await this.redis.zrevrange(this.keys.alerts(site), 0, end);
    const out: Alert[] = [];
    // MGET in pages: a sandbox can hold hundreds of thousands of alerts.
    for (let i = 0; i < ids.length; i += 1000) {
      const keys = ids.slice(i, i + 1000).map((id) => this.keys.alert(site, id));
      const raw = await this.withKeys(keys, () => this.redis.mget(...keys));
      for (const r of raw) if (r) out.push(JSON.parse(r) as Alert);
    }
    return out;
  }

  private async allAlertIds(site: string): Promise<string[]> {
    await this.filler?.fillAll();
    const head = this.keys.alert(site, '');
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${head.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) ids.add(k.slice(head.length));
    } while (cursor !== '0');
    return [...ids].sort();
  }

  /** Number of active (raised, not resolved) alerts of a site. */
  async activeAlertCount(site: string): Promise<number> {
    return this.redis.zcard(this.keys.alerts(site));
  }

  async alert(site: string, alertId: string): Promise<Alert | null> {
    await this.need([this.keys.alert(site, alertId)]);
    const r = await this.redis.get(this.keys.alert(site, alertId));
    return r ? (JSON.parse(r) as Alert) : null;
  }

  /** The decision-to-admit queue: patients waiting for a bed, longest wait first. */
  async admissionQueue(site: string, now: number): Promise<AdmissionWaiting[]> {
    const ids = await this.redis.zrange(this.keys.index(site, 'site', 'dta'), 0, -1);
    const states = await this.loadPatients(ids.map((patientId) => ({ site, patientId })));
    return states.flatMap((st) => {
      const w = st ? admissionWaiting(st.patientId, fold(st.events).view, now, this.ctxFor(site).thresholds) : undefined;
      return w ? [w] : [];
    });
  }

  /** Open spells on these wards whose expected discharge falls today and tomorrow (local calendar days). */
  async expectedDischarges(site: string, wards: string[], now: number): Promise<{ today: number; tomorrow: number }> {
    const today = dayStartIn(now);
    const tomorrow = dayStartIn(today + 36 * 3_600_000);
    const after = dayStartIn(tomorrow + 36 * 3_600_000);
    const p = this.redis.pipeline();
    for (const w of wards) {
      const edd = this.keys.index(site, `ward:${w}`, 'edd');
      p.zcount(edd, today, `(${tomorrow}`);
      p.zcount(edd, tomorrow, `(${after}`);
    }
    const res = (await p.exec()) ?? [];
    let t = 0;
    let m = 0;
    res.forEach(([err, n], i) => { if (err) throw err; if (i % 2 === 0) t += Number(n); else m += Number(n); });
    return { today: t, tomorrow: m };
  }

  /**
   * The 72h follow-up worklist: discharges whose follow-up contact is still to be made,
   * soonest due first (overdue ones stay on it, with negative hours left, until made).
   */
  async followUpsDue(site: string, now: number): Promise<FollowUpDue[]> {
    // Patients with a follow-up clock still to fire: the follow-up index, and per-clock
    // members of the due set an older version wrote (until the scanner takes them out).
    const members = await this.redis.zrange(this.keys.followups(site), 0, -1);
    let cursor = '0';
    do {
      const [next, page] = await this.redis.zscan(this.keys.due(site), cursor, 'MATCH', `*${DUE_SEP}followup_missed:*`, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < page.length; i += 2) members.push(page[i]!);
    } while (cursor !== '0');
    const ids = [...new Set(members.map((m) => m.split(DUE_SEP)[0]!))];
    const states = await this.loadPatients(ids.map((patientId) => ({ site, patientId })));
    const ctx = this.ctxFor(site);
    return states
      .flatMap((st) => (st ? followUpDue(site, st.patientId, fold(st.events).view, ctx, now) : []))
      .sort((a, b) => a.dueAt - b.dueAt);
  }

  async parkedDue(site: string, olderThan: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.parked(site), '-inf', olderThan, 'LIMIT', 0, 500);
  }

  /** The engine publishes the time its clock reads (event time in replay and demos) for readers. */
  async setClock(site: string, now: number): Promise<void> {
    await this.redis.set(this.keys.clock(site), String(now));
  }

  async clock(site: string): Promise<number | null> {
    const v = await this.redis.get(this.keys.clock(site));
    return v === null ? null : Number(v);
  }

  // ---- reads for boards -------------------------------------------------------

  async wardCodes(site: string): Promise<string[]> {
    const seen = await this.redis.smembers(this.keys.wards(site));
    return [...new Set([...this.registry.wards(site).map((w) => w.code), ...seen])].sort();
  }

  async wardSummaries(site: string, wards: string[], now: number): Promise<WardSummary[]> {
    const t = thresholdsForSite(this.thresholds, site);
    const p = this.redis.pipeline();
    for (const code of wards) {
      const scope = `ward:${code}`;
      const los = this.keys.index(site, scope, 'los');
      const rules = losRulesFor(t, this.registry.typeOf(site, code));
      // A rule switched off on this ward type counts nobody (an empty score range).
      const atLeast = (d: number | null | undefined) => (d == null ? p.zcount(los, 1, 0) : p.zcount(los, '-inf', now - losCrossingAt(t, 0, d)));
      p.hgetall(this.keys.counts(site, scope));
      atLeast(rules.strandedDays);
      atLeast(rules.superStrandedDays);
      atLeast(rules.longStayDays[0]);
      p.zcount(this.keys.index(site, scope, 'edd'), '-inf', now);
    }
    const res = (await p.exec()) ?? [];
    return wards.map((code, i) => {
      const val = (j: number) => { const [err, v] = res[i * 5 + j]!; if (err) throw err; return v; };
      const c = val(0) as Record<string, string>;
      const n = (f: string) => Number(c[f] ?? 0);
      const w = this.registry.resolve(site, code);
      const occupied = n('occupied');
      const onLeave = n('onLeave');
      const closed = n('closed');
      const available = Math.max(0, w.beds - closed);
      const crfdReasons: Record<string, number> = {};
      for (const [f, v] of Object.entries(c)) if (f.startsWith('crfd:')) crfdReasons[f.slice(5)] = Number(v);
      const pct = (x: number) => (available > 0 ? Math.round((x / available) * 1000) / 10 : 0);
      return {
        site, ward: code, name: w.name, wardType: w.type, beds: w.beds, occupied, onLeave, present: occupied - onLeave,
        free: Math.max(0, available - occupied), closed, crfd: n('crfd'), crfdReasons,
        stranded: Number(val(1)), superStranded: Number(val(2)), longStay: Number(val(3)), eddPassed: Number(val(4)),
        outOfArea: n('outOfArea'), occupancyPct: pct(occupied - onLeave), occupancyInclLeavePct: pct(occupied), seq: n('seq'),
        ...(w.external ? { external: true } : {}),
      };
    });
  }

  /** Beds held on a ward: bed -> the spells holding it (more than one = double-booked). */
  async bedsOnWard(site: string, ward: string): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const entry of (await this.redis.smembers(this.keys.beds(site, `ward:${ward}`))).sort()) {
      const [bed, member] = entry.split(DUE_SEP) as [string, string];
      (out[bed] ??= []).push(member);
    }
    return out;
  }

  async teamCounts(site: string): Promise<Record<string, number>> {
    const teams = await this.redis.smembers(this.keys.teams(site));
    const out: Record<string, number> = {};
    for (const t of teams.sort()) out[t] = Number((await this.redis.hget(this.keys.counts(site, `team:${t}`), 'waiting')) ?? 0);
    return out;
  }

  async patientsOnWard(site: string, ward: string, now: number): Promise<PatientRow[]> {
    const members = await this.redis.zrange(this.keys.index(site, `ward:${ward}`, 'los'), 0, -1);
    const ids = [...new Set(members.map((m) => m.split('|')[0]!))];
    const states = await this.loadPatients(ids.map((patientId) => ({ site, patientId })));
    return states.flatMap((s) => (s ? this.rows(s, now).filter((r) => r.ward === ward) : []));
  }

  rows(state: PatientState, now: number): PatientRow[] {
    const ctx = this.ctxFor(state.site);
    const t = ctx.thresholds;
    const view = fold(state.events).view;
    return Object.values(view.spells)
      .filter((s) => s.status !== 'discharged')
      .map((s) => {
        const los = losDays(t, s.admittedAt, now);
        const flags: string[] = [];
        const rules = losRulesFor(t, ctx.wardType(s.ward));
        const past = (d: number | null | undefined) => d != null && now >= losCrossingAt(t, s.admittedAt, d);
        if (past(rules.strandedDays)) flags.push('stranded');
        if (past(rules.superStrandedDays)) flags.push('super_stranded');
        if (past(rules.longStayDays[0])) flags.push('long_stay');
        if (s.crfd) flags.push('crfd');
        if (s.expectedDischargeAt !== undefined && s.expectedDischargeAt <= now) flags.push('edd_passed');
        const oap = spellOutOfArea(s, ctx);
        const crfdDays = crfdDelayDays(s, now).total;
        if (oap) flags.push('oap');
        if (s.status === 'on_leave') flags.push('on_leave');
        return {
          site: state.site, patientId: state.patientId, nhsNumber: state.nhsNumber, spellId: s.spellId, initials: view.initials, ward: s.ward, bed: s.bed,
          admittedAt: s.admittedAt, losDays: los, status: s.status, flags, expectedDischargeAt: s.expectedDischargeAt, crfdReason: s.crfd?.reasonCode,
          legalStatus: s.legalStatus, outOfArea: oap, ...(crfdDays > 0 ? { crfdDays } : {}),
          ...(oap ? { oapSince: oapSince(s, ctx), distanceFromHomeKm: s.distanceFromHomeKm } : {}),
        };
      });
  }

  async patient(site: string, patientId: string): Promise<PatientState | null> {
    return (await this.loadPatients([{ site, patientId }]))[0] ?? null;
  }

  // ---- maintenance ------------------------------------------------------------

  /** Every key of this prefix with its value in a canonical form (for comparisons). */
  async dump(opts: { exclude?: RegExp } = {}): Promise<Record<string, unknown>> {
    await this.filler?.fillAll();
    const out: Record<string, unknown> = {};
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.keys.all(), 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const all = new Set(keys);
    // A patient's history list is shown inside its state, as one JSON (the form before the
    // list existed): the canonical dump is the same whichever form Redis holds.
    const tagged = new RegExp(`^(${this.keys.prefix.replace(/[.]/g, '\\.')}:\\{[^}]*\\}):([ph]):(.*)$`, 's');
    for (const key of [...all].sort()) {
      if (opts.exclude?.test(key)) continue;
      // Partition ownership epochs are bookkeeping of the processes, not state.
      if (key.endsWith(':fence') || key.startsWith(`${this.keys.prefix}:fence:`)) continue;
      const patient = tagged.exec(key);
      if (patient?.[2] === 'h' && all.has(`${patient[1]}:p:${patient[3]}`)) continue;
      const type = await this.redis.type(key);
      if (type === 'string' && patient?.[2] === 'p') out[key] = withHistory((await this.redis.get(key))!, await this.redis.lrange(`${patient[1]}:h:${patient[3]}`, 0, -1));
      else if (type === 'string') out[key] = await this.redis.get(key);
      else if (type === 'hash') out[key] = Object.fromEntries(Object.entries(await this.redis.hgetall(key)).sort());
      else if (type === 'zset') out[key] = await this.redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'set') out[key] = (await this.redis.smembers(key)).sort();
      else if (type === 'list') out[key] = await this.redis.lrange(key, 0, -1);
    }
    return out;
  }

  /** Deletes every key of this prefix (sandboxes, tests, rebuild). Never FLUSHALL. */
  async clear(): Promise<number> {
    this.filler = undefined;
    let cursor = '0';
    let n = 0;
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.keys.all(), 'COUNT', 1000);
      cursor = next;
      if (batch.length) n += await this.redis.unlink(...batch);
    } while (cursor !== '0');
    return n;
  }
}
