// REST calls to board-gateway. Paths are relative to the page, so the app works both
// at "/" and behind a path prefix. 401/403 become AuthError: the app then shows only
// the "link expired" page, except a 403 for one ward (ForbiddenError): the token is good
// but that ward is outside its scope.
import type { Alert, PatientRow, WardSummary } from '@pfm/contracts';

export class AuthError extends Error {
  constructor(readonly status: number) {
    super(`not authorised (${status})`);
    this.name = 'AuthError';
  }
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 403 for one resource (a ward outside the token's scope): the token itself is fine. */
export class ForbiddenError extends HttpError {
  constructor(what: string) {
    super(403, `${what} is outside your access`);
    this.name = 'ForbiddenError';
  }
}

export interface SitePressure { level: number; label: string; reasons: string[] }
export interface OutOfArea { placements: number; bedDays: number; meanDistanceKm?: number; maxDistanceKm?: number }
/** `emergency` false: a planned admission, waiting without the 12-hour clock (absent from an older gateway: treated as emergency). */
export interface QueueEntry { patientId: string; decidedAt: number; waitedHours: number; source: string; emergency?: boolean; sex?: string; ward?: string }
export interface AdmissionQueue { waiting: number; breaches: number; longestWaitHours: number; breachHours: number; entries: QueueEntry[] }
export interface SiteInfo {
  site: string; pressure: SitePressure; referralsWaiting: number; outOfArea?: OutOfArea;
  admissionQueue?: AdmissionQueue; expectedDischarges?: { today: number; tomorrow: number };
}
export interface WardDetail { summary: WardSummary; patients: PatientRow[] }
export interface TimelineEvent { type: string; occurredAt: number | string; summary: string }

export type ReplayBasis = 'shown' | 'known';
/** First and last event times in the flow log (null when empty). */
export interface ReplayRange { from: number | null; to: number | null }
/** GET api/v1/replay/board: the board at a past time, cut to the token's scope. */
export interface ReplayBoard { at: number; basis: ReplayBasis; sites: { site: string; wards: WardSummary[]; flagged: PatientRow[]; alerts: Alert[] }[] }

export class Api {
  constructor(private readonly token: string, private readonly base: string = document.baseURI) {}

  private async get<T>(path: string, signal?: AbortSignal, forbidden?: string): Promise<T> {
    const url = new URL(path, this.base);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' }, signal: signal ?? null, cache: 'no-store' });
    if (res.status === 403 && forbidden) throw new ForbiddenError(forbidden);
    if (res.status === 401 || res.status === 403) throw new AuthError(res.status);
    if (!res.ok) throw new HttpError(res.status, `${res.status} ${res.statusText} from ${url.pathname}`);
    return (await res.json()) as T;
  }

  site(signal?: AbortSignal): Promise<SiteInfo> { return this.get('api/v1/site', signal); }
  wards(signal?: AbortSignal): Promise<WardSummary[]> { return this.get('api/v1/wards', signal); }
  ward(ward: string, signal?: AbortSignal): Promise<WardDetail> { return this.get(`api/v1/wards/${encodeURIComponent(ward)}`, signal, `Ward ${ward}`); }
  alerts(signal?: AbortSignal): Promise<Alert[]> { return this.get('api/v1/alerts', signal); }
  replayRange(signal?: AbortSignal): Promise<ReplayRange> { return this.get('api/v1/replay/range', signal, 'Replay'); }
  replayBoard(at: number, basis: ReplayBasis, signal?: AbortSignal): Promise<ReplayBoard> {
    return this.get(`api/v1/replay/board?at=${at}&basis=${basis}`, signal, 'Replay');
  }
  timeline(patientId: string, spellId: string, signal?: AbortSignal): Promise<{ events: TimelineEvent[] }> {
    return this.get(`api/v1/patients/${encodeURIComponent(patientId)}/timeline?spellId=${encodeURIComponent(spellId)}`, signal);
  }
}
