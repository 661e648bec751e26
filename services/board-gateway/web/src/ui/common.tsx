// Pieces shared by the views: counters, ward counters, occupancy bar, flag chips.
import type { ComponentChildren, JSX } from 'preact';
import type { PatientRow, WardSummary } from '@pfm/contracts';
import { crfdReason, topCrfdReasons } from '../crfd-reasons';
import { formatPct } from '../format';
import { FLAG_LABELS, LOS_TIERS, humanise, type WardPressure } from '../labels';
import { Icon, PRESSURE_SHAPES } from './icons';

export function Counter(props: { testid: string; label: ComponentChildren; value: number; alert?: boolean; hint?: string }) {
  const hot = props.alert && props.value > 0;
  return (
    <div class={`counter${hot ? ' counter-hot' : ''}`} title={props.hint}>
      <dt>{props.label}</dt>
      <dd data-testid={props.testid}>{props.value}</dd>
    </div>
  );
}

export function PressureBadge({ p, testid }: { p: WardPressure; testid?: string }) {
  return (
    <span class={`badge pressure-${p.level}`} data-testid={testid} data-level={p.level} title={p.reason}>
      <Icon shape={PRESSURE_SHAPES[p.level]} />
      <span>{p.label}<span class="visually-hidden"> pressure: {p.reason}</span></span>
    </span>
  );
}

/** Occupancy bar on a fixed 0-120% scale so wards compare at a glance; 85% and 100% marked. */
export function OccupancyBar({ w }: { w: WardSummary }) {
  const scale = 120;
  const clamp = (v: number) => Math.max(0, Math.min(scale, Number.isFinite(v) ? v : 0));
  const present = clamp(w.occupancyPct);
  const incl = Math.max(present, clamp(w.occupancyInclLeavePct));
  const pos = (v: number) => `${(v / scale) * 100}%`;
  const over = w.occupancyInclLeavePct > 85;
  return (
    <div class="occupancy">
      <p class="occupancy-figures">
        <span class={`occ-main${over ? ' occ-over' : ''}`}>
          <span class="occ-label">Occupied incl. leave</span>{' '}
          <strong data-testid={`occupancy-incl-leave-${w.ward}`}>{formatPct(w.occupancyInclLeavePct)}</strong>
          {over && <span class="occ-flag"><Icon shape="triangle" /> over 85%</span>}
        </span>
        <span class="occ-sub">
          <span class="occ-label">Physically present</span>{' '}
          <strong data-testid={`occupancy-${w.ward}`}>{formatPct(w.occupancyPct)}</strong>
        </span>
      </p>
      <div
        class="bar"
        role="img"
        aria-label={`Occupancy ${formatPct(w.occupancyPct)} physically present, ${formatPct(w.occupancyInclLeavePct)} including leave; recommended maximum 85%.`}
      >
        <span class="bar-present" style={{ width: pos(present) }} />
        <span class="bar-leave" style={{ left: pos(present), width: pos(incl - present) }} />
        <span class="bar-line bar-85" style={{ left: pos(85) }}><span class="bar-line-label">85%</span></span>
        <span class="bar-line bar-100" style={{ left: pos(100) }} />
      </div>
    </div>
  );
}

export function BedCounters({ w }: { w: WardSummary }) {
  const id = w.ward;
  return (
    <dl class="counters counters-beds">
      <Counter testid={`beds-${id}`} label="Beds" value={w.beds} />
      <Counter testid={`occupied-${id}`} label="Occupied" value={w.occupied} hint="Patients with a bed on this ward, including those on leave" />
      <Counter testid={`on-leave-${id}`} label="On leave" value={w.onLeave} />
      <Counter testid={`free-${id}`} label="Free" value={w.free} />
      <Counter testid={`closed-${id}`} label="Closed" value={w.closed} />
    </dl>
  );
}

export function FlowCounters({ w }: { w: WardSummary }) {
  const id = w.ward;
  return (
    <dl class="counters counters-flow">
      <Counter testid={`stranded-${id}`} label="Stranded 7d+" value={w.stranded} alert hint="Length of stay 7 days or more" />
      <Counter testid={`super-stranded-${id}`} label="Super-stranded 21d+" value={w.superStranded} alert hint="Length of stay 21 days or more" />
      <Counter testid={`long-stay-${id}`} label="Long stay" value={w.longStay} alert hint="Over the long-stay threshold for this ward type (60/90 days for acute)" />
      <Counter testid={`edd-passed-${id}`} label="EDD passed" value={w.eddPassed} alert hint="Expected date of discharge has passed" />
      <Counter testid={`out-of-area-${id}`} label="Out of area" value={w.outOfArea} alert hint="Out-of-area placements" />
    </dl>
  );
}

