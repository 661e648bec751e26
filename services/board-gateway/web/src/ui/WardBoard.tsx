// Ward bed board: the ward's counters, then a bed grid. Each occupied bed is a button
// that opens the patient's spell timeline.
import { useState } from 'preact/hooks';
import type { PatientRow } from '@pfm/contracts';
import type { BoardState, LiveBoard } from '../live';
import { formatDay, naturalCompare, patientIdentifier, wardTypeLabel } from '../format';
import { wardPressure } from '../labels';
import { routeHref } from '../route';
import { BedCounters, CrfdSummary, FlowCounters, OccupancyBar, PatientChips, PressureBadge } from './common';
import { TimelineDialog } from './TimelineDialog';
import { EscalatedList } from './Escalations';
import { escalatedOpen } from '../escalations';

export function WardBoard({ state, ward, board, now }: { state: BoardState; ward: string; board: LiveBoard; now: number }) {
  const w = state.wards.get(ward);
  const patients = state.patients.get(ward);
  const [open, setOpen] = useState<{ p: PatientRow; opener: HTMLElement | null } | null>(null);

  const present = (patients ?? []).filter((p) => p.status !== 'discharged');
  const withBed = present.filter((p) => p.bed).sort((a, b) => naturalCompare(a.bed ?? '', b.bed ?? ''));
  const noBed = present.filter((p) => !p.bed).sort((a, b) => b.losDays - a.losDays);
  const free = Math.max(0, w?.free ?? 0);
  const closed = Math.max(0, w?.closed ?? 0);

  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={routeHref({ view: 'site' })}>Site board</a> <span aria-hidden="true">›</span> <span aria-current="page">{w?.name ?? ward}</span>
      </nav>
      <h1 class="view-title" tabIndex={-1}>
        {w?.name ?? `Ward ${ward}`}
        <span class="muted"> · {ward}{w ? ` · ${wardTypeLabel(w.wardType)}` : ''}</span>
      </h1>
      {w ? (
        <section class="ward-summary" aria-label="Ward summary" data-testid={`ward-summary-${ward}`}>
          <div class="ward-summary-occ">
            <PressureBadge p={wardPressure(w)} testid={`ward-pressure-${ward}`} />
            <OccupancyBar w={w} />
          </div>
          <BedCounters w={w} />
          <FlowCounters w={w} />
          <CrfdSummary w={w} />
          {patients && patients.some((p) => p.crfdDays) ? (
            <p class="muted" data-testid={`ward-crfd-days-${ward}`}>
              CRFD delay days on this ward: {Math.round(patients.reduce((n, p) => n + (p.crfdDays ?? 0), 0) * 10) / 10}
            </p>
          ) : null}
        </section>
      ) : !state.wardsLoaded ? (
        <p class="loading" role="status">Loading ward…</p>
      ) : (
        <p class="empty">Ward {ward} is not on this board. <a href={routeHref({ view: 'site' })}>Back to the site board</a>.</p>
      )}

      <EscalatedList alerts={escalatedOpen(state.alerts.values())} now={now} ward={ward} />

      <section aria-labelledby="beds-heading" class="beds-section">
        <h2 id="beds-heading">Beds</h2>
        <p class="hint">Select a patient to see their spell timeline. LOS counts from the start of the hospital spell.</p>
        {patients === undefined ? (
          <p class="loading" role="status">Loading patients…</p>
        ) : (
          <ul class="bed-grid" data-testid={`bed-grid-${ward}`}>
            {withBed.map((p) => (
              <li key={p.spellId}>
                <BedTile p={p} now={now} onOpen={(el) => setOpen({ p, opener: el })} />
              </li>
            ))}
            {Array.from({ length: free }, (_, i) => (
              <li key={`free-${i}`}>
                <div class="bed-tile bed-free" data-testid="bed-free"><span class="bed-no">Free bed</span></div>
              </li>
            ))}
            {Array.from({ length: closed }, (_, i) => (
              <li key={`closed-${i}`}>
                <div class="bed-tile bed-closed" data-testid="bed-closed"><span class="bed-no">Closed bed</span></div>
              </li>
            ))}
          </ul>
        )}
        {noBed.length > 0 && (
          <>
            <h3>Patients without a bed on this ward</h3>
            <ul class="bed-grid">
              {noBed.map((p) => (
                <li key={p.spellId}>
                  <BedTile p={p} now={now} onOpen={(el) => setOpen({ p, opener: el })} />
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      {open && <TimelineDialog board={board} patient={open.p} opener={open.opener} onClose={() => setOpen(null)} />}
    </>
  );
}

function BedTile({ p, now, onOpen }: { p: PatientRow; now: number; onOpen: (el: HTMLElement) => void }) {
  const who = patientIdentifier(p);
  const edd = p.expectedDischargeAt;
  const eddPassed = edd !== undefined && (p.flags.includes('edd_passed') || edd < now);
  return (
    <button
      type="button"
      class={`bed-tile bed-occupied${p.status === 'on_leave' ? ' bed-leave' : ''}`}
      data-testid={`patient-${p.patientId}`}
      data-bed={p.bed ?? ''}
      data-spell={p.spellId}
      aria-haspopup="dialog"
      onClick={(e) => onOpen(e.currentTarget)}
    >
      <span class="bed-top">
        <span class="bed-no">{p.bed ? `Bed ${p.bed}` : 'No bed'}</span>
        <span class="los" data-testid="los"><strong>{p.losDays}</strong> {p.losDays === 1 ? 'day' : 'days'}<span class="visually-hidden"> length of stay</span></span>
      </span>
      <span class="initials">{p.initials ?? '—'}</span>
      {who && <span class="pid"><span class="pid-kind">{who.kind}</span> {who.value}</span>}
      <PatientChips p={p} />
      <span class={`edd${eddPassed ? ' edd-passed' : ''}`}>
        {edd !== undefined ? <>EDD {formatDay(edd)}{eddPassed ? ' (passed)' : ''}</> : 'No EDD set'}
      </span>
      <span class="visually-hidden">. Open spell timeline.</span>
    </button>
  );
}
