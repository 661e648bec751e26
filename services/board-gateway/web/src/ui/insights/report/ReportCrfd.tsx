// The report's delays section: CRFD bed days in the month by MHSDS delay reason (with its
// v6 reason group: Community, Social care/local authority, Hospital, Housing, Not known), and
// out-of-area placement bed days in the month by ward.
import type { SeriesResponse } from '../../../insights/api';
import { crfdReason } from '../../../crfd-reasons';
import { formatNumber } from '../../../insights/logic';

const totals = (s: SeriesResponse | null) => (s ? s.segments.map((g) => ({ key: g.segment ?? 'not known', days: g.points.reduce((a, p) => a + p.numerator, 0) })).filter((r) => r.days > 0).sort((a, b) => b.days - a.days) : []);

export function ReportCrfd({ crfd, oap, month }: { crfd: SeriesResponse | null; oap: SeriesResponse | null; month: string }) {
  const reasons = totals(crfd);
  const wards = totals(oap);
  const sum = (rows: { days: number }[]) => rows.reduce((a, r) => a + r.days, 0);
  return (
    <section class="report-section report-delays" aria-labelledby="report-delays">
      <h2 id="report-delays">Delays and out-of-area placements, {month}</h2>
      <div class="report-two">
        <table class="data-table report-table" data-testid="report-crfd">
          <caption>CRFD delayed bed days by reason: {formatNumber(sum(reasons), 0)}</caption>
          <thead><tr><th scope="col">Reason (MHSDS)</th><th scope="col">Group</th><th scope="col" class="num">Bed days</th></tr></thead>
          <tbody>
            {reasons.length === 0 ? <tr><td colSpan={3}>No delayed bed days.</td></tr> : reasons.map((r) => {
              const reason = crfdReason(r.key);
              return (
                <tr key={r.key}>
                  <th scope="row">{reason.label.includes(r.key) ? reason.label : `${reason.label} (${r.key})`}</th>
                  <td>{reason.groupLabel ?? (reason.version === 5 ? 'MHSDS v5 (no group)' : 'Not known')}</td>
                  <td class="num">{formatNumber(r.days, 0)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <table class="data-table report-table" data-testid="report-oap">
          <caption>Out-of-area placement (OAP) bed days: {formatNumber(sum(wards), 0)}</caption>
          <thead><tr><th scope="col">Ward</th><th scope="col" class="num">Bed days</th></tr></thead>
          <tbody>
            {wards.length === 0 ? <tr><td colSpan={2}>No out-of-area bed days.</td></tr> : wards.map((r) => (
              <tr key={r.key}><th scope="row">{r.key}</th><td class="num">{formatNumber(r.days, 0)}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
