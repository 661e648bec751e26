// Site flow board: the site's pressure and referrals waiting, then one tile per ward,
// highest pressure first.
import type { WardSummary } from '@pfm/contracts';
import type { BoardState } from '../live';
import { compareWardsByPressure, PRESSURE_RULE_TEXT, wardPressure } from '../labels';
import { wardTypeLabel } from '../format';
import { routeHref } from '../route';
import { BedCounters, Counter, CrfdSummary, FlowCounters, OccupancyBar, PressureBadge } from './common';
import { Icon, PRESSURE_SHAPES } from './icons';
import { EscalatedList } from './Escalations';
import { escalatedOpen } from '../escalations';

export function SiteBoard({ state, now }: { state: BoardState; now: number }) {
  // Units outside the trust hold out-of-area placements: shown in the site header, never as local wards.
  const wards = [...state.wards.values()].filter((w) => !w.external && w.wardType !== 'place_of_safety').sort(compareWardsByPressure);
  const suites = [...state.wards.values()].filter((w) => !w.external && w.wardType === 'place_of_safety');
  return (
    <>
      <h1 class="view-title" tabIndex={-1}>
        Site flow board{state.site ? <span class="muted"> · {state.site}</span> : null}
      </h1>
      <SiteHeader state={state} wards={wards} suites={suites} />
      <EscalatedList alerts={escalatedOpen(state.alerts.values())} now={now} />
      <section aria-labelledby="wards-heading" class="wards-section">
        <div class="section-head">
          <h2 id="wards-heading">Wards <span class="muted">({wards.length}, highest pressure first)</span></h2>
          <p class="rule-note">{PRESSURE_RULE_TEXT}</p>
        </div>
        {!state.wardsLoaded && wards.length === 0 ? (
          <p class="loading" role="status">Loading wards…</p>
        ) : wards.length === 0 ? (
          <p class="empty">No wards on this board yet.</p>
        ) : (
          <ul class="ward-grid" data-testid="ward-grid">
            {wards.map((w) => <li key={w.ward}><WardTile w={w} /></li>)}
          </ul>
        )}
      </section>
    </>
  );
}

function SiteHeader({ state, wards, suites }: { state: BoardState; wards: WardSummary[]; suites: WardSummary[] }) {
  const info = state.siteInfo;
  const level = info ? (Math.min(4, Math.max(1, Math.round(info.pressure.level))) as 1 | 2 | 3 | 4) : null;
  const sum = (f: (w: WardSummary) => number) => wards.reduce((s, w) => s + f(w), 0);
  const over = sum((w) => Math.max(0, w.occupied - Math.max(0, w.beds - w.closed)));
  const oap = info?.outOfArea;
  return (
    <section class="site-header" aria-label="Site status">
      <div class={`site-pressure${level ? ` pressure-${level}` : ''}`} data-testid="site-pressure" data-level={level ?? ''}>
        {info && level ? (
          <>
            <p class="site-pressure-main">
              <Icon shape={PRESSURE_SHAPES[level]} class="icon-lg" />
              <span>
                <span class="kicker">Site pressure</span>
                <strong class="site-level">Level {level} · {info.pressure.label}</strong>
              </span>
            </p>
            {info.pressure.reasons.length > 0 && (
              <ul class="site-reasons" aria-label="Why">
                {info.pressure.reasons.map((r) => <li key={r}>{r}</li>)}
              </ul>
            )}
          </>
        ) : (
          <p class="muted">Site pressure: waiting for data…</p>
        )}
      </div>
      <AdmissionQueueBlock info={info} />
      <dl class="counters site-totals" aria-label="Site totals">
        <Counter testid="site-beds" label="Beds" value={sum((w) => w.beds)} />
        <Counter testid="site-occupied" label="Occupied" value={sum((w) => w.occupied)} />
        <Counter testid="site-free" label="Free" value={sum((w) => w.free)} />
        <Counter testid="site-closed" label="Closed" value={sum((w) => w.closed)} />
        {over > 0 && <Counter testid="site-over" label="Over capacity" value={over} alert hint="Patients beyond a ward's open beds" />}
        <Counter testid="site-crfd" label="CRFD" value={sum((w) => w.crfd)} alert hint="Clinically ready for discharge" />
        <Counter testid="site-super-stranded" label="Super-stranded" value={sum((w) => w.superStranded)} alert />
      </dl>
      <dl class="counters site-totals" aria-label="Out-of-area placements (not local beds)">
        <Counter testid="site-out-of-area" label="Placed out of area" value={oap ? oap.placements : 0} alert />
        <Counter testid="site-oap-bed-days" label="OAP bed-days" value={oap ? oap.bedDays : 0} hint="Days so far in units outside the trust" />
        {suites.length > 0 && (
          <Counter testid="site-s136" label="s136 suite in use" value={suites.reduce((n, w) => n + w.occupied, 0)} alert hint={`Place-of-safety spaces: ${suites.reduce((n, w) => n + Math.max(0, w.beds - w.closed), 0)}`} />
        )}
        {oap?.meanDistanceKm !== undefined && <Counter testid="site-oap-distance" label="Mean km from home" value={Math.round(oap.meanDistanceKm)} hint={`Furthest ${oap.maxDistanceKm ?? 0} km`} />}
      </dl>
    </section>
  );
}

