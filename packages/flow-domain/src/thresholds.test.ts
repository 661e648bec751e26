import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, losRulesFor, mergeResponseHours, thresholdsForSite, timers, type DomainContext, type Thresholds } from './index';
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

describe('referral response targets by team type and urgency (domain.md: proposed crisis standards, Core 24)', () => {
  const target = (teamType: 'crisis' | 'liaison' | 'community', urgency: 'emergency' | 'very_urgent' | 'urgent' | 'routine', thresholds: Thresholds = DEFAULT_THRESHOLDS) => {
    const s = evolve(emptyPatient('RXT', 'P1'), ev('referral.received', { referralId: 'R1', team: 'T1', teamType, urgency }, T0)).state;
    const [t] = timers('RXT', 'P1', fold(s.events).view, ctxWith(thresholds));
    return t && { hours: (t.dueAt - T0) / 3_600_000, threshold: t.threshold.value };
  };

  it.each([
    ['crisis', 'emergency', 4], ['crisis', 'very_urgent', 4], ['crisis', 'urgent', 24],
    ['liaison', 'emergency', 1], ['liaison', 'very_urgent', 1], ['liaison', 'urgent', 24],
  ] as const)('given a %s team referral of %s urgency, the response clock is %i h', (teamType, urgency, hours) => {
    expect(target(teamType, urgency)).toEqual({ hours, threshold: hours });
  });

  it('given a trust setting for liaison urgent referrals, it is used', () => {
    const t: Thresholds = { ...DEFAULT_THRESHOLDS, referralResponseHours: mergeResponseHours(DEFAULT_THRESHOLDS.referralResponseHours, { liaison: { urgent: 12 } }) };
    expect(target('liaison', 'urgent', t)).toEqual({ hours: 12, threshold: 12 });
  });
});
