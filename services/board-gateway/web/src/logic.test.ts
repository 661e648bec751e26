// Pure logic of the board (no DOM): run with `pnpm --filter @pfm/board-web test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WardSummary } from '@pfm/contracts';
import { classifyUpdate } from './seq';
import { CRFD_REASONS, crfdReason, topCrfdReasons } from './crfd-reasons';
import { formatElapsed, formatNhsNumber, patientIdentifier } from './format';
import { compareWardsByPressure, escalationText, roleLabel, thresholdText, wardPressure } from './labels';
import { escalatedOpen, noteEscalation, openNotices } from './escalations';
import type { Alert } from '@pfm/contracts';
import { parseRoute, routeHref } from './route';
import { GONE_VERSION, mergeSnapshotAlerts, noteLiveChange, type LiveChange } from './alert-merge';

test('seq: snapshot baseline, in-order apply, stale and gap', () => {
  assert.equal(classifyUpdate(undefined, 7), 'apply');
  assert.equal(classifyUpdate(7, 8), 'apply');
  assert.equal(classifyUpdate(7, 7), 'stale');
  assert.equal(classifyUpdate(7, 3), 'stale');
  assert.equal(classifyUpdate(7, 9), 'gap');
});

test('crfd: every MHSDS v6 code 01-37 and 98 has its published label and group; none is generic', () => {
  assert.equal(CRFD_REASONS.size, 38);
  assert.equal(crfdReason('1').label, 'Awaiting care coordinator allocation');
  assert.equal(crfdReason('04').label, 'Awaiting public funding or decision from funding panel');
  assert.equal(crfdReason('25').label, 'Awaiting outcome of legal proceedings under relevant mental health legislation');
  assert.equal(crfdReason('27').label, 'Awaiting Deprivation of Liberty Safeguards (DoLS) application');
  assert.equal(crfdReason('35').label, 'Delays to NHS-led assessments in the community');
  assert.equal(crfdReason('36').label, 'Hospital staff shortages');
  assert.equal(crfdReason('98').label, 'Reason not known');
  assert.equal(crfdReason('15').label, 'Housing - awaiting availability of social rented housing via council housing waiting list');
  for (const c of ['14', '15', '16', '17', '18', '19', '32']) assert.equal(crfdReason(c).groupLabel, 'Housing');
  assert.equal(crfdReason('03').groupLabel, 'Social care/local authority');
  assert.equal(crfdReason('11').groupLabel, 'Hospital');
  for (const r of CRFD_REASONS.values()) {
    assert.equal(r.generic, false, r.code);
    assert.doesNotMatch(r.label, /\(code \d+\)|Other external delay/, r.code);
  }
});

test('crfd: an MHSDS v5 code from history is shown with its v5 wording as a v5 reason, never as a v6 one or unmapped', () => {
  for (const [v5, label] of <[string, string][]>[['A2', 'Awaiting care coordinator allocation'], ['b1', 'Awaiting public funding'], ['T2', 'Lack of social care support'], ['G10', 'Patient or family choice - emergency accommodation from the local authority under the Housing Act']]) {
    const r = crfdReason(v5);
    assert.equal(r.version, 5);
    assert.equal(r.code, v5.toUpperCase());
    assert.equal(r.label, label);
    assert.equal(r.generic, false);
    assert.equal(r.group, undefined);
  }
  // A v5-shaped code the published list lacks is still named as a v5 reason, flagged generic.
  assert.deepEqual([crfdReason('Z9').label, crfdReason('Z9').generic], ['MHSDS v5 reason Z9 (history)', true]);
  assert.equal(crfdReason('04').version, 6);
  // A code that is neither v6 nor v5 is still named as unmapped.
  assert.match(crfdReason('99').label, /Unmapped/);
});

