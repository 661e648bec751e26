// The learning log (#/learning): every change the trust recorded (improvement.noted on the
// flow log), where and when, the measures it aims to move, and each measure's outcome so
// far (weekly SPC against the weeks before it: improvement, concern, no signal, too early);
// and, for ops and analysts, the form that records a change. Each outcome links to the
// Insights chart of that measure, rebased at the change.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AuthError, HttpError } from '../api';
import type { Catalogue, ImprovementNote } from '../insights/api';
import { LearningApi, NoteRefused } from '../learning/api';
import { apiFieldErrors, checkForm, emptyForm, logOrder, NOTE_WRITERS, noteBody, VERDICT_TEXT, verdictCounts, type FieldErrors, type NoteForm } from '../learning/logic';
import { routeHref } from '../route';
import { Icon } from './icons';

export function LearningLog({ token, catalogue, role }: { token: string; catalogue: Catalogue; role: string | null }) {
  const api = useMemo(() => new LearningApi(token), [token]);
  const [notes, setNotes] = useState<ImprovementNote[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const [waitingFor, setWaitingFor] = useState<string | null>(null);
  const canWrite = role !== null && NOTE_WRITERS.includes(role);
  const measureName = (id: string) => catalogue.measures.find((m) => m.id === id)?.name ?? id;

  useEffect(() => {
    const ac = new AbortController();
    api.notes(undefined, ac.signal).then((n) => { setNotes(logOrder(n)); setProblem(null); })
      .catch((e: unknown) => { if (!ac.signal.aborted) setProblem(e instanceof AuthError ? 'This link has expired or is not valid — ask for a new link.' : e instanceof Error ? e.message : String(e)); });
    return () => ac.abort();
  }, [api, refresh]);

  // A recorded note reaches the log once the warehouse has read it from the flow log: look again until it is there.
  useEffect(() => {
    if (!waitingFor) return undefined;
    if (notes?.some((n) => n.noteId === waitingFor)) { setWaitingFor(null); return undefined; }
    const t = setTimeout(() => setRefresh((r) => r + 1), 700);
    return () => clearTimeout(t);
  }, [waitingFor, notes]);

  const counts = notes ? verdictCounts(notes) : null;
  return (
    <section class="learning" aria-labelledby="learning-title">
      <h1 id="learning-title" class="view-title" tabIndex={-1}>Learning log</h1>
      <p class="muted">
        Every change recorded, with what it aimed to move and what the measures show so far: weekly figures since the change
        read against limits set on the weeks before it (Making Data Count SPC). A verdict needs 7 weeks since the change.
      </p>
      {canWrite && <NoteFormView api={api} catalogue={catalogue} onRecorded={(id) => { setWaitingFor(id); setRefresh((r) => r + 1); }} />}
      {problem && <p class="banner banner-problem" data-testid="learning-error"><Icon shape="triangle" /> {problem}</p>}
      {!notes && !problem && <p class="loading" role="status">Reading the learning log…</p>}
      {notes && counts && (
        <p data-testid="learning-summary">
          {notes.length === 0 ? 'No changes recorded yet.' : `${notes.length} change${notes.length === 1 ? '' : 's'} recorded: ${counts.improvement} showing improvement, ${counts.concern} concern, ${counts['no-signal']} no signal yet, ${counts['too-early']} too early to tell.`}
        </p>
      )}
      {waitingFor && <p class="muted" role="status" data-testid="learning-waiting">Recorded; it appears here once the warehouse has read it from the flow log…</p>}
      {notes && notes.length > 0 && (
        <ol class="learning-list" data-testid="learning-list">
          {notes.map((n) => (
            <li key={n.noteId} class="learning-note" data-note={n.noteId}>
              <h2>{n.title}</h2>
              <p class="muted">
                From <time dateTime={n.effectiveDate}>{n.effectiveDate}</time> at {n.site}{n.ward ? `, ward ${n.ward}` : ''}{n.team ? `, team ${n.team}` : ''};
                expected to go {n.expectedDirection}. Recorded by {n.author} on <time dateTime={n.recordedAt}>{n.recordedAt.slice(0, 10)}</time>.
              </p>
              <ul class="learning-outcomes">
                {n.outcomes.map((o) => (
                  <li key={o.measure} data-measure={o.measure} data-verdict={o.verdict}>
                    <strong>{measureName(o.measure)}</strong>:{' '}
                    <span class={`verdict verdict-${o.verdict}`}>{VERDICT_TEXT[o.verdict]}</span>{' '}
                    <span class="muted">({o.pointsSince} week{o.pointsSince === 1 ? '' : 's'} since; {o.detail})</span>{' '}
                    <a href={routeHref({ view: 'insights', params: { measure: o.measure, site: n.site, ...(n.ward ? { ward: n.ward } : {}), rebaseAt: n.effectiveDate } })}>
                      Chart, rebased at the change<span class="visually-hidden"> ({measureName(o.measure)}, {n.title})</span>
                    </a>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function NoteFormView({ api, catalogue, onRecorded }: { api: LearningApi; catalogue: Catalogue; onRecorded: (noteId: string) => void }) {
  const [form, setForm] = useState<NoteForm>(() => emptyForm(catalogue.scope.sites[0] ?? ''));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // After a refused send, focus moves to the first field in error (once it is marked).
  const [focusFirst, setFocusFirst] = useState(0);
  useEffect(() => {
    if (!focusFirst) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    (first?.tagName === 'FIELDSET' ? first.querySelector<HTMLElement>('input') : first)?.focus();
  }, [focusFirst]);
  // A note is read at its site, ward or team: measures without a site cut cannot be.
  const measures = catalogue.measures.filter((m) => m.by.includes('site'));
  const wards = catalogue.scope.wards.filter((w) => w.site === form.site);
  const set = (p: Partial<NoteForm>) => { setForm({ ...form, ...p }); setDone(null); };
  const err = (k: keyof FieldErrors) => (errors[k] ? { 'aria-invalid': true, 'aria-describedby': `note-${k}-error` } : {});
  const errorText = (k: keyof FieldErrors) => errors[k] && <span id={`note-${k}-error`} class="field-error" data-testid={`note-error-${k}`}>{errors[k]}</span>;

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = checkForm(form);
    setErrors(found);
    if (Object.keys(found).length) {
      setFocusFirst((n) => n + 1);
      return;
    }
    setBusy(true);
    try {
      const { noteId } = await api.record(noteBody(form));
      setDone(`Recorded “${form.title.trim()}”.`);
      setForm(emptyForm(form.site));
      onRecorded(noteId);
    } catch (x) {
      if (x instanceof NoteRefused) setErrors(x.errors.length ? apiFieldErrors(x.errors) : { form: x.message });
      else setErrors({ form: x instanceof HttpError || x instanceof Error ? x.message : String(x) });
      setFocusFirst((n) => n + 1);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={formRef} class="note-form" aria-labelledby="note-form-title" onSubmit={(e) => void submit(e)} noValidate data-testid="note-form">
      <h2 id="note-form-title">Record a change</h2>
      <div class="note-row">
        <label class="control control-wide">What changed
          <input type="text" value={form.title} maxLength={200} onInput={(e) => set({ title: e.currentTarget.value })} data-testid="note-title" {...err('title')} />
          {errorText('title')}
        </label>
      </div>
      <div class="note-row">
        <label class="control">Site
          <select value={form.site} onChange={(e) => set({ site: e.currentTarget.value, ward: '' })} data-testid="note-site" {...err('site')}>
            {catalogue.scope.sites.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
          {errorText('site')}
        </label>
        <label class="control">Ward (optional)
          <select value={form.ward} onChange={(e) => set({ ward: e.currentTarget.value })} data-testid="note-ward" {...err('ward')}>
            <option value="">Whole site</option>
            {wards.map((w) => <option key={w.ward} value={w.ward}>{w.name} ({w.ward})</option>)}
          </select>
          {errorText('ward')}
        </label>
        <label class="control">Team (optional)
          <input type="text" value={form.team} maxLength={32} onInput={(e) => set({ team: e.currentTarget.value })} data-testid="note-team" {...err('team')} />
          {errorText('team')}
        </label>
        <label class="control">Took effect on
          <input type="date" value={form.effectiveDate} onInput={(e) => set({ effectiveDate: e.currentTarget.value })} data-testid="note-date" {...err('effectiveDate')} />
          {errorText('effectiveDate')}
        </label>
      </div>
      <fieldset class="control note-measures" {...err('measures')}>
        <legend>Measures it aims to move</legend>
        {measures.map((m) => (
          <label key={m.id} class="check">
            <input type="checkbox" value={m.id} checked={form.measures.includes(m.id)} data-testid={`note-measure-${m.id}`}
              onChange={(e) => set({ measures: e.currentTarget.checked ? [...form.measures, m.id] : form.measures.filter((x) => x !== m.id) })} />
            {m.name}
          </label>
        ))}
        {errorText('measures')}
      </fieldset>
      <fieldset class="control" {...err('expectedDirection')}>
        <legend>If it works, the measures go</legend>
        {(['down', 'up'] as const).map((d) => (
          <label key={d} class="radio">
            <input type="radio" name="note-direction" value={d} checked={form.expectedDirection === d} onChange={() => set({ expectedDirection: d })} data-testid={`note-direction-${d}`} />
            {d}
          </label>
        ))}
        {errorText('expectedDirection')}
      </fieldset>
      {errorText('form')}
      <p>
        <button type="submit" class="btn" disabled={busy} data-testid="note-submit">{busy ? 'Recording…' : 'Record the change'}</button>{' '}
        <span role="status" data-testid="note-done">{done}</span>
      </p>
    </form>
  );
}
