import type { WardSummary } from '@pfm/contracts';
import { sitePressure } from './views';

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
