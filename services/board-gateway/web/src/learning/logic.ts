// Pure helpers of the learning log (#/learning): the note form's checks and body, the
// outcome words, and the order the log lists changes in. No DOM, no fetch.
import type { ImprovementNote, Verdict } from '../insights/api';

/** Who may record a change (the API refuses the others; the page does not offer them the form). */
export const NOTE_WRITERS = ['ops', 'analyst'];

export const VERDICT_TEXT: Record<Verdict, string> = {
  improvement: 'Special-cause improvement since the change',
  concern: 'Concern: special cause against the expected direction',
  'no-signal': 'No signal yet',
  'too-early': 'Too early to tell',
};

export interface NoteForm {
  title: string; site: string; ward: string; team: string; effectiveDate: string; measures: string[]; expectedDirection: '' | 'up' | 'down';
}
export const emptyForm = (site = ''): NoteForm => ({ title: '', site, ward: '', team: '', effectiveDate: '', measures: [], expectedDirection: '' });

export type FieldErrors = Partial<Record<keyof NoteForm | 'form', string>>;

const CODE = /^[A-Za-z0-9_-]{1,32}$/;

/** The problems the page can see before sending (the API checks again and has the last word). */
export function checkForm(f: NoteForm): FieldErrors {
  const e: FieldErrors = {};
  if (f.title.trim().length < 3) e.title = 'Say what changed (at least 3 characters).';
  else if (f.title.trim().length > 200) e.title = 'At most 200 characters.';
  if (!f.site) e.site = 'Choose a site.';
  if (f.ward && !CODE.test(f.ward)) e.ward = 'Not a ward code.';
  if (f.team && !CODE.test(f.team)) e.team = 'Not a team code.';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.effectiveDate)) e.effectiveDate = 'Give the date the change took effect.';
  if (f.measures.length === 0) e.measures = 'Choose at least one measure it aims to move.';
  if (f.expectedDirection !== 'up' && f.expectedDirection !== 'down') e.expectedDirection = 'Say which way the measures should move.';
  return e;
}

/** The POST body: empty optional fields left out. */
export function noteBody(f: NoteForm): Record<string, unknown> {
  return {
    title: f.title.trim(), site: f.site, effectiveDate: f.effectiveDate, measures: f.measures, expectedDirection: f.expectedDirection,
    ...(f.ward ? { ward: f.ward } : {}), ...(f.team ? { team: f.team.trim() } : {}),
  };
}

/** The API's field errors ({field: "measures.1", message}) on the form's fields. */
export function apiFieldErrors(errors: readonly { field: string; message: string }[]): FieldErrors {
  const out: FieldErrors = {};
  for (const { field, message } of errors) {
    const key = (field.split('.')[0] || 'form') as keyof FieldErrors;
    const name = key in emptyForm() ? key : 'form';
    out[name] = out[name] ? `${out[name]}; ${message}` : message;
  }
  return out;
}

/** Newest change first; among one day's, the latest recorded first. */
export function logOrder(notes: readonly ImprovementNote[]): ImprovementNote[] {
  return [...notes].sort((a, b) => (a.effectiveDate !== b.effectiveDate ? (a.effectiveDate < b.effectiveDate ? 1 : -1) : a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0));
}

/** How many notes have each verdict on at least one measure (the log's summary line). */
export function verdictCounts(notes: readonly ImprovementNote[]): Record<Verdict, number> {
  const c: Record<Verdict, number> = { improvement: 0, concern: 0, 'no-signal': 0, 'too-early': 0 };
  for (const n of notes) for (const v of new Set(n.outcomes.map((o) => o.verdict))) c[v] += 1;
  return c;
}
