// The live board: one socket.io connection to board-gateway plus a few REST reads.
// It owns everything the views render (wards, patients, alerts, connection state)
// and tells subscribers when it changes. Views never talk to the socket directly.
//
// Consistency: a snapshot (sent on every join) is the baseline for each ward's seq; an
// update with a higher seq replaces the ward's summary (updates carry whole summaries,
// one per batch of changes, so seq may jump); a lower or equal one is already reflected.
// A reconnect re-joins the rooms, so the server re-sends snapshots. Nothing reloads the page.
import { io, type Socket } from 'socket.io-client';
import type { Alert, BoardUpdate, ClientToServerEvents, PatientRow, Room, ServerToClientEvents, SnapshotPayload, WardSummary } from '@pfm/contracts';
import { type Api, AuthError, ForbiddenError, HttpError, type SiteInfo } from './api';
import { classifyUpdate } from './seq';
import { ruleLabel } from './labels';
import { patientIdentifier } from './format';
import { noteEscalation, type EscalationNotice } from './escalations';
import { GONE_VERSION, mergeSnapshotAlerts, noteLiveChange, type LiveChange } from './alert-merge';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';
export type AckState =
  | { state: 'pending'; since: number }
  | { state: 'confirmed'; at: number }
  | { state: 'error'; message: string };

export interface BoardState {
  authFailed: boolean;
  connection: ConnectionState;
  /** When the client last received board data (snapshot, update, alert, patients, REST). */
  lastUpdated: number | null;
  site: string | null;
  siteInfo: SiteInfo | null;
  wards: ReadonlyMap<string, WardSummary>;
  /** True once a site snapshot or the ward list has arrived. */
  wardsLoaded: boolean;
  patients: ReadonlyMap<string, readonly PatientRow[]>;
  alerts: ReadonlyMap<string, Alert>;
  alertsLoaded: boolean;
  acks: ReadonlyMap<string, AckState>;
  /** Alerts that arrived live (not in a snapshot) during this session. */
  freshAlerts: ReadonlySet<string>;
  /** Text for the polite live region. */
  announcement: string;
  /** Alerts escalated to this reader's role (newest first), until acknowledged, resolved or dismissed. */
  escalatedToYou: readonly EscalationNotice[];
  /** Something the server or network reported that people should see (not auth). */
  problem: string | null;
}

type BoardSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface LiveBoardOptions {
  /** socket.io path; defaults to "<page directory>socket.io". */
  socketPath?: string;
  sitePollMs?: number;
  /** For tests: a socket factory. */
  connect?: (token: string, path: string) => BoardSocket;
}

/** `problem` event codes that mean the token is no longer accepted. */
const AUTH_CODES = new Set(['unauthorized', 'unauthorised', 'forbidden', 'token_expired', 'invalid_token', '401', '403']);
const AUTH_WORDS = /unauthori[sz]ed|forbidden|invalid[ _-]?token|expired|not authori[sz]ed|\b401\b|\b403\b/i;

export function isAuthProblem(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { message?: unknown; data?: unknown };
  const data = (e.data && typeof e.data === 'object' ? e.data : {}) as { status?: unknown; code?: unknown };
  if (data.status === 401 || data.status === 403) return true;
  if (typeof data.code === 'string' && AUTH_WORDS.test(data.code)) return true;
  return typeof e.message === 'string' && AUTH_WORDS.test(e.message);
}

export function defaultSocketPath(pathname: string = window.location.pathname): string {
  const dir = pathname.endsWith('/') ? pathname : pathname.slice(0, pathname.lastIndexOf('/') + 1);
  return `${dir || '/'}socket.io`;
}

const roomKey = (r: Room): string => (r.kind === 'site' ? `site:${r.site}` : r.kind === 'ward' ? `ward:${r.site}:${r.ward}` : `team:${r.site}:${r.team}`);

