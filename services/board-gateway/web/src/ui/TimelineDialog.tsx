// A patient's spell timeline in a modal dialog. The native <dialog> (showModal) makes
// the rest of the page inert; Tab is additionally kept inside the dialog, Esc closes
// it, and focus returns to the bed tile that opened it.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PatientRow } from '@pfm/contracts';
import type { LiveBoard } from '../live';
import type { TimelineEvent } from '../api';
import { formatDateTime, formatDay, patientIdentifier, toMillis } from '../format';
import { eventTypeLabel } from '../labels';

type Load = { state: 'loading' } | { state: 'ok'; events: TimelineEvent[] } | { state: 'error'; message: string };

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function TimelineDialog({ board, patient, opener, onClose }: { board: LiveBoard; patient: PatientRow; opener: HTMLElement | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (!d.open) d.showModal();
    closeRef.current?.focus();
    return () => {
      if (d.open) d.close();
      // Give focus back to the tile that opened the dialog (if it is still on the page).
      if (opener && opener.isConnected) opener.focus();
    };
  }, [opener]);

  useEffect(() => {
    const ctl = new AbortController();
    setLoad({ state: 'loading' });
    board.timeline(patient.patientId, patient.spellId, ctl.signal).then(
      (r) => setLoad({ state: 'ok', events: [...(r.events ?? [])].sort((a, b) => toMillis(a.occurredAt) - toMillis(b.occurredAt)) }),
      (e: unknown) => {
        if (ctl.signal.aborted) return;
        setLoad({ state: 'error', message: e instanceof Error ? e.message : String(e) });
      },
    );
    return () => ctl.abort();
  }, [board, patient.patientId, patient.spellId, attempt]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Tab') return;
    const d = ref.current;
    if (!d) return;
    const items = [...d.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) { e.preventDefault(); return; }
    if (e.shiftKey && (document.activeElement === first || !d.contains(document.activeElement))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (document.activeElement === last || !d.contains(document.activeElement))) { e.preventDefault(); first.focus(); }
  };

  const who = patientIdentifier(patient);
  return (
    <dialog
      ref={ref}
      class="timeline-dialog"
      data-testid="timeline-dialog"
      aria-labelledby="timeline-title"
      aria-describedby="timeline-who"
      onCancel={(e) => { e.preventDefault(); onClose(); }}
      onKeyDown={onKeyDown}
      onClick={(e) => { if (e.target === ref.current) onClose(); }}
    >
      <div class="dialog-inner">
        <header class="dialog-head">
          <h2 id="timeline-title">Spell timeline</h2>
          <button ref={closeRef} type="button" class="btn" onClick={onClose} data-testid="timeline-close">
            Close<span class="visually-hidden"> timeline</span> <kbd aria-hidden="true">Esc</kbd>
          </button>
        </header>
        <p id="timeline-who" class="dialog-who">
          <strong>{patient.initials ?? '—'}</strong>
          {who && <> · {who.kind} {who.value}</>} · spell {patient.spellId} · ward {patient.ward}
          {patient.bed && <> · bed {patient.bed}</>} · LOS {patient.losDays} days · admitted {formatDay(patient.admittedAt)}
          {patient.legalStatus && <> · legal status {patient.legalStatus}</>}
        </p>
        {load.state === 'loading' && <p role="status" class="loading">Loading timeline…</p>}
        {load.state === 'error' && (
          <div role="alert" class="error-box">
            <p>Could not load the timeline: {load.message}</p>
            <button type="button" class="btn" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
          </div>
        )}
        {load.state === 'ok' && (load.events.length === 0 ? (
          <p class="empty">No events recorded for this spell.</p>
        ) : (
          <ol class="timeline" data-testid="timeline-events">
            {load.events.map((ev, i) => {
              const t = toMillis(ev.occurredAt);
              const label = eventTypeLabel(ev.type);
              // A summary that only repeats the label ("Leave started") is not shown twice.
              const same = ev.summary.trim().toLowerCase() === label.toLowerCase() || ev.summary.trim().toLowerCase() === ev.type.replace(/\./g, ' ');
              return (
                <li key={`${i}-${ev.type}`} class="timeline-event" data-testid="timeline-event" data-type={ev.type}>
                  <time dateTime={Number.isFinite(t) ? new Date(t).toISOString() : undefined}>{Number.isFinite(t) ? formatDateTime(t) : String(ev.occurredAt)}</time>
                  <span class="timeline-type">{label}</span>
                  {!same && <span class="timeline-summary">{ev.summary}</span>}
                </li>
              );
            })}
          </ol>
        ))}
      </div>
    </dialog>
  );
}
