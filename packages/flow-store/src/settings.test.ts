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

  it('refuses an unknown setting, so a typo never passes silently', () => {
    expect(() => loadThresholds(file({ strandedDayz: 7 }))).toThrow(/unknown settings strandedDayz/);
  });
});
