// The trust's story (story.ts): its areas are the config files' areas, and the event
// stream shows the differences the national data shows. One fixed seed, 120 days.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowEventInput } from '@pfm/contracts';
import { createSimulation, DAY_MS } from './model';
import { crfdGroupOf } from './rates';
import { AREA_PROFILES, ETHNIC_GROUPS, ethnicGroupOf, plantedChange, DEFAULT_STORY } from './story';

const config = (name: string) => readFileSync(join(__dirname, '..', '..', '..', 'config', name), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const START = Date.UTC(2026, 5, 1);
const DAYS = 120;

describe('area profiles', () => {
  it('are the areas, deprivation and population of config/local-areas.csv and config/population.csv', () => {
    const areas = config('local-areas.csv').slice(1).map((l) => l.split(','));
    expect(areas.map(([code, name, , q]) => ({ code, name, q: Number(q) }))).toEqual(AREA_PROFILES.map((a) => ({ code: a.code, name: a.name, q: a.deprivationQuintile })));
    const rows = config('population.csv').slice(1).map((l) => l.split(','));
    for (const a of AREA_PROFILES) {
      const mine = rows.filter((r) => r[0] === a.code);
      const total = mine.reduce((n, r) => n + Number(r[4]), 0);
      expect({ area: a.code, total }).toEqual({ area: a.code, total: a.population });
      for (const g of ETHNIC_GROUPS) {
        const share = (mine.filter((r) => r[3] === g).reduce((n, r) => n + Number(r[4]), 0) / total) * 100;
        expect({ area: a.code, g, share: Math.round(share) }).toEqual({ area: a.code, g, share: a.ethnicMix[g] });
      }
    }
  });

  it('names the planted change as an improvement note on the coordinator\'s ward', () => {
    expect(plantedChange('RXT', START, DEFAULT_STORY)).toEqual({
      ward: 'RV-CEDAR', controlWard: 'RV-DOVE', from: START - 60 * DAY_MS, delayFactor: DEFAULT_STORY.delayFactor,
      note: {
        noteId: 'sim-RXT-RV-CEDAR-coordinator-2026-04-02', site: 'RXT', ward: 'RV-CEDAR', effectiveDate: '2026-04-02',
        title: 'Discharge coordinator on RV-CEDAR: daily review of every patient ready for discharge', measures: ['crfd_bed_days'], expectedDirection: 'down',
      },
    });
  });
});

describe('the story in the event stream (seed 42, 120 days)', () => {
  let events: FlowEventInput[];
  beforeAll(() => {
    events = [...createSimulation({ seed: 42, start: START, historyDays: DAYS, burnInDays: 200 }).history(DAYS)];
  });
  const admissions = (all = false) => events.filter((e) => e.type === 'patient.admitted' && (all || e.occurredAt >= START - DAYS * DAY_MS)).map((e) => e.payload as { ethnicity?: string; area?: string; legalStatus?: string; spellId: string });

  it('Black patients are detained at admission more often than White patients (national pattern)', () => {
    const share = (g: string) => {
      const of = admissions().filter((a) => ethnicGroupOf(a.ethnicity ?? 'Z') === g);
      return of.filter((a) => a.legalStatus !== '01').length / of.length;
    };
    expect(share('Black or Black British')).toBeGreaterThan(share('White') + 0.15);
  });

  it('the most deprived area admits the most per head, and Black people are admitted more per head than White people', () => {
    const perHead = (area: string) => admissions().filter((a) => a.area === area).length / AREA_PROFILES.find((p) => p.code === area)!.population;
    expect(perHead('CITY')).toBeGreaterThan(perHead('NORTH'));
    expect(perHead('NORTH')).toBeGreaterThan(perHead('SOUTH'));
    const pop = (g: string) => AREA_PROFILES.reduce((n, a) => n + (a.population * a.ethnicMix[g as keyof typeof a.ethnicMix]) / 100, 0);
    const rate = (g: string) => admissions().filter((a) => ethnicGroupOf(a.ethnicity ?? 'Z') === g).length / pop(g);
    expect(rate('Black or Black British')).toBeGreaterThan(1.5 * rate('White'));
  });

  it('housing delays are commonest, and longest, in the area where housing is scarce (CITY)', () => {
    // Every spell in the stream (the opening census too), CITY against the other two areas.
    const areaOf = new Map(admissions(true).map((a) => [a.spellId, a.area === 'CITY' ? 'CITY' : 'rest']));
    const periods = new Map<string, { area: string; housing: boolean; start: number }>();
    const days: Record<string, { housing: number; all: number; n: number }> = {};
    for (const e of events) {
      const p = e.payload as { spellId?: string; reasonCode?: string };
      if (!p.spellId || !areaOf.has(p.spellId)) continue;
      const open = periods.get(p.spellId);
      if (e.type === 'crfd.started') periods.set(p.spellId, { area: areaOf.get(p.spellId)!, housing: crfdGroupOf(p.reasonCode!) === 'housing', start: e.occurredAt });
      if ((e.type === 'crfd.ended' || e.type === 'patient.discharged') && open) {
        const d = (days[open.area] ??= { housing: 0, all: 0, n: 0 });
        d.all += (e.occurredAt - open.start) / DAY_MS;
        if (open.housing) { d.housing += (e.occurredAt - open.start) / DAY_MS; d.n += 1; }
        periods.delete(p.spellId);
      }
    }
    const share = (a: string) => days[a]!.housing / days[a]!.all;
    const mean = (a: string) => days[a]!.housing / days[a]!.n;
    expect(share('CITY')).toBeGreaterThan(share('rest') * 1.5);
    expect(mean('CITY')).toBeGreaterThan(mean('rest'));
  });
});
