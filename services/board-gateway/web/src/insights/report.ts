// What the monthly board report shows, and its dates (pure).

/** Key measures charted in the report, in order (those the catalogue has). */
export const REPORT_MEASURES = ['occupancy_incl_leave', 'admissions', 'los_median', 'stranded_bed_day_share', 'crfd_bed_days', 'oap_bed_days', 'readmission_30d', 'followup_72h', 'detained_admission_share'];
/** Equity comparisons whose flagged segments the report lists. */
export const REPORT_EQUITY: [string, string][] = [['detained_admission_share', 'ethnic_group'], ['admissions', 'local_area'], ['readmission_30d', 'deprivation_quintile'], ['detained_admission_share', 'age_band']];
/** Weeks of history on the report's charts, up to the end of the month. */
export const REPORT_WEEKS = 26;

const iso = (d: Date) => d.toISOString().slice(0, 10);

/** The month's first day, the next month's first day, the charts' first day and the equity window's first day (12 months). */
export function reportDates(month: string): { start: string; next: string; chartsFrom: string; equityFrom: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const start = new Date(Date.UTC(y, m - 1, 1));
  const next = new Date(Date.UTC(y, m, 1));
  const chartsFrom = new Date(next.getTime() - REPORT_WEEKS * 7 * 86_400_000);
  const equityFrom = new Date(Date.UTC(y, m - 12, 1));
  return { start: iso(start), next: iso(next), chartsFrom: iso(chartsFrom), equityFrom: iso(equityFrom) };
}

/** "March 2026". */
export const monthName = (month: string): string => new Date(`${month}-01T00:00:00Z`).toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** The month before the one `now` is in (the usual month a board report covers). */
export function lastMonth(now: number): string {
  const d = new Date(now);
  const prev = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1));
  return prev.toISOString().slice(0, 7);
}
