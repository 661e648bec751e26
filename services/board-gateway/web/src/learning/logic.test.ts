// Pure helpers of the learning log: the form's checks and body, API field errors on the
// form, the log's order and summary, and the #/learning route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImprovementNote } from '../insights/api';
import { parseRoute, routeHref } from '../route';
import { apiFieldErrors, checkForm, emptyForm, logOrder, noteBody, verdictCounts } from './logic';

const note = (noteId: string, effectiveDate: string, recordedAt: string, verdicts: ImprovementNote['outcomes'][number]['verdict'][]): ImprovementNote => ({
  noteId, title: noteId, site: 'RXT', effectiveDate, author: 'a', measures: verdicts.map((_, i) => `m${i}`), expectedDirection: 'down', recordedAt,
  outcomes: verdicts.map((verdict, i) => ({ measure: `m${i}`, verdict, pointsSince: 8, detail: '' })),
});

test('an empty form names every missing field; a complete one has none', () => {
  assert.deepEqual(Object.keys(checkForm(emptyForm())).sort(), ['effectiveDate', 'expectedDirection', 'measures', 'site', 'title']);
  const ok = { ...emptyForm('RXT'), title: 'Discharge coordinator', effectiveDate: '2026-04-02', measures: ['crfd_bed_days'], expectedDirection: 'down' as const };
  assert.deepEqual(checkForm(ok), {});
  assert.deepEqual(Object.keys(checkForm({ ...ok, ward: 'not a ward!' })), ['ward']);
});

test('the body leaves out empty optional fields', () => {
  const f = { ...emptyForm('RXT'), title: '  Coordinator  ', effectiveDate: '2026-04-02', measures: ['crfd_bed_days'], expectedDirection: 'down' as const };
  assert.deepEqual(noteBody(f), { title: 'Coordinator', site: 'RXT', effectiveDate: '2026-04-02', measures: ['crfd_bed_days'], expectedDirection: 'down' });
  assert.equal(noteBody({ ...f, ward: 'RV-CEDAR' }).ward, 'RV-CEDAR');
});

test('the API\'s field errors land on the form\'s fields (list items on their list); unknown fields on the form', () => {
  assert.deepEqual(apiFieldErrors([{ field: 'measures.1', message: 'unknown measure' }, { field: 'title', message: 'too short' }, { field: '', message: 'Unrecognized key' }, { field: 'colour', message: 'x' }]),
    { measures: 'unknown measure', title: 'too short', form: 'Unrecognized key; x' });
});

test('the log lists the newest change first, then the latest recorded; the summary counts notes per verdict', () => {
  const notes = [note('a', '2026-03-01', '2026-03-02T00:00:00Z', ['improvement']), note('b', '2026-04-01', '2026-04-02T00:00:00Z', ['too-early', 'too-early']), note('c', '2026-04-01', '2026-04-03T00:00:00Z', ['concern', 'no-signal'])];
  assert.deepEqual(logOrder(notes).map((n) => n.noteId), ['c', 'b', 'a']);
  assert.deepEqual(verdictCounts(notes), { improvement: 1, concern: 1, 'no-signal': 1, 'too-early': 1 });
});

test('#/learning round-trips', () => {
  assert.deepEqual(parseRoute('#/learning'), { view: 'learning' });
  assert.equal(routeHref({ view: 'learning' }), '#/learning');
});
