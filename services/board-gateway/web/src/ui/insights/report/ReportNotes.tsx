// The report's improvement notes: changes recorded with an effective date in the month,
// with each measure's outcome so far.
import type { ImprovementNote } from '../../../insights/api';

const VERDICT: Record<string, string> = { improvement: 'special-cause improvement', concern: 'concern', 'no-signal': 'no signal yet', 'too-early': 'too early to tell' };

export function ReportNotes({ notes, month }: { notes: readonly ImprovementNote[]; month: string }) {
  return (
    <section class="report-section" aria-labelledby="report-notes" data-testid="report-notes">
      <h2 id="report-notes">Improvement notes, {month}</h2>
      {notes.length === 0 ? <p>No changes were recorded with an effective date this month.</p> : (
        <table class="data-table report-table">
          <thead><tr><th scope="col">From</th><th scope="col">Change</th><th scope="col">Where</th><th scope="col">Outcome so far</th></tr></thead>
          <tbody>
            {notes.map((n) => (
              <tr key={n.noteId}>
                <td>{n.effectiveDate}</td>
                <th scope="row">{n.title} <span class="muted">({n.author}; expected {n.expectedDirection})</span></th>
                <td>{[n.site, n.ward, n.team].filter(Boolean).join(' / ')}</td>
                <td>{n.outcomes.length ? n.outcomes.map((o) => `${o.measure}: ${VERDICT[o.verdict] ?? o.verdict} (${o.pointsSince} points)`).join('; ') : 'not assessed yet'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