test('crfd: top reasons merge equivalent codes and count the rest', () => {
  const { top, rest } = topCrfdReasons({ '4': 1, '04': 2, '14': 2, '27': 1, '98': 1 }, 2);
  assert.deepEqual(top.map((t) => [t.reason.code, t.count]), [['04', 3], ['14', 2]]);
  assert.equal(rest, 2);
});

test('format: NHS number 3-3-4, identifier falls back to local id', () => {
  assert.equal(formatNhsNumber('9434765919'), '943 476 5919');
  assert.equal(formatNhsNumber('943-476-5919'), '943 476 5919');
  assert.deepEqual(patientIdentifier({ patientId: 'L123' }), { kind: 'Local id', value: 'L123' });
  assert.deepEqual(patientIdentifier({ nhsNumber: '9434765919', patientId: 'L1' }), { kind: 'NHS', value: '943 476 5919' });
  assert.equal(formatElapsed(125 * 60_000), '2h 05m');
  assert.equal(formatElapsed(3 * 86_400_000 + 4 * 3_600_000), '3d 4h');
});

const ward = (ward: string, incl: number, free = 2, extra: Partial<WardSummary> = {}): WardSummary => ({
  site: 'S', ward, name: ward, wardType: 'adult_acute', beds: 20, occupied: 18, onLeave: 1, present: 17, free, closed: 0,
  crfd: 0, crfdReasons: {}, stranded: 0, superStranded: 0, longStay: 0, eddPassed: 0, outOfArea: 0,
  occupancyPct: incl - 5, occupancyInclLeavePct: incl, seq: 1, ...extra,
});

test('ward pressure: thresholds and ordering', () => {
  assert.equal(wardPressure(ward('A', 80)).level, 1);
  assert.equal(wardPressure(ward('A', 85)).level, 1);
  assert.equal(wardPressure(ward('A', 86)).level, 2);
  assert.equal(wardPressure(ward('A', 95)).level, 3);
  assert.equal(wardPressure(ward('A', 102)).level, 4);
  assert.equal(wardPressure(ward('A', 90, 0)).level, 4);
  const sorted = [ward('W1', 70), ward('W2', 104), ward('W3', 96), ward('W4', 96, 2, { crfd: 3 })].sort(compareWardsByPressure);
  assert.deepEqual(sorted.map((w) => w.ward), ['W2', 'W4', 'W3', 'W1']);
});

test('thresholds read naturally', () => {
  assert.equal(thresholdText({ value: 72, unit: 'hours' }), '72 hours');
  assert.equal(thresholdText({ value: 1, unit: 'days' }), '1 day');
  assert.equal(thresholdText({ value: 85, unit: 'percent' }), '85%');
});

test('routes round-trip', () => {
  assert.deepEqual(parseRoute('#/ward/W12'), { view: 'ward', ward: 'W12' });
  assert.deepEqual(parseRoute(''), { view: 'site' });
  assert.deepEqual(parseRoute('#/alerts?team=Crisis%20North&rule=followup_missed'), { view: 'alerts', team: 'Crisis North', rule: 'followup_missed' });
  assert.equal(routeHref({ view: 'alerts', team: 'Crisis North', rule: null }), '#/alerts?team=Crisis+North');
  assert.deepEqual(parseRoute(routeHref({ view: 'ward', ward: 'A/B 1' })), { view: 'ward', ward: 'A/B 1' });
});

test('escalation: the words on an alert say to whom and which level, not colour', () => {
  assert.equal(escalationText({ level: 1, role: 'bed_manager', at: 0 }), 'Escalated to bed manager (level 1)');
  assert.equal(escalationText({ level: 2, role: 'ops', at: 0 }), 'Escalated to ops (on call) (level 2)');
  assert.equal(roleLabel('site_director'), 'site director');
});

