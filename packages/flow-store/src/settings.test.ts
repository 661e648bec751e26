// Trust thresholds files: merged over the national defaults, refused when a setting is wrong.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { loadThresholds } from './settings';

describe('loadThresholds', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pfm-thresholds-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (content: unknown) => {
    const p = join(dir, `t-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify(content));
    return p;
  };

  it('adds a trust Mental Health Act clock to the national ones', () => {
    const t = loadThresholds(file({ mhaClocks: { '37': { label: 'section 37 hospital order (6 months)', months: 6, warnBeforeHours: 672 } } }));
    expect(t.mhaClocks['37']).toMatchObject({ months: 6 });
    expect(t.mhaClocks['02']).toEqual(DEFAULT_THRESHOLDS.mhaClocks['02']);
  });

  it('refuses a clock with no length, two lengths, or a length that is not above 0', () => {
    for (const clock of [{ label: 'x', warnBeforeHours: 0 }, { label: 'x', hours: 72, days: 3, warnBeforeHours: 0 }, { label: 'x', days: 0, warnBeforeHours: 0 }, { label: 'x', months: '6', warnBeforeHours: 0 }]) {
      expect(() => loadThresholds(file({ mhaClocks: { '99': clock } }))).toThrow(/mhaClocks\.99 needs exactly one of hours, days or months/);
    }
  });

  it('refuses a clock that extends or counts from a status mhaClocks does not have, itself, or both at once', () => {
    expect(() => loadThresholds(file({ mhaClocks: { '05': { label: 'x', hours: 72, warnBeforeHours: 0, countsFrom: '6' } } }))).toThrow(/mhaClocks\.05 countsFrom '6', which is not another status/);
    expect(() => loadThresholds(file({ mhaClocks: { '21': { label: 'x', hours: 36, warnBeforeHours: 0, extends: '21' } } }))).toThrow(/mhaClocks\.21 extends '21'/);
    expect(() => loadThresholds(file({ mhaClocks: { '21': { label: 'x', hours: 36, warnBeforeHours: 0, extends: '20', countsFrom: '20' } } }))).toThrow(/both extends and countsFrom/);
    expect(loadThresholds(file({ mhaClocks: { '21': { label: 'x', hours: 36, warnBeforeHours: 0, countsFrom: '20' } } })).mhaClocks['21']).toMatchObject({ countsFrom: '20' });
  });

  it('refuses an unknown setting, so a typo never passes silently', () => {
    expect(() => loadThresholds(file({ strandedDayz: 7 }))).toThrow(/unknown settings strandedDayz/);
  });
});
