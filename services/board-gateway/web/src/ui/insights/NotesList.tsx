// Improvement notes of the charted measure, numbered as on the chart, each with its
// outcome so far and a "rebase here" action (limits recalculated from the note's date).
import type { ImprovementNote } from '../../insights/api';

const VERDICT: Record<string, string> = {
  improvement: 'special-cause improvement since the change', concern: 'concern since the change', 'no-signal': 'no signal yet', 'too-early': 'too early to tell',
};

export function NotesList({ notes, measure, rebaseAt, onRebase }: { notes: readonly ImprovementNote[]; measure: string; rebaseAt: string; onRebase: (date: string) => void }) {
  if (notes.length === 0) return null;
  return (
    <section class="notes" aria-labelledby="notes-title" data-testid="notes-list">
      <h2 id="notes-title">Improvement notes on this chart</h2>
      <ol>
        {notes.map((n, i) => {
          const outcome = n.outcomes.find((o) => o.measure === measure);
          return (
            <li key={n.noteId} data-note={n.noteId}>
              <span class="note-number" aria-hidden="true">{i + 1}</span>
              <span>
                <strong>{n.title}</strong> <span class="muted">from {n.effectiveDate}{n.ward ? `, ward ${n.ward}` : ''}{n.team ? `, team ${n.team}` : ''}; expected to go {n.expectedDirection}</span>
                {outcome && <span class={`verdict verdict-${outcome.verdict}`}> — {VERDICT[outcome.verdict] ?? outcome.verdict} ({outcome.pointsSince} points): {outcome.detail}</span>}
              </span>
              <button type="button" class="btn btn-small" aria-pressed={rebaseAt === n.effectiveDate} onClick={() => onRebase(rebaseAt === n.effectiveDate ? '' : n.effectiveDate)} data-testid="rebase-here">
                {rebaseAt === n.effectiveDate ? 'Remove rebase' : 'Rebase here'}<span class="visually-hidden"> ({n.title})</span>
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