export class LiveBoard {
  private s: BoardState = {
    authFailed: false,
    connection: 'connecting',
    lastUpdated: null,
    site: null,
    siteInfo: null,
    wards: new Map(),
    wardsLoaded: false,
    patients: new Map(),
    alerts: new Map(),
    alertsLoaded: false,
    acks: new Map(),
    freshAlerts: new Set(),
    announcement: '',
    escalatedToYou: [],
    problem: null,
  };
  private readonly listeners = new Set<() => void>();
  private readonly seq = new Map<string, number>();
  /** Wards whose patient list came from a socket snapshot or `patients` event. */
  private readonly livePatients = new Set<string>();
  /** Alert changes seen live lately, and when each room's join was last sent: a snapshot read meanwhile does not undo them. */
  private readonly liveAlerts = new Map<string, LiveChange>();
  private readonly joinSentAt = new Map<string, number>();
  private socket: BoardSocket | null = null;
  private wardRoom: string | null = null;
  private notifyTimer: number | undefined;
  private siteTimer: number | undefined;
  private siteRefreshTimer: number | undefined;
  private wardRefreshTimer: number | undefined;
  private retryTimer: number | undefined;
  private announceQueue: string[] = [];
  private announceTimer: number | undefined;
  private stopped = false;
  /** The server pushes site status on this connection: no need to poll it. */
  private sitePushed = false;
  /** Where the current `problem` came from, so a later success can clear it. */
  private problemKind: 'rest' | 'socket' | 'server' | null = null;
  private readonly aborter = new AbortController();

  constructor(private readonly api: Api, private readonly token: string, private readonly opts: LiveBoardOptions = {}) {}

  get state(): BoardState { return this.s; }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    if (!navigator.onLine) this.set({ connection: 'offline' });
    this.openSocket();
    void this.loadSite();
    this.siteTimer = window.setInterval(() => { if (!this.sitePushed) void this.loadSite(); }, this.opts.sitePollMs ?? 30_000);
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    window.clearInterval(this.siteTimer);
    for (const t of [this.notifyTimer, this.siteRefreshTimer, this.wardRefreshTimer, this.retryTimer, this.announceTimer]) window.clearTimeout(t);
    this.aborter.abort();
    this.socket?.removeAllListeners();
    this.socket?.io.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  /** The ward whose bed board is on screen (null when none): joins/leaves its room. */
  setWardRoom(ward: string | null): void {
    if (ward === this.wardRoom) return;
    const site = this.s.site;
    if (this.wardRoom) {
      if (site && this.socket?.connected) this.socket.emit('leave', { kind: 'ward', site, ward: this.wardRoom });
      this.livePatients.delete(this.wardRoom); // no longer kept current by the ward room
    }
    this.wardRoom = ward;
    if (ward) {
      if (site) this.join({ kind: 'ward', site, ward });
      void this.loadWard(ward);
    }
  }

  acknowledge(alertId: string, note?: string): void {
    const sock = this.socket;
    if (!sock?.connected) {
      this.setAck(alertId, { state: 'error', message: 'Not connected — try again when the board is live' });
      return;
    }
    const current = this.s.acks.get(alertId);
    if (current?.state === 'pending') return;
    this.setAck(alertId, { state: 'pending', since: Date.now() });
    const payload = note ? { alertId, note } : { alertId };
    sock.timeout(15_000).emit('acknowledge', payload, (err, r) => {
      if (err) this.setAck(alertId, { state: 'error', message: 'No answer from the server — try again' });
      else if (r.ok) this.setAck(alertId, { state: 'confirmed', at: Date.now() });
      else this.setAck(alertId, { state: 'error', message: r.error || 'The server refused the acknowledgement' });
    });
  }

  /**
   * Takes an alert (no owner: the server names the caller) or gives it to a named person.
   * Resolves to why it was not recorded, or undefined; the owned alert comes back on the feed.
   */
  own(alertId: string, owner?: string): Promise<string | undefined> {
    const sock = this.socket;
    if (!sock?.connected) return Promise.resolve('Not connected — try again when the board is live');
    return new Promise((resolve) => {
      sock.timeout(15_000).emit('own', owner ? { alertId, owner } : { alertId }, (err, r) => {
        resolve(err ? 'No answer from the server — try again' : r.ok ? undefined : r.error || 'The server refused');
      });
    });
  }

  /** Takes an "escalated to you" notice off the screen (the alert stays on the feed). */
  dismissEscalation(alertId: string): void {
    this.set({ escalatedToYou: this.s.escalatedToYou.filter((n) => n.alertId !== alertId) });
  }

