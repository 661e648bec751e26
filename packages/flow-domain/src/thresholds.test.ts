import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, losRulesFor, thresholdsForSite, timers, type DomainContext, type Thresholds } from './index';
import type { WardType } from '@pfm/contracts';
import { days, ev, T0 } from './testing';

const TYPES: Record<string, WardType> = { AC: 'adult_acute', OA: 'older_adult_acute', PI: 'picu', RE: 'rehab', UN: 'unknown' };
const ctxWith = (thresholds: Thresholds): DomainContext => ({ thresholds, wardType: (w) => TYPES[w] ?? 'unknown' });
const losTimers = (ward: string, thresholds: Thresholds = DEFAULT_THRESHOLDS) => {
  const s = evolve(emptyPatient('RXT', 'P1'), ev('patient.admitted', { spellId: 'S1', ward }, T0)).state;
  return timers('RXT', 'P1', fold(s.events).view, ctxWith(thresholds))
    .filter((t) => ['stranded', 'super_stranded', 'long_stay'].includes(t.rule))
    .map((t) => `${t.rule}@${(t.dueAt - T0) / days(1)}`);
};

describe('length-of-stay thresholds per ward type (defaults from domain.md)', () => {
  it('given an adult acute or older adult acute ward, stranded 7, super-stranded 21 and both MHSDS long-stay tiers (60, 90) run', () => {
    expect(losTimers('AC')).toEqual(['stranded@7', 'super_stranded@21', 'long_stay@60', 'long_stay@90']);
    expect(losTimers('OA')).toEqual(['stranded@7', 'super_stranded@21', 'long_stay@60', 'long_stay@90']);
  });

  it('given a rehab ward, no acute stranded or long-stay rule runs by default (no national definition applies)', () => {
    expect(losTimers('RE')).toEqual([]);
  });

  it('given a PICU, stranded and super-stranded run but the adult acute long-stay tiers do not', () => {
    expect(losTimers('PI')).toEqual(['stranded@7', 'super_stranded@21']);
  });

  it('given a trust override, a rule can be switched on or off and re-timed per ward type', () => {
    const t: Thresholds = { ...DEFAULT_THRESHOLDS, wardTypes: { ...DEFAULT_THRESHOLDS.wardTypes, rehab: { superStrandedDays: 180 }, picu: { strandedDays: null } }, longStayDays: { ...DEFAULT_THRESHOLDS.longStayDays, rehab: [365] } };
    expect(losTimers('RE', t)).toEqual(['stranded@7', 'super_stranded@180', 'long_stay@365']);
    expect(losTimers('PI', t)).toEqual(['super_stranded@21']);
    expect(losRulesFor(t, 'picu')).toEqual({ strandedDays: null, superStrandedDays: 21, longStayDays: [] });
  });

  it('given per-site settings, one site can differ from the trust default', () => {
    const t: Thresholds = { ...DEFAULT_THRESHOLDS, sites: { RXY: { strandedDays: 5, wardTypes: { rehab: {} } } } };
    expect(thresholdsForSite(t, 'RXT')).toBe(t);
    const rxy = thresholdsForSite(t, 'RXY');
    expect(losRulesFor(rxy, 'adult_acute').strandedDays).toBe(5);
    expect(losRulesFor(rxy, 'rehab')).toEqual({ strandedDays: 5, superStrandedDays: 21, longStayDays: [] });
  });
});
