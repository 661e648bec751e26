import type { FlowEvent, WardSummary } from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import { admissionQueueStatus, sitePressure, timeline } from './views';

const summary = (ward: string, over: Partial<WardSummary>): WardSummary => ({
  site: 'RXT', ward, name: ward, wardType: 'adult_acute', beds: 0, occupied: 0, onLeave: 0, present: 0, free: 0, closed: 0,
  crfd: 0, crfdReasons: {}, stranded: 0, superStranded: 0, longStay: 0, eddPassed: 0, outOfArea: 0, occupancyPct: 0, occupancyInclLeavePct: 0, seq: 1, ...over,
});

describe('site pressure', () => {
  it('given local wards at 80% and patients placed out of area, when assessed, out-of-area patients do not raise local occupancy', () => {
    const wards = [
      summary('W1', { beds: 20, occupied: 16, free: 4 }),
      summary('W2', { beds: 20, occupied: 16, free: 4 }),
      summary('OAP-A', { external: true, occupied: 12, outOfArea: 12 }),
    ];
    const p = sitePressure(wards, 85);
    expect(p.level).toBe(1);
    expect(p.reasons.join(' ')).toContain('12 placed out of area');
    expect(p.reasons.join(' ')).not.toMatch(/occupancy/);
  });
});


const ev = (type: string, payload: Record<string, unknown>, t: number) => ({ eventId: `e${t}`, type, payload, occurredAt: t, recordedAt: t, site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' }) as unknown as FlowEvent;
const store = {
  patient: async () => ({
    events: [
      ev('referral.received', { referralId: 'R1', team: 'CRHT', teamType: 'crisis', urgency: 'urgent' }, 1),
      ev('patient.admitted', { spellId: 'S1', ward: 'ELM' }, 2),
      ev('leave.started', { spellId: 'S1' }, 3),
      ev('patient.transferred', { spellId: 'S1', ward: 'OAK' }, 4),
      ev('crfd.started', { spellId: 'S1', reasonCode: '01' }, 5),
    ],
  }),
} as unknown as Pick<FlowStore, 'patient'>;

describe('timeline scope', () => {
  it('a reader scoped to OAK sees only what happened on OAK; an unscoped reader sees everything', async () => {
    const oak = await timeline(store, 'RXT', 'P1', undefined, (w) => w === 'OAK');
    expect(oak!.map((e) => e.occurredAt)).toEqual([4, 5]);
    const all = await timeline(store, 'RXT', 'P1');
    expect(all!.map((e) => e.occurredAt)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('decision-to-admit queue on the site board', () => {
  it('counts 12-hour breaches among emergency decisions to admit only; a planned (community) wait is listed, not a breach', () => {
    const q = admissionQueueStatus([
      { patientId: 'A', decidedAt: 1, waitedHours: 30, source: 'A&E', emergency: true },
      { patientId: 'R', decidedAt: 0, waitedHours: 900, source: 'community', emergency: false },
      { patientId: 'C', decidedAt: 2, waitedHours: 3, source: 'crisis team', emergency: true },
    ], 12);
    expect(q).toMatchObject({ waiting: 3, breaches: 1, longestWaitHours: 30, breachHours: 12 });
    expect(q.entries.map((e) => [e.patientId, e.emergency])).toEqual([['R', false], ['A', true], ['C', true]]);
  });
});
