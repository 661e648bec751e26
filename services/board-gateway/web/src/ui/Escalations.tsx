// Escalation on screen: the notices of alerts escalated to this reader's role (every view,
// under the header), the badge on an alert, and the board's list of escalated alerts not
// yet acknowledged. Words and a shape, never colour alone.
import type { Alert } from '@pfm/contracts';
import { openNotices } from '../escalations';
import { formatElapsed, formatHm } from '../format';
import { escalationText, ruleLabel } from '../labels';
import type { BoardState, LiveBoard } from '../live';
import { describeAlert } from '../live';
import { routeHref } from '../route';
import { Icon } from './icons';

/** "Escalated to bed manager (level 1)" with a shape; nothing when the alert never escalated. */
export function EscalationBadge({ a }: { a: Alert }) {
  if (!a.escalated) return null;
  return (
    <span class="badge badge-escalated" data-testid={`alert-escalated-${a.alertId}`} data-level={a.escalated.level} data-role={a.escalated.role}>
      <Icon shape="triangle" /> {escalationText(a.escalated)}
    </span>
  );
}

/**
 * "raised 42m ago": time since the alert was raised, which escalation counts from. `now`
 * ticks every 15 s; an alert that arrived since is measured from the render's own time.
 */
export function SinceRaised({ a, now }: { a: Alert; now: number }) {
  return <span data-testid={`alert-since-raised-${a.alertId}`}>raised {formatElapsed(Math.max(now, Date.now()) - a.raisedAt)} ago</span>;
}

/**
 * Alerts escalated to this reader, newest first: each says what, to whom, since when, with
 * a way to the feed. An assertive live region (`role="alert"`): a new notice is read out at
 * once, so nothing in it ticks (the raised time is a clock time, not "... ago").
 */
export function EscalationNotices({ state, board }: { state: BoardState; board: LiveBoard }) {
  const open = openNotices(state.escalatedToYou, state.alerts);
  if (!open.length) return null;
  return (
    <section class="banner banner-escalated" role="alert" aria-label="Alerts escalated to you" data-testid="escalation-notices">
      <ul class="escalation-notices">
        {open.map(({ alert: a }) => (
          <li key={a.alertId} data-testid={`escalation-notice-${a.alertId}`}>
            <Icon shape="octagon" /> <strong>Escalated to you:</strong> {describeAlert(a)}.{' '}
            {a.escalated && <span>{escalationText(a.escalated)}, </span>}
            raised at <time dateTime={new Date(a.raisedAt).toISOString()}>{formatHm(a.raisedAt)}</time>, not acknowledged.{' '}
            <a href={routeHref({ view: 'alerts', team: null, rule: null })}>Open the alert feed</a>{' '}
            <button type="button" class="btn btn-small" data-testid={`escalation-dismiss-${a.alertId}`} onClick={() => board.dismissEscalation(a.alertId)}>
              Dismiss<span class="visually-hidden"> notice for {ruleLabel(a.rule)} alert</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The board's list: escalated alerts (optionally one ward's) nobody has acknowledged yet, longest waiting first. */
export function EscalatedList({ alerts, now, ward }: { alerts: Alert[]; now: number; ward?: string }) {
  const list = ward ? alerts.filter((a) => a.ward === ward) : alerts;
  if (!list.length) return null;
  return (
    <section aria-labelledby="escalated-heading" class="escalated-section" data-testid="escalated-list">
      <h2 id="escalated-heading"><Icon shape="triangle" /> Escalated, not acknowledged <span class="count-pill">{list.length}</span></h2>
      <ul>
        {list.map((a) => (
          <li key={a.alertId} data-testid={`escalated-${a.alertId}`}>
            <EscalationBadge a={a} /> {describeAlert(a)}, <SinceRaised a={a} now={now} />
          </li>
        ))}
      </ul>
    </section>
  );
}
