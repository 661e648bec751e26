// Display formatting. Times are shown in the browser's time zone (a trust's wall
// displays and laptops run on UK time), 24-hour clock.

const hms = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const hm = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
const dayMonth = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short' });
const full = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });

/** Epoch ms, ISO-8601 text or numeric text -> epoch ms (NaN when unreadable). */
export function toMillis(t: number | string | undefined | null): number {
  if (t === undefined || t === null) return NaN;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  return Date.parse(t);
}

export const formatHms = (t: number): string => hms.format(t);
export const formatHm = (t: number): string => hm.format(t);
export const formatDay = (t: number): string => dayMonth.format(t);
export const formatDateTime = (t: number): string => full.format(t);

/** "943 476 5919" for a 10-digit NHS number; anything else unchanged. */
export function formatNhsNumber(raw: string): string {
  const d = raw.replace(/[\s-]/g, '');
  return /^\d{10}$/.test(d) ? `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}` : raw;
}

/** The identifier the product shows for a patient: NHS number where known, else the local id. */
export function patientIdentifier(p: { nhsNumber?: string | undefined; patientId?: string | undefined }): { kind: 'NHS' | 'Local id'; value: string } | null {
  if (p.nhsNumber) return { kind: 'NHS', value: formatNhsNumber(p.nhsNumber) };
  if (p.patientId) return { kind: 'Local id', value: p.patientId };
  return null;
}

/** "2h 05m", "3d 4h", "45s" — compact elapsed time for "became true ... ago". */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

export function formatPct(pct: number): string {
  return Number.isFinite(pct) ? `${Math.round(pct)}%` : '–';
}

/** "adult_acute" -> "Adult acute"; "picu" -> "PICU". */
export function wardTypeLabel(t: string): string {
  const special: Record<string, string> = { picu: 'PICU', older_adult_acute: 'Older adult acute', learning_disability: 'Learning disability', unknown: 'Type not set' };
  const s = special[t];
  if (s) return s;
  const words = t.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Natural sort for bed labels: "2" < "10", "B2" < "B10". */
export const naturalCompare = (a: string, b: string): number => a.localeCompare(b, 'en-GB', { numeric: true, sensitivity: 'base' });
