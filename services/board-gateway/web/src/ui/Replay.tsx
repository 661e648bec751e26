// Replay: the board as it was at a past time. A time slider (one-hour steps over the
// flow log's first to last event) and an exact date-time field choose the time; a toggle
// chooses "as shown at the time" (events recorded by then) or "with hindsight" (events
// that had happened by then, including ones recorded later). Each change (debounced)
// asks the gateway to replay the log into a sandbox up to that time; the ward tiles are
// the site board's own.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, AuthError, ForbiddenError, type ReplayBasis, type ReplayBoard, type ReplayRange } from '../api';
import { compareWardsByPressure } from '../labels';
import { Icon } from './icons';
import { WardTile } from './SiteBoard';

const HOUR = 3_600_000;
const DEBOUNCE_MS = 400;

const localText = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** yyyy-MM-ddTHH:mm in the browser's time zone (what a datetime-local input holds). */
export function toLocalInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const problemText = (e: unknown): string =>
  e instanceof ForbiddenError ? 'Replay is for ops and bed managers: your access does not include it.'
    : e instanceof AuthError ? 'This link has expired or is not valid — ask for a new board link.'
      : `Could not replay the board: ${e instanceof Error ? e.message : String(e)}. Try again.`;

export function ReplayView({ token }: { token: string }) {
  const api = useMemo(() => new Api(token), [token]);
  const [range, setRange] = useState<ReplayRange | null>(null);
  const [rangeError, setRangeError] = useState<string | null>(null);
  const [at, setAt] = useState<number | null>(null);
  const [basis, setBasis] = useState<ReplayBasis>('shown');
  const [board, setBoard] = useState<ReplayBoard | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    api.replayRange(ac.signal).then((r) => {
      setRange(r);
      if (r.to !== null) setAt((cur) => cur ?? r.to);
    }).catch((e: unknown) => { if (!ac.signal.aborted) setRangeError(problemText(e)); });
    return () => ac.abort();
  }, [api]);

  useEffect(() => {
    if (at === null) return undefined;
    const ac = new AbortController();
    setLoading(true);
    const t = window.setTimeout(() => {
      api.replayBoard(at, basis, ac.signal).then((b) => { setBoard(b); setError(null); })
        .catch((e: unknown) => { if (!ac.signal.aborted) setError(problemText(e)); })
        .finally(() => { if (!ac.signal.aborted) setLoading(false); });
    }, DEBOUNCE_MS);
    return () => { window.clearTimeout(t); ac.abort(); };
  }, [api, at, basis]);

  const from = range?.from ?? null;
  const to = range?.to ?? null;
  const steps = from !== null && to !== null ? Math.max(1, Math.ceil((to - from) / HOUR)) : 0;
  const stepOf = (t: number) => (from === null ? 0 : Math.max(0, Math.min(steps, Math.round((t - from) / HOUR))));
  const timeOf = (i: number) => (from === null || to === null ? 0 : Math.min(to, from + i * HOUR));
  const flagged = board ? board.sites.reduce((n, s) => n + s.flagged.length, 0) : 0;

  return (
    <>
      <h1 class="view-title" tabIndex={-1}>Replay</h1>
      {rangeError ? (
        <p class="banner banner-problem" data-testid="replay-error"><Icon shape="triangle" /> {rangeError}</p>
      ) : !range ? (
        <p class="loading" role="status">Reading the event log…</p>
      ) : from === null || to === null ? (
        <p class="empty" data-testid="replay-empty">No events in the log yet: nothing to replay.</p>
      ) : (
        <section class="replay-controls" aria-label="Replay time">
          <p>
            <label for="replay-slider">Time</label>{' '}
            <output for="replay-slider replay-exact" data-testid="replay-time" data-at={at ?? ''} aria-live="polite">
              {at === null ? '–' : <><time dateTime={new Date(at).toISOString()}>{localText.format(at)}</time> <span class="muted">({new Date(at).toISOString()})</span></>}
            </output>
          </p>
          <input
            id="replay-slider" type="range" data-testid="replay-slider" class="replay-slider"
            min={0} max={steps} step={1} value={at === null ? steps : stepOf(at)}
            aria-valuetext={at === null ? undefined : localText.format(at)}
            onInput={(e) => setAt(timeOf(Number(e.currentTarget.value)))}
          />
          <p class="muted replay-ends">
            <span>{localText.format(from)}</span> – <span>{localText.format(to)}</span> (one-hour steps; arrow keys move an hour)
          </p>
          <p>
            <label for="replay-exact">Exact time</label>{' '}
            <input
              id="replay-exact" type="datetime-local" data-testid="replay-exact" step={60}
              value={at === null ? '' : toLocalInput(at)}
              onChange={(e) => { const t = new Date(e.currentTarget.value).getTime(); if (Number.isFinite(t)) setAt(t); }}
            />
          </p>
          <fieldset class="replay-basis">
            <legend>Events</legend>
            <label><input type="radio" name="replay-basis" value="shown" data-testid="replay-basis-shown" checked={basis === 'shown'} onChange={() => setBasis('shown')} /> As shown at the time</label>{' '}
            <label><input type="radio" name="replay-basis" value="known" data-testid="replay-basis-known" checked={basis === 'known'} onChange={() => setBasis('known')} /> With hindsight</label>
          </fieldset>
        </section>
      )}
      {loading && <p class="loading" role="status" data-testid="replay-loading">Replaying the event log…</p>}
      {error && <p class="banner banner-problem" data-testid="replay-error"><Icon shape="triangle" /> {error}</p>}
      {board && (
        <section aria-label="Replayed board" data-testid="replay-board" data-at={board.at} data-basis={board.basis} aria-busy={loading}>
          <p class="banner banner-stale" data-testid="replay-banner">
            <Icon shape="diamond" /> Board as at {localText.format(board.at)} — replay, not live
            {board.basis === 'known' ? ' (with hindsight)' : ' (as shown at the time)'} · <span data-testid="replay-flagged">{flagged}</span> flagged patients
          </p>
          {board.sites.map((s) => (
            <section key={s.site} aria-label={`Site ${s.site}`}>
              <h2>{s.site} <span class="muted">({s.wards.length} wards)</span></h2>
              {s.wards.length === 0 ? <p class="empty">No wards in your access at this time.</p> : (
                <ul class="ward-grid" data-testid="ward-grid">
                  {[...s.wards].sort(compareWardsByPressure).map((w) => <li key={w.ward}><WardTile w={w} /></li>)}
                </ul>
              )}
            </section>
          ))}
        </section>
      )}
    </>
  );
}
