// Calls to the insights API through the gateway (/api/v1/insights/*, passed on with the
// reader's token; the insights service checks role and scope and audits every read).
import { AuthError, HttpError } from '../api';

export type Direction = 'increase' | 'decrease' | 'neutral';
export type PointType = 'common_cause' | 'special_cause_improvement' | 'special_cause_concern' | 'special_cause_neutral_high' | 'special_cause_neutral_low';
export type Assurance = 'consistent_pass' | 'consistent_fail' | 'inconsistent';
export type FunnelFlag = 'within' | 'high_95' | 'low_95' | 'high_998' | 'low_998';

export interface MeasureInfo {
  id: string; name: string; definition: string; numerator: string; denominator: string | null; unit: string;
  direction: Direction; target?: number; source: string; by: string[]; kind: 'count' | 'percent' | 'value' | 'rate100k';
}
export interface ScopeWard { site: string; ward: string; name: string; wardType: string }
export interface Catalogue {
  periods: ('week' | 'month')[]; segments: string[]; equitySegments: string[]; suppressBelow: number;
  scope: { role: string; sites: string[]; wards: ScopeWard[] };
  measures: MeasureInfo[];
}
export interface SeriesPoint {
  periodStart: string; numerator: number; denominator: number | null; value: number | null; complete: boolean;
  mean: number | null; lpl: number | null; upl: number | null; pointType: PointType | null;
}
export interface SeriesSegment { segment: string | null; assurance: Assurance | null; points: SeriesPoint[] }
export interface SeriesResponse {
  measure: MeasureInfo; period: 'week' | 'month'; by: string | null; sites: string[]; from: string | null; to: string | null; rebaseAt: string | null;
  segments: SeriesSegment[];
}
export interface FunnelLimits { lower95: number; upper95: number; lower998: number; upper998: number }
export interface EquitySegment {
  segment: string; numerator: number | null; denominator: number | null; value: number | null; suppressed: boolean;
  lower95: number | null; upper95: number | null; lower998: number | null; upper998: number | null; flag: FunnelFlag | null;
}
export interface EquityResponse {
  measure: MeasureInfo; by: string; sites: string[]; from: string | null; to: string | null;
  kind: 'proportion' | 'rate'; unit: string; suppressBelow: number;
  trust: { numerator: number; denominator: number; value: number | null };
  segments: EquitySegment[]; curve: (FunnelLimits & { denominator: number })[];
  outside: { segment: string; flag: FunnelFlag }[];
}
export type Verdict = 'improvement' | 'concern' | 'no-signal' | 'too-early';
export interface ImprovementNote {
  noteId: string; title: string; site: string; ward?: string; team?: string; effectiveDate: string; author: string;
  measures: string[]; expectedDirection: 'up' | 'down'; recordedAt: string;
  outcomes: { measure: string; verdict: Verdict; pointsSince: number; detail: string }[];
}

/** What the views ask for: empty strings are "not set". */
export interface InsightsParams {
  measure: string; period: 'week' | 'month'; by: string; site: string; ward: string; wardType: string; from: string; to: string; rebaseAt: string;
}

export function query(params: Partial<Record<string, string>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  return q.toString();
}

export class InsightsApi {
  constructor(private readonly token: string, private readonly base: string = document.baseURI) {}

  private async fetch(path: string, signal?: AbortSignal, accept = 'application/json'): Promise<Response> {
    const url = new URL(path, this.base);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${this.token}`, Accept: accept }, signal: signal ?? null, cache: 'no-store' });
    if (res.status === 401) throw new AuthError(401);
    if (res.status === 403) {
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      throw new HttpError(403, body.message ?? 'This is outside your access.');
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { message?: string; errors?: { field: string; message: string }[] };
      const why = body.errors?.map((e) => `${e.field}: ${e.message}`).join('; ') ?? body.message ?? res.statusText;
      throw new HttpError(res.status, why);
    }
    return res;
  }
  private async json<T>(path: string, signal?: AbortSignal): Promise<T> { return (await (await this.fetch(path, signal)).json()) as T; }

  catalogue(signal?: AbortSignal): Promise<Catalogue> { return this.json('api/v1/insights/measures', signal); }
  series(p: InsightsParams, signal?: AbortSignal): Promise<SeriesResponse> {
    return this.json(`api/v1/insights/series?${query({ measure: p.measure, period: p.period, by: p.by, site: p.site, ward: p.ward, wardType: p.wardType, from: p.from, to: p.to, rebaseAt: p.rebaseAt })}`, signal);
  }
  equity(p: InsightsParams, signal?: AbortSignal): Promise<EquityResponse> {
    return this.json(`api/v1/insights/equity?${query({ measure: p.measure, by: p.by, site: p.site, ward: p.ward, wardType: p.wardType, from: p.from, to: p.to })}`, signal);
  }
  /** The equity table as CSV for a wider audience (small numbers left out by the server). */
  async equityCsv(p: InsightsParams): Promise<Blob> {
    return (await this.fetch(`api/v1/insights/equity?${query({ measure: p.measure, by: p.by, site: p.site, ward: p.ward, wardType: p.wardType, from: p.from, to: p.to, format: 'csv' })}`, undefined, 'text/csv')).blob();
  }
  /** Improvement notes of a site (and measure); none when the service has no notes yet (404). */
  async improvements(site: string, measure: string, signal?: AbortSignal): Promise<ImprovementNote[]> {
    try {
      return (await this.json<{ notes: ImprovementNote[] }>(`api/v1/insights/improvements?${query({ site, measure })}`, signal)).notes;
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) return [];
      throw e;
    }
  }
}
