import type { FlowEvent } from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import { timeline } from './views';

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
