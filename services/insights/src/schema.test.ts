import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import type { FlowEvent } from '@pfm/contracts';
import { alertRow } from './consumer';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { dictionaryJson, dictionaryMarkdown, tableNamed } from './schema';

const docs = join(__dirname, '..', '..', '..', 'docs');
const ctx: RowContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('s'.repeat(32)), areas: new LocalAreas([], 'area') };

describe('warehouse schema and data dictionary', () => {
  it('docs/data-dictionary.md and .json are what the schema generates (./pfm insights dictionary)', () => {
    expect(readFileSync(join(docs, 'data-dictionary.md'), 'utf8')).toBe(dictionaryMarkdown());
    expect(readFileSync(join(docs, 'data-dictionary.json'), 'utf8')).toBe(dictionaryJson());
  });

  it('every row the fold produces has exactly its table\'s columns', () => {
    const at = Date.parse('2026-01-01T00:00:00Z');
    const base = { site: 'RXT', patientId: 'P', sourceSystem: 'T', channel: 'json' as const };
    const events: FlowEvent[] = [
      { ...base, eventId: '1', type: 'referral.received', occurredAt: at, recordedAt: at, payload: { referralId: 'R', team: 'T', teamType: 'crisis', urgency: 'urgent' } },
      { ...base, eventId: '2', type: 'patient.admitted', occurredAt: at + 1, recordedAt: at + 1, payload: { spellId: 'S', ward: 'W' } },
      { ...base, eventId: '3', type: 'leave.started', occurredAt: at + 2, recordedAt: at + 2, payload: { spellId: 'S' } },
      { ...base, eventId: '4', type: 'crfd.started', occurredAt: at + 3, recordedAt: at + 3, payload: { spellId: 'S', reasonCode: '01' } },
    ];
    const rows = patientRows(events.reduce((s, e) => evolve(s, e).state, emptyPatient('RXT', 'P')), ctx);
    for (const [name, list] of Object.entries(rows)) {
      expect(list.length).toBe(1);
      expect({ name, cols: Object.keys(list[0]!).sort() }).toEqual({ name, cols: tableNamed(name).columns.map((c) => c.name).sort() });
    }
    const alert = alertRow({ alertId: 'a', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 's', message: 'm', site: 'RXT', becameTrueAt: 1, raisedAt: 2 }, ctx);
    expect(Object.keys(alert).sort()).toEqual(tableNamed('alerts').columns.map((c) => c.name).sort());
  });
});
