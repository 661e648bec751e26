// Events about no patient (an improvement note) move no live state: the engine records
// their offset only, and a fold that meets one anyway leaves the view as it was.
import { FLOW_EVENT_TYPES, type FlowEvent } from '@pfm/contracts';
import { fold } from './pathway';
import { movesLiveState, NOT_LIVE_STATE_TYPES } from './patient';

const at = Date.parse('2026-04-02T00:00:00Z');
const base = { site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' as const, recordedAt: at };
const admitted: FlowEvent = { ...base, eventId: 'e1', type: 'patient.admitted', occurredAt: at, payload: { spellId: 'S1', ward: 'OAK' } };
const note: FlowEvent = {
  ...base, eventId: 'improvement:N1', type: 'improvement.noted', occurredAt: at + 1, patientId: 'improvement:N1',
  payload: { noteId: 'N1', title: 'Coordinator', effectiveDate: '2026-04-02', author: 'ops-1', measures: ['crfd_bed_days'], expectedDirection: 'down' },
};

describe('events that move no live state', () => {
  it('are the improvement notes only', () => {
    expect(NOT_LIVE_STATE_TYPES).toEqual(['improvement.noted']);
    expect(FLOW_EVENT_TYPES.filter((t) => !movesLiveState({ type: t }))).toEqual(['improvement.noted']);
  });

  it('leave a fold as it was', () => {
    const without = fold([admitted]);
    const withNote = fold([admitted, note]);
    expect(withNote.failures).toEqual([]);
    expect(withNote.view).toEqual(without.view);
  });
});
