// Pure: one patient record's events of one batch applied at once. The result is the
// state that `evolve` gives applying them one by one (the engine's rules), but the common
// case costs one fold of the history instead of one per event: `evolve` re-folds the
// whole history to check each event, which made a backfill quadratic in a record's length.
import type { FlowEvent } from '@pfm/contracts';
import { compareEvents, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { patientRows, rowsIfEveryStepApplies, type PatientRows, type RowContext } from './rows';

/** Event types that change how earlier events fold (a cancel pairs with, and can void, what came before it). */
const isCancel = (e: FlowEvent): boolean => e.type.endsWith('.cancelled');

/**
 * Applies `events` (in log order) to `state`, as `events.reduce((s, e) => evolve(s, e,
 * e.recordedAt).state, state)` would. The shortcut is taken only where it provably gives
 * the same state: nothing parked, no merge, no control or cancel event among the new
 * ones, no id seen before, and every new event at or after the end of the history in
 * event-time order. Then each one-by-one step would append the event and fold a prefix
 * of the same list; a prefix folds as the start of the whole list does (steps never look
 * ahead, and without new cancels no pairing changes), so one fold of the whole list
 * with no failures means every step would have been applied. Anything else, or a
 * failure, goes one by one through `evolve`.
 */
export function evolveAll(state: PatientState, events: readonly FlowEvent[]): PatientState {
  if (events.length === 0) return state;
  if (events.length > 1 && canAppend(state, events)) {
    const next = appended(state, events);
    if (fold(next.events).failures.length === 0) return next;
  }
  let s = state;
  for (const e of events) s = evolve(s, e, e.recordedAt).state;
  return s;
}

/**
 * evolveAll's state and its rows (patientRows), with one walk of the history where
 * evolveAll would take its one-fold shortcut and the history holds no cancel: that fold
 * only checks that every event applies, which the rows' walk finds out as it goes. Anything
 * else, or an event that does not apply, goes through evolveAll and patientRows.
 */
export function evolveAllWithRows(state: PatientState, events: readonly FlowEvent[], ctx: RowContext): { state: PatientState; rows: PatientRows } {
  if (events.length > 1 && canAppend(state, events)) {
    const next = appended(state, events);
    const rows = rowsIfEveryStepApplies(next, ctx);
    if (rows) return { state: next, rows };
  }
  const s = evolveAll(state, events);
  return { state: s, rows: patientRows(s, ctx) };
}

/** The state with `events` appended, as the shortcut gives it. */
function appended(state: PatientState, events: readonly FlowEvent[]): PatientState {
  let nhsNumber = state.nhsNumber;
  for (const e of events) nhsNumber = e.nhsNumber ?? nhsNumber;
  return { ...state, nhsNumber, events: [...state.events, ...events], parked: [] };
}

/** Whether the one-fold shortcut may be tried: see evolveAll. */
export function canAppend(state: PatientState, events: readonly FlowEvent[]): boolean {
  if (state.parked.length > 0 || state.mergedInto) return false;
  const seen = new Set<string>(state.events.map((e) => e.eventId));
  for (const id of state.rejected ?? []) seen.add(id);
  let prev: FlowEvent | undefined = state.events[state.events.length - 1];
  for (const e of events) {
    if (e.type === 'park.expired' || isCancel(e) || seen.has(e.eventId)) return false;
    if (prev && compareEvents(prev, e) > 0) return false;
    seen.add(e.eventId);
    prev = e;
  }
  return true;
}