  timeline(patientId: string, spellId: string, signal?: AbortSignal) {
    return this.api.timeline(patientId, spellId, signal).catch((e: unknown) => {
      if (e instanceof AuthError) this.authFailed();
      throw e;
    });
  }

  // ---------------------------------------------------------------- internals

  private set(patch: Partial<BoardState>): void {
    if (this.s.authFailed && !('authFailed' in patch)) return;
    this.s = { ...this.s, ...patch };
    if (this.notifyTimer === undefined) {
      this.notifyTimer = window.setTimeout(() => {
        this.notifyTimer = undefined;
        for (const l of this.listeners) l();
      }, 16);
    }
  }

  private touched(): Partial<BoardState> { return { lastUpdated: Date.now() }; }

  private setProblem(kind: 'rest' | 'socket' | 'server', message: string): void {
    this.problemKind = kind;
    this.set({ problem: message });
  }

  /** Clears the banner if it was raised by the same kind of source that just worked. */
  private clearProblem(kind: 'rest' | 'socket' | 'server'): void {
    if (this.problemKind === kind || (kind === 'socket' && this.problemKind === 'server')) {
      this.problemKind = null;
      this.set({ problem: null });
    }
  }

  private setAck(alertId: string, ack: AckState): void {
    const acks = new Map(this.s.acks);
    acks.set(alertId, ack);
    this.set({ acks });
  }

  private authFailed(): void {
    if (this.s.authFailed) return;
    this.set({ authFailed: true });
    this.stop();
    // The listeners still need to hear about it (stop() cleared the pending notify).
    for (const l of this.listeners) l();
  }

  private handleRestError(e: unknown, what: string): void {
    if (this.stopped) return;
    if (e instanceof AuthError) { this.authFailed(); return; }
    if (e instanceof DOMException && e.name === 'AbortError') return;
    this.setProblem('rest', `Could not load ${what}: ${e instanceof Error ? e.message : String(e)}. Retrying.`);
  }

  private async loadSite(): Promise<void> {
    try {
      const info = await this.api.site(this.aborter.signal);
      const first = this.s.site === null;
      this.set({ siteInfo: info, site: info.site });
      this.clearProblem('rest');
      if (first) this.siteKnown();
    } catch (e) {
      if (e instanceof AuthError) { this.authFailed(); return; }
      // Fall back to the ward list for the site id, so the board still works.
      if (this.s.site === null) {
        try {
          const wards = await this.api.wards(this.aborter.signal);
          const site = wards[0]?.site;
          this.seedWards(wards);
          if (site) { this.set({ site }); this.siteKnown(); }
        } catch (e2) {
          this.handleRestError(e2, 'the ward list');
          return;
        }
      }
      this.handleRestError(e, 'site pressure');
    }
  }

  private siteKnown(): void {
    void this.api.wards(this.aborter.signal).then((w) => this.seedWards(w), (e: unknown) => this.handleRestError(e, 'the ward list'));
    void this.api.alerts(this.aborter.signal).then((a) => this.seedAlerts(a), (e: unknown) => this.handleRestError(e, 'alerts'));
    if (this.wardRoom) void this.loadWard(this.wardRoom);
    this.joinAll();
  }

