// Pure helpers of the insights pages: icons, shared axes, CSV, small numbers, notes, routes, token role.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRoute, routeHref } from '../route';
import type { ImprovementNote, SeriesResponse, SeriesSegment } from './api';
import { notesOnChart, seriesCsv, sharedDates, sharedDomain, smallNumber, ticks, tokenRole, variationIcon } from './logic';

const seg = (segment: string | null, values: [string, number, number][]): SeriesSegment => ({
  segment, assurance: null,
  points: values.map(([periodStart, value, mean]) => ({ periodStart, numerator: value, denominator: null, value, complete: true, mean, lpl: mean - 2, upl: mean + 2, pointType: 'common_cause' as const })),
});

test('the variation icon follows the latest point and the improvement direction', () => {
  assert.equal(variationIcon('special_cause_improvement', 'decrease'), 'improvement_low');
  assert.equal(variationIcon('special_cause_improvement', 'increase'), 'improvement_high');
  assert.equal(variationIcon('special_cause_concern', 'decrease'), 'concern_high');
  assert.equal(variationIcon('special_cause_neutral_low', 'neutral'), 'neutral_low');
  assert.equal(variationIcon(null, 'increase'), 'common_cause');
});

test('small multiples share one y range (with the target) and one set of dates', () => {
  const a = seg('A', [['2026-01-05', 10, 10], ['2026-01-12', 12, 10]]);
  const b = seg('B', [['2026-01-12', 30, 30], ['2026-01-19', 31, 30]]);
  const [lo, hi] = sharedDomain([a, b], 50);
  assert.ok(lo <= 8 && hi >= 50);
  assert.deepEqual(sharedDates([a, b]), ['2026-01-05', '2026-01-12', '2026-01-19']);
  assert.deepEqual(ticks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
});

test('counts from 1 to the threshold minus 1 read "<5"; 0 and larger counts are shown', () => {
  assert.equal(smallNumber(3, false, 5), '<5');
  assert.equal(smallNumber(null, true, 5), '<5');
  assert.equal(smallNumber(0, false, 5), '0');
  assert.equal(smallNumber(12, false, 5), '12');
});

test('the series CSV has a row per segment and period, quoted where needed', () => {
  const r = { measure: { id: 'admissions', unit: 'count' }, period: 'week', by: 'local_area', segments: [seg('North, upper', [['2026-01-05', 4, 4]])] } as unknown as SeriesResponse;
  const lines = seriesCsv(r).trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^admissions,week,local_area,"North, upper",2026-01-05,4,,4,count,true,4,2,6,common_cause$/);
});

test('notes are drawn on charts of their measures from the first charted date', () => {
  const n = (noteId: string, effectiveDate: string, measures: string[]) => ({ noteId, effectiveDate, measures } as ImprovementNote);
  const notes = [n('b', '2026-02-01', ['crfd_bed_days']), n('a', '2026-01-20', ['crfd_bed_days', 'los_median']), n('c', '2025-01-01', ['crfd_bed_days']), n('d', '2026-02-01', ['admissions'])];
  assert.deepEqual(notesOnChart(notes, 'crfd_bed_days', ['2026-01-05', '2026-02-09']).map((x) => x.noteId), ['a', 'b']);
});

test('insights routes keep their choices in the address', () => {
  const r = parseRoute('#/insights?measure=crfd_bed_days&period=month&by=ward&rebaseAt=2026-02-01&junk=1');
  assert.deepEqual(r, { view: 'insights', params: { measure: 'crfd_bed_days', period: 'month', by: 'ward', rebaseAt: '2026-02-01' } });
  assert.equal(routeHref(r), '#/insights?measure=crfd_bed_days&period=month&by=ward&rebaseAt=2026-02-01');
  assert.deepEqual(parseRoute('#/equity?period=fortnight'), { view: 'equity', params: {} });
});

test('the role is read from the token payload (base64url); a malformed token has none', () => {
  const payload = Buffer.from(JSON.stringify({ role: 'analyst', sub: 'ä' })).toString('base64url');
  assert.equal(tokenRole(`x.${payload}.y`), 'analyst');
  assert.equal(tokenRole('nonsense'), null);
  assert.equal(tokenRole('a.!!!.b'), null);
});

test('the report covers its month: charts 26 weeks to the month end, equity the 12 months before', async () => {
  const { reportDates, monthName, lastMonth } = await import('./report');
  assert.deepEqual(reportDates('2026-03'), { start: '2026-03-01', next: '2026-04-01', chartsFrom: '2025-10-01', equityFrom: '2025-04-01' });
  assert.equal(reportDates('2026-12').next, '2027-01-01');
  assert.equal(monthName('2026-03'), 'March 2026');
  assert.equal(lastMonth(Date.parse('2026-01-15T12:00:00Z')), '2025-12');
  assert.deepEqual(parseRoute('#/report?month=2026-13&site=RXT'), { view: 'report', month: '', site: 'RXT' });
});
