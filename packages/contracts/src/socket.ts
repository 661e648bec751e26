// Typed socket.io event maps shared by board-gateway and the web app.
import type { Alert, BoardUpdate, PatientRow, WardSummary } from './board';

export type Room = { kind: 'site'; site: string } | { kind: 'ward'; site: string; ward: string } | { kind: 'team'; site: string; team: string };

export interface SnapshotPayload {
  room: Room;
  wards: WardSummary[];
  patients: PatientRow[];
  alerts: Alert[];
  at: number;
}

/** Site pressure (OPEL-style 1-4, every reason listed) and referrals waiting, as GET /api/v1/site answers. */
export interface SiteStatus {
  site: string;
  pressure: { level: 1 | 2 | 3 | 4; label: string; reasons: string[] };
  /** Referrals not yet assessed, all teams (a workload figure: most never need a bed). */
  referralsWaiting: number;
  referralsByTeam: Record<string, number>;
  /** Patients waiting for a bed since a decision to admit (not every unassessed referral), longest wait first. */
  /** breaches and longestWaitHours: emergency decisions to admit only (12-hour clock); `emergency` false = a planned admission waiting without it. */
  admissionQueue: { waiting: number; breaches: number; longestWaitHours: number; breachHours: number; entries: { patientId: string; decidedAt: number; waitedHours: number; source: string; emergency: boolean; sex?: string; ward?: string }[] };
  /** Open spells on local wards with an expected discharge date today / tomorrow. */
  expectedDischarges: { today: number; tomorrow: number };
  /** Active out-of-area placements (units outside the trust): a measure apart from local occupancy. */
  outOfArea: { placements: number; bedDays: number; meanDistanceKm?: number; maxDistanceKm?: number };
}

export interface ServerToClientEvents {
  snapshot: (s: SnapshotPayload) => void;
  update: (u: BoardUpdate) => void;
  alert: (a: Alert) => void;
  /**
   * An unacknowledged alert escalated to the reader's role (the role now responsible in
   * the escalation chain), sent to every connection of that role whose scope covers the
   * alert, whatever rooms it has joined: a new alert for that person to act on.
   */
  escalated: (a: Alert) => void;
  /**
   * An alert this connection was shown is no longer in its scope: the patient moved to a
   * ward it does not cover (the alert followed them there). Take it off the screen.
   */
  alertGone: (a: { site: string; alertId: string }) => void;
  /**
   * The gateway's feed from Kafka started again (a rejoin of its consumer group): changes
   * published meanwhile may not have been passed on. Join your rooms again for fresh snapshots.
   */
  resync: () => void;
  patients: (p: { site: string; ward: string; patients: PatientRow[] }) => void;
  /** Site status for the client's scope: after joining a site room, and whenever it changes. */
  site: (s: SiteStatus) => void;
  problem: (p: { code: string; message: string }) => void;
}

export interface ClientToServerEvents {
  join: (room: Room, ack: (r: { ok: true } | { ok: false; error: string }) => void) => void;
  leave: (room: Room) => void;
  acknowledge: (a: { alertId: string; note?: string }, ack: (r: { ok: true } | { ok: false; error: string }) => void) => void;
  /** Take an alert (no owner: the caller) or give it to a named person; only the alert's owners (as for acknowledge). */
  own: (a: { alertId: string; owner?: string }, ack: (r: { ok: true; owner: string } | { ok: false; error: string }) => void) => void;
}
