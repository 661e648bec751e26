// Keys kept per site are the same strings as built each time: memoising changes no key.
import { Keys } from './keys';

describe('keys', () => {
  it('names the same keys whether made once or again, for any site and scope', () => {
    const k = new Keys('pfm');
    for (let round = 0; round < 2; round++) {
      for (const site of ['RXT', 'R1L', 'A_b-c']) {
        const t = `pfm:{${site}}`;
        expect([k.due(site), k.wards(site), k.teams(site), k.parked(site), k.alerts(site), k.alertOutbox(site)])
          .toEqual([`${t}:due`, `${t}:wards`, `${t}:teams`, `${t}:parked`, `${t}:alerts`, `${t}:aout`]);
        for (const scope of ['ward:W12', 'team:CRHT', 'site']) {
          expect(k.counts(site, scope)).toBe(`${t}:c:${scope}`);
          expect(k.beds(site, scope)).toBe(`${t}:b:${scope}`);
          expect(k.index(site, scope, 'los')).toBe(`${t}:i:${scope}:los`);
          expect(k.index(site, scope, 'edd')).toBe(`${t}:i:${scope}:edd`);
          expect(k.index(site, scope, 'dta')).toBe(`${t}:i:${scope}:dta`);
        }
      }
    }
    // Another prefix is another namespace.
    expect(new Keys('sbx').counts('RXT', 'site')).toBe('sbx:{RXT}:c:site');
  });
});