/** The decision-to-admit queue next to the discharges expected today and tomorrow. */
function AdmissionQueueBlock({ info }: { info: BoardState['siteInfo'] }) {
  const q = info?.admissionQueue;
  const edd = info?.expectedDischarges;
  return (
    <div class="site-referrals" data-testid="admission-queue">
      <span class="kicker">Waiting for a bed (decision to admit)</span>
      <strong class="big-number" data-testid="admission-queue-waiting">{q ? q.waiting : '–'}</strong>
      {q && q.waiting > 0 && (
        <p class={q.breaches > 0 ? 'counter-hot' : 'muted'} data-testid="admission-queue-breaches">
          Emergency: {q.breaches} over {q.breachHours} h · longest {q.longestWaitHours} h
        </p>
      )}
      {q && q.entries.length > 0 && (
        <ol class="queue-list" aria-label="Longest waits">
          {q.entries.slice(0, 5).map((e) => (
            <li key={e.patientId}>{e.waitedHours} h · {e.source}{e.sex ? ` · ${e.sex}` : ''}{e.emergency === false ? ' · planned (no 12 h clock)' : ''}</li>
          ))}
        </ol>
      )}
      <p class="muted" data-testid="expected-discharges">
        Expected discharges: today {edd ? edd.today : '–'}, tomorrow {edd ? edd.tomorrow : '–'}
      </p>
      <p class="muted">
        Referrals awaiting assessment (all teams): <span data-testid="referrals-waiting">{info ? info.referralsWaiting : '–'}</span>
      </p>
    </div>
  );
}

/** One ward's tile (also used by the replay view for the board at a past time). */
export function WardTile({ w }: { w: WardSummary }) {
  const p = wardPressure(w);
  const hid = `ward-${w.ward}-name`;
  return (
    <article class={`ward-tile pressure-${p.level}`} data-testid={`ward-tile-${w.ward}`} data-level={p.level} aria-labelledby={hid}>
      <header class="ward-tile-head">
        <h3 id={hid}>
          <a href={routeHref({ view: 'ward', ward: w.ward })}>
            {w.name}
            <span class="visually-hidden"> ({w.ward}) — open bed board</span>
          </a>
        </h3>
        <PressureBadge p={p} testid={`ward-pressure-${w.ward}`} />
        <p class="ward-meta">
          <span class="ward-code">{w.ward}</span> · {wardTypeLabel(w.wardType)}
        </p>
      </header>
      <OccupancyBar w={w} />
      <BedCounters w={w} />
      <FlowCounters w={w} />
      <CrfdSummary w={w} />
    </article>
  );
}