  /**
   * REST read of one ward. A socket snapshot is at least as new as REST, so by default
   * REST only fills in until one arrives; `refresh` is for when the server sent an
   * update for the ward but no patient list followed it.
   */
  private async loadWard(ward: string, refresh = false): Promise<void> {
    try {
      const d = await this.api.ward(ward, this.aborter.signal);
      this.seedWards([d.summary]);
      if (!refresh && this.livePatients.has(ward)) return;
      const patients = new Map(this.s.patients);
      patients.set(ward, d.patients);
      this.set({ patients, ...this.touched() });
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) {
        this.setProblem('rest', `Ward ${ward} is not on this board.`);
        return;
      }
      if (e instanceof ForbiddenError) {
        this.setProblem('rest', `${e.message}: this board link only covers some wards.`);
        return;
      }
      this.handleRestError(e, `ward ${ward}`);
    }
  }

  private seedWards(list: WardSummary[]): void {
    const wards = new Map(this.s.wards);
    for (const w of list) {
      if (this.s.site && w.site !== this.s.site) continue;
      const last = this.seq.get(w.ward);
      if (last !== undefined && w.seq <= last) continue;
      wards.set(w.ward, w);
      this.seq.set(w.ward, w.seq);
    }
    this.set({ wards, wardsLoaded: true, ...this.touched() });
  }

  private seedAlerts(list: Alert[]): void {
    const alerts = new Map(this.s.alerts);
    for (const a of list) {
      if (a.resolvedAt !== undefined) { alerts.delete(a.alertId); continue; }
      const have = alerts.get(a.alertId);
      // A later version (acknowledged, owned) replaces the one shown.
      if (!have || (!have.acknowledged && a.acknowledged) || (a.version ?? 1) > (have.version ?? 1)) alerts.set(a.alertId, a);
    }
    this.set({ alerts, alertsLoaded: true, ...this.touched() });
    this.clearProblem('rest');
  }

  private openSocket(): void {
    const path = this.opts.socketPath ?? defaultSocketPath();
    const sock: BoardSocket = this.opts.connect
      ? this.opts.connect(this.token, path)
      : io({ path, auth: { token: this.token }, transports: ['websocket', 'polling'], reconnectionDelay: 1000, reconnectionDelayMax: 10_000 });
    this.socket = sock;

    sock.on('connect', () => {
      this.set({ connection: 'live' });
      this.clearProblem('socket');
      this.joinAll();
      void this.loadSite();
    });
    sock.on('disconnect', (reason) => {
      this.sitePushed = false;
      if (this.stopped) return;
      if (sock.active) this.set({ connection: navigator.onLine ? 'reconnecting' : 'offline' });
      else {
        // The server closed the connection on purpose: try again a little later.
        this.set({ connection: 'offline' });
        if (reason === 'io server disconnect') this.setProblem('socket', 'The board server closed the connection. Retrying.');
        this.retryLater();
      }
    });
    sock.on('connect_error', (err) => {
      if (isAuthProblem(err)) { this.authFailed(); return; }
      // Refused because this reader (or this address) has too many boards open: say so, and keep retrying.
      if ((err as { data?: { code?: unknown } }).data?.code === 'too_many_connections') this.setProblem('socket', `${err.message} Retrying.`);
      if (sock.active) this.set({ connection: navigator.onLine ? 'reconnecting' : 'offline' });
      else { this.set({ connection: 'offline' }); this.retryLater(); }
    });
    sock.io.on('reconnect_attempt', () => {
      if (!this.stopped && this.s.connection !== 'offline') this.set({ connection: 'reconnecting' });
    });

    sock.on('snapshot', (snap) => this.onSnapshot(snap));
    sock.on('update', (u) => this.onUpdate(u));
    sock.on('alert', (a) => this.onAlert(a));
    sock.on('escalated', (a) => this.onEscalated(a));
    sock.on('alertGone', (g) => this.onAlertGone(g.site, g.alertId));
    // The server's feed started again and may have skipped changes: fresh snapshots.
    sock.on('resync', () => this.joinAll());
    sock.on('patients', (p) => this.onPatients(p.site, p.ward, p.patients));
    sock.on('site', (info) => {
      if (this.s.site && info.site !== this.s.site) return;
      this.sitePushed = true;
      this.set({ siteInfo: info, ...this.touched() });
    });
    sock.on('problem', (p) => {
      if (AUTH_CODES.has(p.code.toLowerCase())) { this.authFailed(); return; }
      this.setProblem('server', p.message);
    });
  }

  private retryLater(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (!this.stopped && this.socket && !this.socket.connected) {
        this.set({ connection: 'reconnecting' });
        this.socket.connect();
      }
    }, 5000);
  }

  private readonly onOnline = (): void => {
    if (this.socket?.connected) return;
    this.set({ connection: 'reconnecting' });
    if (this.socket && !this.socket.active) this.socket.connect();
  };

  private readonly onOffline = (): void => { this.set({ connection: 'offline' }); };

  private rooms(): Room[] {
    const site = this.s.site;
    if (!site) return [];
    const rooms: Room[] = [{ kind: 'site', site }];
    if (this.wardRoom) rooms.push({ kind: 'ward', site, ward: this.wardRoom });
    return rooms;
  }

  private joinAll(): void {
    for (const r of this.rooms()) this.join(r);
  }

  private join(room: Room): void {
    const sock = this.socket;
    if (!sock?.connected) return; // joined on (re)connect
    this.joinSentAt.set(roomKey(room), Date.now());
    const again = () => window.setTimeout(() => { if (sock.connected && this.rooms().some((x) => roomKey(x) === roomKey(room))) this.join(room); }, 3000);
    sock.timeout(10_000).emit('join', room, (err, r) => {
      if (this.stopped) return;
      if (err) {
        // No answer: ask again unless the connection has gone (then connect re-joins).
        again();
      } else if (!r.ok) {
        // A ward room refused is a ward outside the token's scope, not a bad token.
        if (room.kind === 'ward' && /forbidden/i.test(r.error)) this.setProblem('server', `Ward ${room.ward} is outside your access: this board link only covers some wards.`);
        else if (isAuthProblem({ message: r.error })) this.authFailed();
        else {
          this.setProblem('server', `Could not join ${roomKey(room)}: ${r.error}`);
          // The server could not read the snapshot (Redis busy or away): what this screen
          // missed comes only with one, so ask again.
          if (/retry/i.test(r.error)) again();
        }
      } else if (this.s.problem?.startsWith(`Could not join ${roomKey(room)}`)) {
        // Joined after all: the banner of the failed try goes.
        this.clearProblem('server');
      }
    });
  }

  private onSnapshot(snap: SnapshotPayload): void {
    if (this.s.site && snap.room.site !== this.s.site) return;
    const wards = snap.room.kind === 'site' ? new Map<string, WardSummary>() : new Map(this.s.wards);
    if (snap.room.kind === 'site') {
      // Keep the ward-room's own ward in case the site list lags behind it.
      for (const [k, v] of this.s.wards) if (k === this.wardRoom) wards.set(k, v);
    }
    for (const w of snap.wards) {
      wards.set(w.ward, w);
      this.seq.set(w.ward, w.seq);
    }
    const patients = new Map(this.s.patients);
    if (snap.room.kind === 'ward') {
      patients.set(snap.room.ward, snap.patients);
      this.livePatients.add(snap.room.ward);
    } else if (snap.patients.length > 0) {
      const byWard = new Map<string, PatientRow[]>();
      for (const p of snap.patients) byWard.set(p.ward, [...(byWard.get(p.ward) ?? []), p]);
      for (const [w, list] of byWard) { patients.set(w, list); this.livePatients.add(w); }
    }
    const alerts = mergeSnapshotAlerts(this.s.alerts, snap.alerts, snap.room.kind === 'site', this.liveAlerts, this.joinSentAt.get(roomKey(snap.room)) ?? Date.now());
    this.set({
      wards, wardsLoaded: this.s.wardsLoaded || snap.room.kind === 'site', patients,
      alerts, alertsLoaded: this.s.alertsLoaded || snap.room.kind === 'site',
      acks: this.reconcileAcks(alerts), ...this.touched(),
    });
  }

  private onUpdate(u: BoardUpdate): void {
    if (this.s.site && u.site !== this.s.site) return;
    const verdict = classifyUpdate(this.seq.get(u.ward), u.seq);
    if (verdict === 'stale') return;
    const wards = new Map(this.s.wards);
    wards.set(u.ward, u.summary);
    this.seq.set(u.ward, u.seq);
    this.set({ wards, ...this.touched() });
    // A 'gap' is normal: the engine publishes one update per batch of changes, and every
    // update carries the ward's whole summary, so nothing is missing. (A lost connection
    // is what can miss updates, and every reconnect re-joins and gets snapshots.)
    if (u.ward === this.wardRoom && u.change) this.refreshWardSoon(u.ward);
    this.refreshSiteSoon();
  }

  private onPatients(site: string, ward: string, list: PatientRow[]): void {
    if (this.s.site && site !== this.s.site) return;
    if (ward === this.wardRoom) window.clearTimeout(this.wardRefreshTimer);
    const patients = new Map(this.s.patients);
    patients.set(ward, list);
    this.livePatients.add(ward);
    this.set({ patients, ...this.touched() });
  }

  /** An alert left this reader's scope (its patient moved to a ward the reader does not cover): off the feed. */
  private onAlertGone(site: string, alertId: string): void {
    if (this.s.site && site !== this.s.site) return;
    noteLiveChange(this.liveAlerts, alertId, { version: GONE_VERSION, at: Date.now() });
    const alerts = new Map(this.s.alerts);
    if (!alerts.delete(alertId)) return;
    this.set({ alerts, ...this.touched() });
  }

  private onAlert(a: Alert): void {
    if (this.s.site && a.site !== this.s.site) return;
    // A change older than the one shown (delivery is at least once, versions order it).
    if ((this.s.alerts.get(a.alertId)?.version ?? 0) > (a.version ?? 1)) return;
    noteLiveChange(this.liveAlerts, a.alertId, { version: a.version ?? 1, alert: a.resolvedAt === undefined ? a : undefined, at: Date.now() });
    const alerts = new Map(this.s.alerts);
    if (a.resolvedAt !== undefined) {
      // The condition stopped holding (discharged, followed up, answered): off the feed.
      if (!alerts.delete(a.alertId)) return;
      this.set({ alerts, ...this.touched() });
      return;
    }
    const isNew = !alerts.has(a.alertId);
    alerts.set(a.alertId, a);
    const patch: Partial<BoardState> = { alerts, acks: this.reconcileAcks(alerts), ...this.touched() };
    if (isNew) {
      const fresh = new Set(this.s.freshAlerts);
      fresh.add(a.alertId);
      patch.freshAlerts = fresh;
      this.announce(describeAlert(a));
    }
    this.set(patch);
  }

  /**
   * An alert escalated to this reader's role: on the feed like any change, and a notice
   * for this reader (the gateway sends it only to the role now responsible).
   */
  private onEscalated(a: Alert): void {
    if (this.s.site && a.site !== this.s.site) return;
    this.onAlert(a);
    const notices = noteEscalation(this.s.escalatedToYou, a);
    if (notices[0] === this.s.escalatedToYou[0] && notices.length === this.s.escalatedToYou.length) return;
    // Read out by the notice itself (an assertive region), not the polite one as well.
    this.set({ escalatedToYou: notices });
  }

  /** An acknowledged alert from the server settles any local pending/confirmed state. */
  private reconcileAcks(alerts: ReadonlyMap<string, Alert>): Map<string, AckState> {
    const acks = new Map(this.s.acks);
    for (const [id, st] of acks) {
      const a = alerts.get(id);
      if (a?.acknowledged && st.state !== 'confirmed') acks.set(id, { state: 'confirmed', at: a.acknowledged.at });
    }
    return acks;
  }

  /** Batches announcements so a burst of alerts is read out once, not twenty times. */
  private announce(text: string): void {
    this.announceQueue.push(text);
    if (this.announceTimer !== undefined) return;
    this.announceTimer = window.setTimeout(() => {
      this.announceTimer = undefined;
      const q = this.announceQueue;
      this.announceQueue = [];
      const msg = q.length === 1 ? `New alert: ${q[0]}` : `${q.length} new alerts. Latest: ${q[q.length - 1]}`;
      this.set({ announcement: msg });
    }, 1500);
  }

  /** The server may not push a patient list after a change; fetch it if none came. */
  private refreshWardSoon(ward: string): void {
    window.clearTimeout(this.wardRefreshTimer);
    this.wardRefreshTimer = window.setTimeout(() => { if (this.wardRoom === ward) void this.loadWard(ward, true); }, 1500);
  }

  /** Without server pushes (older gateway), refresh site pressure after board changes (at most every 5 s). */
  private refreshSiteSoon(): void {
    if (this.sitePushed || this.siteRefreshTimer !== undefined) return;
    this.siteRefreshTimer = window.setTimeout(() => {
      this.siteRefreshTimer = undefined;
      void this.loadSite();
    }, 5000);
  }
}

export function describeAlert(a: Alert): string {
  const who = patientIdentifier(a);
  const parts = [ruleLabel(a.rule)];
  if (who) parts.push(`${who.kind} ${who.value}`);
  else if (a.referralId) parts.push(`referral ${a.referralId}`);
  if (a.ward) parts.push(`ward ${a.ward}`);
  if (a.team) parts.push(`team ${a.team}`);
  return parts.join(', ');
}
