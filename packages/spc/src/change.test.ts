import { changeOutcome, MIN_BASELINE, MIN_POINTS_SINCE } from './change';
import { SpcInputError } from './spc';

/** Weekly points from 2026-01-05 (a Monday). */
const weekly = (values: number[]) => values.map((value, i) => ({ date: new Date(Date.UTC(2026, 0, 5 + 7 * i)).toISOString().slice(0, 10), value }));
// Baseline: mean 10, moving ranges 1,2,1,1,2,1,1,2,1 (average 12/9), so limits 10 +/- 2.66 x 4/3 = 6.45 to 13.55.
const baseline = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10];
const changeDate = weekly(baseline).length; // index of the first point since the change
const since = (values: number[]) => weekly([...baseline, ...values]);
const sinceDate = weekly([...baseline, 0])[changeDate]!.date;

describe('changeOutcome', () => {
  it('is too early with fewer than 7 points since the change', () => {
    const r = changeOutcome(since([7, 7, 7, 7, 7, 7]), { since: sinceDate, expected: 'down' });
    expect(r).toMatchObject({ verdict: 'too-early', pointsSince: 6, baseline: null });
    expect(r.detail).toBe(`6 of the ${MIN_POINTS_SINCE} points needed since the change`);
  });

  it('is too early when the baseline is too short to set limits', () => {
    const pts = weekly([10, 11, 9, 7, 7, 7, 7, 7, 7, 7]);
    const r = changeOutcome(pts, { since: pts[3]!.date, expected: 'down' });
    expect(r).toMatchObject({ verdict: 'too-early', pointsSince: 7 });
    expect(r.detail).toContain(`${MIN_BASELINE} are needed`);
  });

  it('calls a shift of 7 below the baseline mean an improvement when down was expected', () => {
    const r = changeOutcome(since([8, 9, 8, 9, 8, 9, 8]), { since: sinceDate, expected: 'down' });
    expect(r.verdict).toBe('improvement');
    expect(r.pointsSince).toBe(7);
    expect(r.baseline).toEqual({ points: 10, mean: 10, lpl: 10 - 2.66 * (12 / 9), upl: 10 + 2.66 * (12 / 9) });
    expect(r.detail).toMatch(/^7 of 7 points since the change are special cause in the expected direction \(down\), latest 2026-\d\d-\d\d: a shift of 7 points/);
  });

  it('calls the same shift a concern when up was expected', () => {
    expect(changeOutcome(since([8, 9, 8, 9, 8, 9, 8]), { since: sinceDate, expected: 'up' }).verdict).toBe('concern');
  });

  it('reads a single point outside the baseline limits (limits fixed on the baseline, not on the points since)', () => {
    const r = changeOutcome(since([10, 11, 9, 10, 11, 9, 20]), { since: sinceDate, expected: 'up' });
    expect(r.verdict).toBe('improvement');
    expect(r.detail).toContain('a point outside the baseline limits');
  });

  it('is no signal when the points since stay in common cause', () => {
    const r = changeOutcome(since([10, 11, 9, 10, 11, 9, 10, 11]), { since: sinceDate, expected: 'down' });
    expect(r).toMatchObject({ verdict: 'no-signal', pointsSince: 8 });
    expect(r.detail).toBe('no special cause in 8 points since the change (baseline of 10 points: mean 10, limits 6.45 to 13.55)');
  });

  it('lets the latest special cause decide when both directions show', () => {
    // Above the limit first (concern for "down"), then a shift below the mean.
    const r = changeOutcome(since([20, 9, 8, 9, 8, 9, 8, 9]), { since: sinceDate, expected: 'down' });
    expect(r.verdict).toBe('improvement');
    const back = changeOutcome(since([8, 9, 8, 9, 8, 9, 8, 20]), { since: sinceDate, expected: 'down' });
    expect(back.verdict).toBe('concern');
  });

  it('sorts the points and counts a point dated on the change as since', () => {
    const pts = since([8, 9, 8, 9, 8, 9, 8]).reverse();
    expect(changeOutcome(pts, { since: sinceDate, expected: 'down' }).pointsSince).toBe(7);
  });

  it('refuses a date that is not one', () => {
    expect(() => changeOutcome(since([1]), { since: '2026-02-30', expected: 'up' })).toThrow(SpcInputError);
  });
});
