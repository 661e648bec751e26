// A small insights warehouse for browser tests and screenshots, written straight into
// DuckDB (no Kafka): 16 weeks of admissions to two wards of RXT, with
// - a step up in Oak's weekly admissions from week 8 (special cause on its SPC chart);
// - detention at admission three times as common for Black or Black British patients
//   as for the rest (outside the 99.8% funnel limits);
// - three Mixed-group admissions, one detained (a small number: "<5").
// The read API runs in the test process over it, with the e2e token secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Auth } from '@pfm/access';
import type { FlowEvent, Ward } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import { createLogger } from '@pfm/observability';
import { repoRoot } from '@pfm/testkit';
import { LocalAreas, patientRows, Pseudonymiser, Warehouse, type RowContext } from '@pfm/insights';
import { buildInsightsApi } from '@pfm/insights/src/api';
import { loadCatalogue, loadPopulation } from '@pfm/insights/src/measures';

export const INSIGHTS_WARDS: Ward[] = [
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 20 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu', beds: 8 },
];
const D = 86_400_000;
const W = 7 * D;
/** A Monday. */
export const SEED_T0 = Date.parse('2026-01-05T10:00:00Z');
export const SEED_WEEKS = 16;
/** Oak's admissions per week: about 6 for 8 weeks, then about 12. */
export const OAK_WEEKLY = [5, 7, 6, 5, 7, 6, 5, 7, 12, 13, 11, 12, 13, 11, 12, 13];
export const ELM_WEEKLY = [3, 4, 5, 4, 3, 5, 4, 4, 3, 5, 4, 3, 4, 5, 4, 3];
/** The week the step starts (a date an improvement note can name). */
export const STEP_DATE = new Date(SEED_T0 + 8 * W).toISOString().slice(0, 10);

export function seedRecords() {
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (_s, w) => INSIGHTS_WARDS.find((x) => x.code === w)?.type ?? 'adult_acute',
    pseudo: new Pseudonymiser('s'.repeat(40)), areas: new LocalAreas([{ areaCode: 'NORTH', name: 'North', locality: 'NORTH', deprivationQuintile: 2 }], 'locality'),
  };
  let n = 0;
  let k = 0;
  const out = [];
  for (let w = 0; w < SEED_WEEKS; w++) {
    for (const [ward, count] of [['OAK', OAK_WEEKLY[w]!], ['ELM', ELM_WEEKLY[w]!]] as const) {
      for (let i = 0; i < count; i++, k++) {
        const id = `IV${k}`;
        const slot = k % 20;
        // 12 in 20 White, 4 Asian, 4 Black; the first three patients are Mixed.
        const ethnicity = k < 3 ? 'D' : slot < 12 ? 'A' : slot < 16 ? 'H' : 'M';
        // A quarter detained, but three in four of the Black group.
        const detained = ethnicity === 'M' ? slot !== 16 : k % 4 === 0;
        const at = SEED_T0 + w * W + i * 3_600_000;
        const ev = (type: FlowEvent['type'], payload: object, t: number) =>
          ({ eventId: `iv${++n}`, type, payload, occurredAt: t, recordedAt: t, site: 'RXT', patientId: id, sourceSystem: 'T', channel: 'json' }) as FlowEvent;
        const events = [
          ev('patient.admitted', { spellId: `S${id}`, ward, legalStatus: detained ? '03' : '01', area: 'NORTH', ageBand: '25-34', gender: k % 2 ? 'F' : 'M', ethnicity }, at),
        ];
        // One in six ready for discharge but delayed (CRFD) from the next morning: housing (32) or care package (04).
        if (k % 6 === 0) events.push(ev('crfd.started', { spellId: `S${id}`, reasonCode: k % 12 === 0 ? '32' : '04' }, at + D / 2));
        events.push(ev('patient.discharged', { spellId: `S${id}` }, at + 2 * D + (k % 6 === 0 ? 3 * D : 0)));
        const state = events.reduce((s, e) => evolve(s, e).state, emptyPatient('RXT', id));
        out.push({ recordKey: ctx.pseudo.recordKey('RXT', id), state, rows: patientRows(state, ctx) });
      }
    }
  }
  return out;
}

export interface SeededInsights { url: string; app: FastifyInstance; close(): Promise<void> }

/** The warehouse written and the read API listening on a free port. */
export async function startSeededInsights(secret: string): Promise<SeededInsights> {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-insights-e2e-'));
  const w = await Warehouse.open(join(dir, 'insights.duckdb'), { thresholds: DEFAULT_THRESHOLDS, wards: INSIGHTS_WARDS });
  await w.commit({ records: seedRecords(), alerts: [], offsets: [], watermark: SEED_T0 + SEED_WEEKS * W + D });
  const app = buildInsightsApi({
    warehouse: w, auth: new Auth(secret), logger: createLogger('insights-e2e'),
    catalogue: loadCatalogue(join(repoRoot, 'config', 'measures.json')), population: loadPopulation(join(repoRoot, 'config', 'population.csv')),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url, app,
    close: async () => { await app.close(); w.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}
