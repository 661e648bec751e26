// Crisis alert feed: missed 72-hour follow-ups pinned at the top, then every alert
// newest first, filterable by team and rule. Each alert says which rule fired, its
// threshold and source, who it is about and when it became true, and can be
// acknowledged or taken by a named person (the server records both as events).
import { useState } from 'preact/hooks';
import type { Alert } from '@pfm/contracts';
import type { AckState, BoardState, ConnectionState, LiveBoard } from '../live';
import { formatDay, formatElapsed, formatHms, patientIdentifier } from '../format';
import { ALERT_RULE_ORDER, ruleLabel, thresholdText } from '../labels';
import { routeHref, type Route } from '../route';
import { Icon, SEVERITY_SHAPES } from './icons';
import { EscalationBadge, SinceRaised } from './Escalations';

const SEVERITY_LABELS = { info: 'Info', warning: 'Warning', critical: 'Critical' } as const;
/** Cards drawn at most in the feed below the pinned follow-ups; the rest are counted, and the filters reach every alert held. */
export const FEED_CARDS = 1000;

export function AlertFeed(props: {
  state: BoardState;
  board: LiveBoard;
  now: number;
  team: string | null;
  rule: string | null;
  navigate: (r: Route, replace?: boolean) => void;
}) {
  const { state, board, now, team, rule, navigate } = props;
  const all = [...state.alerts.values()];
  const teams = [...new Set(all.map((a) => a.team).filter((t): t is string => !!t))].sort();
  if (team && !teams.includes(team)) teams.push(team);
  const matches = (a: Alert) => (!team || a.team === team) && (!rule || a.rule === rule);
  const newestFirst = (a: Alert, b: Alert) => b.raisedAt - a.raisedAt || b.becameTrueAt - a.becameTrueAt;
  const visible = all.filter(matches).sort(newestFirst);
  const missed = visible.filter((a) => a.rule === 'followup_missed' && !a.acknowledged);
  const rest = visible.filter((a) => !(a.rule === 'followup_missed' && !a.acknowledged));
  const open = visible.filter((a) => !a.acknowledged).length;

  return (
    <>
      <h1 class="view-title" tabIndex={-1}>Crisis alerts</h1>
      <form class="filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>Team</span>
          <select data-testid="alert-filter-team" value={team ?? ''} onChange={(e) => navigate({ view: 'alerts', team: e.currentTarget.value || null, rule }, true)}>
            <option value="">All teams</option>
            {teams.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        <label>
          <span>Rule</span>
          <select data-testid="alert-filter-rule" value={rule ?? ''} onChange={(e) => navigate({ view: 'alerts', team, rule: e.currentTarget.value || null }, true)}>
            <option value="">All rules</option>
            {ALERT_RULE_ORDER.map((r) => <option key={r} value={r}>{ruleLabel(r)}</option>)}
          </select>
        </label>
        <p class="filter-count" data-testid="alert-count">
          {visible.length} shown · {open} not acknowledged
        </p>
      </form>

      {missed.length > 0 && (
        <section class="missed" aria-labelledby="missed-heading" data-testid="missed-followups">
          <h2 id="missed-heading">
            <Icon shape="octagon" class="icon-lg" /> Missed 72-hour follow-ups <span class="count-pill">{missed.length}</span>
          </h2>
          <p class="hint">Discharged patients not followed up within 72 hours. Risk is highest in the days after discharge.</p>
          <ol class="alert-list">
            {missed.map((a) => <li key={a.alertId}><AlertCard a={a} ack={state.acks.get(a.alertId)} fresh={state.freshAlerts.has(a.alertId)} now={now} connection={state.connection} board={board} /></li>)}
          </ol>
        </section>
      )}

      <section aria-labelledby="feed-heading" class="feed">
        <h2 id="feed-heading">{missed.length > 0 ? 'Other alerts' : 'Alerts'}, newest first</h2>
        {!state.alertsLoaded && all.length === 0 ? (
          <p class="loading" role="status">Loading alerts…</p>
        ) : rest.length === 0 ? (
          <p class="empty">No {missed.length > 0 ? 'other ' : ''}alerts{team || rule ? ' match these filters' : ''}.</p>
        ) : (
          <ol class="alert-list" data-testid="alert-list">
            {rest.slice(0, FEED_CARDS).map((a) => <li key={a.alertId}><AlertCard a={a} ack={state.acks.get(a.alertId)} fresh={state.freshAlerts.has(a.alertId)} now={now} connection={state.connection} board={board} /></li>)}
          </ol>
        )}
        {rest.length > FEED_CARDS && (
          <p class="hint" data-testid="alert-more">
            {rest.length - FEED_CARDS} older alerts are not drawn here (the feed draws the {FEED_CARDS} newest). Filter by team or rule to see them.
          </p>
        )}
      </section>
    </>
  );
}

function when(t: number, now: number): string {
  const sameDay = new Date(t).toDateString() === new Date(now).toDateString();
  return sameDay ? formatHms(t) : `${formatDay(t)} ${formatHms(t)}`;
}

function AlertCard({ a, ack, fresh, now, connection, board }: { a: Alert; ack: AckState | undefined; fresh: boolean; now: number; connection: ConnectionState; board: LiveBoard }) {
  const who = patientIdentifier(a);
  const hid = `alert-${a.alertId}-title`;
  const ackState = a.acknowledged ? 'acknowledged' : ack?.state ?? 'none';
  return (
    <article
      class={`alert sev-${a.severity}${a.rule === 'followup_missed' ? ' alert-missed' : ''}${a.acknowledged ? ' alert-acked' : ''}${fresh ? ' alert-fresh' : ''}`}
      data-testid={`alert-${a.alertId}`}
      data-rule={a.rule}
      data-severity={a.severity}
      data-ack-state={ackState}
      aria-labelledby={hid}
    >
      <header class="alert-head">
        <span class={`badge sev-badge sev-${a.severity}`}>
          <Icon shape={SEVERITY_SHAPES[a.severity]} />
          {SEVERITY_LABELS[a.severity]}
        </span>
        <h3 id={hid}>{ruleLabel(a.rule)}</h3>
        {fresh && !a.acknowledged && <span class="badge badge-new">New</span>}
        <EscalationBadge a={a} />
      </header>
      <p class="alert-msg">{a.message}</p>
      <dl class="facts">
        <div><dt>Threshold</dt><dd data-testid="alert-threshold">{thresholdText(a.threshold)}</dd></div>
        <div><dt>Source</dt><dd>{a.source}</dd></div>
        {who && <div><dt>Patient</dt><dd data-testid="alert-patient">{who.kind} {who.value}</dd></div>}
        {a.spellId && <div><dt>Spell</dt><dd>{a.spellId}</dd></div>}
        {a.referralId && <div><dt>Referral</dt><dd>{a.referralId}</dd></div>}
        {a.ward && <div><dt>Ward</dt><dd><a href={routeHref({ view: 'ward', ward: a.ward })}>{a.ward}</a></dd></div>}
        {a.team && <div><dt>Team</dt><dd>{a.team}</dd></div>}
        {a.owner && <div><dt>Owner</dt><dd data-testid={`alert-owner-${a.alertId}`}>{a.owner.name}</dd></div>}
        <div>
          <dt>Raised</dt>
          <dd><time dateTime={new Date(a.raisedAt).toISOString()}>{when(a.raisedAt, now)}</time> <span class="muted">(<SinceRaised a={a} now={now} />)</span></dd>
        </div>
        <div>
          <dt>Became true</dt>
          <dd><time dateTime={new Date(a.becameTrueAt).toISOString()}>{when(a.becameTrueAt, now)}</time> <span class="muted">({formatElapsed(now - a.becameTrueAt)} ago)</span></dd>
        </div>
      </dl>
      <div class="ack ack-stack">
        <AckControl a={a} ack={ack} connection={connection} board={board} now={now} />
        <OwnControl a={a} connection={connection} board={board} />
      </div>
    </article>
  );
}

/** "Take": the reader becomes the alert's named owner (the server refuses readers who may not). */
function OwnControl({ a, connection, board }: { a: Alert; connection: ConnectionState; board: LiveBoard }) {
  const [state, setState] = useState<{ pending: boolean; error?: string }>({ pending: false });
  if (connection !== 'live') return null;
  const take = () => {
    setState({ pending: true });
    void board.own(a.alertId).then((error) => setState({ pending: false, error }));
  };
  return (
    <div class="own">
      <button type="button" class="btn" data-testid={`own-${a.alertId}`} disabled={state.pending} aria-busy={state.pending} onClick={take}>
        {state.pending ? 'Taking…' : a.owner ? 'Take over' : 'Take'}
        <span class="visually-hidden"> {ruleLabel(a.rule)} alert</span>
      </button>
      {state.error && <span role="alert" class="ack-error" data-testid={`own-error-${a.alertId}`}><Icon shape="cross" /> {state.error}</span>}
    </div>
  );
}

function AckControl({ a, ack, connection, board, now }: { a: Alert; ack: AckState | undefined; connection: ConnectionState; board: LiveBoard; now: number }) {
  if (a.acknowledged) {
    return (
      <p class="ack ack-done" data-testid={`ack-status-${a.alertId}`}>
        <Icon shape="check" /> Acknowledged by <strong>{a.acknowledged.by}</strong> at <time dateTime={new Date(a.acknowledged.at).toISOString()}>{when(a.acknowledged.at, now)}</time>
        {a.acknowledged.note && <span class="muted"> — {a.acknowledged.note}</span>}
      </p>
    );
  }
  if (ack?.state === 'confirmed') {
    return (
      <p class="ack ack-done" data-testid={`ack-status-${a.alertId}`}>
        <Icon shape="check" /> Acknowledgement recorded at {formatHms(ack.at)}
      </p>
    );
  }
  const live = connection === 'live';
  const pending = ack?.state === 'pending';
  return (
    <div class="ack">
      <button
        type="button"
        class="btn btn-primary"
        data-testid={`ack-${a.alertId}`}
        disabled={pending || !live}
        aria-busy={pending}
        onClick={() => board.acknowledge(a.alertId)}
      >
        {pending ? 'Acknowledging…' : 'Acknowledge'}
        <span class="visually-hidden"> {ruleLabel(a.rule)} alert</span>
      </button>
      {!live && !pending && <span class="muted">Acknowledging needs a live connection.</span>}
      {ack?.state === 'error' && <span role="alert" class="ack-error" data-testid={`ack-error-${a.alertId}`}><Icon shape="cross" /> {ack.message}</span>}
    </div>
  );
}
