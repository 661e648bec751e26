// Which alert versions page a person, and what a page may carry.
import type { Alert } from '@pfm/contracts';
import { pageFor, pagesOf } from './pager';

const base: Alert = {
  alertId: 'followup_missed:P1:D1', rule: 'followup_missed', severity: 'critical', threshold: { value: 72, unit: 'hours' },
  source: 'NHS Standard Contract', message: 'NHS 999 000 0018: no follow-up contact within 72 hours of discharge',
  site: 'RXT', ward: 'NG-ASH', team: 'CRISIS-N', area: 'North', patientId: 'P1', nhsNumber: '9990000018', spellId: 'S1',
  becameTrueAt: 1_000, raisedAt: 2_000, version: 1,
};

describe('pageFor', () => {
  it('pages a Critical alert nobody has acknowledged, without patient identifiers', () => {
    const p = pageFor(base, 'https://board.example.nhs.uk/');
    expect(p).toEqual({
      pageId: 'RXT/followup_missed:P1:D1/0', alertId: 'followup_missed:P1:D1', rule: 'followup_missed', severity: 'critical', site: 'RXT',
      ward: 'NG-ASH', team: 'CRISIS-N', area: 'North', threshold: { value: 72, unit: 'hours' }, source: 'NHS Standard Contract',
      becameTrueAt: 1_000, raisedAt: 2_000, level: 0, version: 1,
      link: 'https://board.example.nhs.uk/#/alerts?rule=followup_missed',
    });
    const text = JSON.stringify(p);
    for (const identifier of ['9990000018', '999 000 0018', '"P1"', 'S1', 'no follow-up contact']) expect(text).not.toContain(identifier);
  });

  it('pages nothing for warning or info alerts, or once acknowledged or resolved', () => {
    expect(pageFor({ ...base, severity: 'warning' })).toBeNull();
    expect(pageFor({ ...base, severity: 'info' })).toBeNull();
    expect(pageFor({ ...base, version: 2, acknowledged: { by: 'crisis-lead', at: 3_000 } })).toBeNull();
    expect(pageFor({ ...base, version: 2, resolvedAt: 3_000 })).toBeNull();
  });

  it('pages again at each escalation level, naming the role now responsible', () => {
    const p = pageFor({ ...base, version: 2, escalated: { level: 1, role: 'bed_manager', at: 5_000 } });
    expect(p).toMatchObject({ pageId: 'RXT/followup_missed:P1:D1/1', level: 1, role: 'bed_manager', version: 2 });
  });
});

describe('pagesOf a batch', () => {
  it('drops pages of alerts acknowledged or resolved later in the same batch, and repeats of a level', () => {
    const other: Alert = { ...base, alertId: 'awol:P2', rule: 'awol', patientId: 'P2' };
    const pages = pagesOf([
      base, { ...base }, // a redelivered version 1
      other, { ...other, version: 2, acknowledged: { by: 'nurse', at: 3_000 } },
      { ...base, version: 2, escalated: { level: 1, role: 'bed_manager', at: 5_000 } },
    ]);
    expect(pages.map((p) => p.pageId)).toEqual(['RXT/followup_missed:P1:D1/0', 'RXT/followup_missed:P1:D1/1']);
  });

  it('an older version read after a newer one does not undo the newer one', () => {
    const pages = pagesOf([{ ...base, version: 2, resolvedAt: 3_000 }, base]);
    expect(pages).toEqual([]);
  });
});