export function CrfdSummary({ w }: { w: WardSummary }) {
  const { top, rest } = topCrfdReasons(w.crfdReasons, 3);
  return (
    <div class="crfd">
      <p class="crfd-head">
        <span class="crfd-label" title="Clinically ready for discharge">CRFD</span>{' '}
        <strong data-testid={`crfd-${w.ward}`}>{w.crfd}</strong>
        <span class="muted"> ready for discharge{w.crfd > 0 && top.length > 0 ? ', delayed by:' : ''}</span>
      </p>
      {top.length > 0 && (
        <ul class="crfd-reasons" data-testid={`crfd-reasons-${w.ward}`}>
          {top.map(({ reason, count }) => (
            <li key={reason.code} data-code={reason.code}>
              <span class="reason-count">{count}</span> <ReasonLabel code={reason.code} />
            </li>
          ))}
          {rest > 0 && <li class="muted">{rest} other</li>}
        </ul>
      )}
    </div>
  );
}

export function ReasonLabel({ code }: { code: string }) {
  const r = crfdReason(code);
  return (
    <span class="reason" title={`MHSDS v${r.version} delay reason ${r.code}${r.groupLabel ? ` (${r.groupLabel})` : ''}${r.generic ? ': code not in the published list' : ''}`}>
      {r.label}
      {r.generic && <span class="generic-mark" aria-label=" (code not in the published list)">*</span>}
    </span>
  );
}

type ChipKind = 'los' | 'crfd' | 'edd' | 'oap' | 'leave' | 'other';

function Chip({ kind, flag, children }: { kind: ChipKind; flag: string; children: ComponentChildren }) {
  const shape = kind === 'los' ? 'diamond' : kind === 'edd' ? 'triangle' : kind === 'crfd' ? 'check' : kind === 'leave' ? 'ring' : 'square';
  return (
    <span class={`chip chip-${kind}`} data-testid={`flag-${flag}`}>
      <span class="visually-hidden">, </span>
      <Icon shape={shape} />
      <span>{children}</span>
    </span>
  );
}

/**
 * Flag chips for a patient (spans, not a list: they sit inside the bed tile's button).
 * Only the highest length-of-stay tier is shown (each implies the lower ones).
 */
export function PatientChips({ p }: { p: PatientRow }) {
  const flags = new Set(p.flags);
  if (p.status === 'on_leave') flags.add('on_leave');
  if (p.outOfArea) flags.add('oap');
  if (p.crfdReason) flags.add('crfd');
  const tier = LOS_TIERS.find((t) => flags.has(t));
  const chips: JSX.Element[] = [];
  if (tier) chips.push(<Chip key={tier} kind="los" flag={tier}>{FLAG_LABELS[tier]}</Chip>);
  if (flags.has('crfd')) {
    chips.push(
      <Chip key="crfd" kind="crfd" flag="crfd">
        CRFD{p.crfdReason ? <>: <ReasonLabel code={p.crfdReason} /></> : null}{p.crfdDays ? ` · ${p.crfdDays} d` : null}
      </Chip>,
    );
  }
  if (flags.has('edd_passed')) chips.push(<Chip key="edd" kind="edd" flag="edd_passed">{FLAG_LABELS.edd_passed}</Chip>);
  if (flags.has('oap')) chips.push(<Chip key="oap" kind="oap" flag="oap">{FLAG_LABELS.oap}</Chip>);
  if (flags.has('on_leave')) chips.push(<Chip key="leave" kind="leave" flag="on_leave">{FLAG_LABELS.on_leave}</Chip>);
  const known = new Set<string>([...LOS_TIERS, 'crfd', 'edd_passed', 'oap', 'on_leave']);
  for (const f of flags) if (!known.has(f)) chips.push(<Chip key={f} kind="other" flag={f}>{FLAG_LABELS[f] ?? humanise(f)}</Chip>);
  return chips.length ? <span class="chips">{chips}</span> : null;
}
