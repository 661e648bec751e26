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

export interface ServerToClientEvents {
  snapshot: (s: SnapshotPayload) => void;
  update: (u: BoardUpdate) => void;
  alert: (a: Alert) => void;
  patients: (p: { site: string; ward: string; patients: PatientRow[] }) => void;
  problem: (p: { code: string; message: string }) => void;
}

export interface ClientToServerEvents {
  join: (room: Room, ack: (r: { ok: true } | { ok: false; error: string }) => void) => void;
  leave: (room: Room) => void;
  acknowledge: (a: { alertId: string; note?: string }, ack: (r: { ok: true } | { ok: false; error: string }) => void) => void;
}