test('escalation notices: one per alert, a higher level replaces it, repeats and acknowledged alerts add nothing', () => {
  const a: Alert = { alertId: 'a1', rule: 'referral_response', severity: 'critical', threshold: { value: 4, unit: 'hours' }, source: 's', message: 'm', site: 'RXT', team: 'CRHT-N', becameTrueAt: 0, raisedAt: 0, version: 2, escalated: { level: 1, role: 'bed_manager', at: 5 } };
  const one = noteEscalation([], a);
  assert.deepEqual(one, [{ alertId: 'a1', level: 1, role: 'bed_manager' }]);
  assert.deepEqual(noteEscalation(one, a), one);
  const two = noteEscalation(one, { ...a, version: 3, escalated: { level: 2, role: 'ops', at: 10 } });
  assert.deepEqual(two, [{ alertId: 'a1', level: 2, role: 'ops' }]);
  assert.deepEqual(noteEscalation([], { ...a, acknowledged: { by: 'n', at: 6 } }), []);
  assert.equal(openNotices(two, new Map([['a1', a]])).length, 1);
  assert.equal(openNotices(two, new Map([['a1', { ...a, acknowledged: { by: 'n', at: 6 } }]])).length, 0);
  assert.deepEqual(escalatedOpen([{ ...a, alertId: 'b', raisedAt: 9 }, a, { ...a, alertId: 'c', escalated: undefined }]).map((x) => x.alertId), ['a1', 'b']);
});

test('alerts after a snapshot: a change that came live while the snapshot was read stands; an older one never wins', () => {
  const alert = (id: string, version: number, extra: Partial<Alert> = {}): Alert => ({ alertId: id, rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 't', message: 'm', site: 'RXT', ward: 'OAK', becameTrueAt: 1, raisedAt: 1, version, ...extra });
  const ids = (m: Map<string, Alert>) => [...m.keys()].sort();
  // Site snapshot, read before A3 was raised, A1 resolved and A2 acknowledged (all live after the join at t=100).
  const shown = new Map([['A0', alert('A0', 1)], ['A1', alert('A1', 1)], ['A2', alert('A2', 1)], ['A3', alert('A3', 1)]]);
  const live = new Map<string, LiveChange>([
    ['OLD', { version: 1, alert: alert('OLD', 1), at: 50 }],
    ['A3', { version: 1, alert: alert('A3', 1), at: 110 }],
    ['A1', { version: 2, at: 120 }],
    ['A2', { version: 2, alert: alert('A2', 2, { acknowledged: { by: 'x', at: 5 } }), at: 130 }],
  ]);
  const site = mergeSnapshotAlerts(shown, [alert('A1', 1), alert('A2', 1), alert('A4', 1)], true, live, 100);
  assert.deepEqual(ids(site), ['A2', 'A3', 'A4']);
  assert.equal(site.get('A2')!.version, 2);
  // A snapshot newer than the live change keeps its own version.
  assert.equal(mergeSnapshotAlerts(new Map(), [alert('A2', 3)], true, live, 100).get('A2')!.version, 3);
  // A ward snapshot adds, never over a newer version shown; a change out of scope since the join stays off.
  const ward = mergeSnapshotAlerts(new Map([['B1', alert('B1', 4)]]), [alert('B1', 2), alert('B2', 1)], false, new Map([['B2', { version: GONE_VERSION, at: 200 }]]), 150);
  assert.deepEqual(ids(ward), ['B1']);
  assert.equal(ward.get('B1')!.version, 4);
  // Without the live record, the snapshot read before the raise would have dropped A3.
  assert.deepEqual(ids(mergeSnapshotAlerts(shown, [alert('A1', 1)], true, new Map(), 100)), ['A1']);
});

test('live changes: a repeat of an older version does not replace the newer one; old ones are forgotten', () => {
  const live = new Map<string, LiveChange>();
  noteLiveChange(live, 'A', { version: 2, at: 1000 });
  noteLiveChange(live, 'A', { version: 1, at: 1001 });
  assert.equal(live.get('A')!.version, 2);
  noteLiveChange(live, 'B', { version: 1, at: 200_000 }, 120_000);
  assert.deepEqual([...live.keys()], ['B']);
});
