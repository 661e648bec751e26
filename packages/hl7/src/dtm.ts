// HL7 DTM/TS times -> epoch ms. A value without an offset is local time in the
// trust's zone (Europe/London by default), converted with Intl so BST/GMT changes are
// right without a date library. Local times that do not exist (the spring-forward
// hour) move forward by the gap; local times that occur twice (the autumn hour) take
// the first occurrence (BST), as java.time does.

export const DEFAULT_TIME_ZONE = 'Europe/London';

/** How much of the value was given. */
export type DtmPrecision = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';

export interface Dtm {
  /** The instant, epoch milliseconds. */
  epochMs: number;
  precision: DtmPrecision;
  /** True when the value carried its own +/-ZZZZ offset. */
  hasOffset: boolean;
  /** The calendar fields as written (local to the value's zone). */
  local: { year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number };
}

const DTM = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?(?:([+-])(\d{2})(\d{2}))?$/;
const PRECISIONS: DtmPrecision[] = ['year', 'month', 'day', 'hour', 'minute', 'second'];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms (BST: +3,600,000). */
export function zoneOffsetMs(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): number {
  const whole = Math.floor(epochMs / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(whole))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = utc(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, 0);
  return asUtc - whole;
}

function utc(y: number, m0: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m0, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

/** Converts a wall-clock time in `timeZone` to an instant (gap -> forward, overlap -> first occurrence). */
export function localToEpochMs(
  local: { year: number; month: number; day: number; hour?: number; minute?: number; second?: number; ms?: number },
  timeZone: string = DEFAULT_TIME_ZONE,
): number {
  const wall = utc(local.year, local.month - 1, local.day, local.hour ?? 0, local.minute ?? 0, local.second ?? 0, local.ms ?? 0);
  const day = 12 * 3600 * 1000;
  const before = zoneOffsetMs(wall - day, timeZone);
  const after = zoneOffsetMs(wall + day, timeZone);
  const valid = [...new Set([before, after])].map((o) => wall - o).filter((t) => zoneOffsetMs(t, timeZone) === wall - t);
  if (valid.length === 0) return wall - before; // in the gap: same distance past the change
  return Math.min(...valid);
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month, 0, 0, 0, 0, 0)).getUTCDate();
}

/**
 * Parses an HL7 DTM (or v2.3 TS component 1): YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
 * Returns null when the value is not a valid time. `minPrecision` rejects values that say too little.
 */
export function parseDtm(
  value: string,
  opts: { timeZone?: string; minPrecision?: DtmPrecision } = {},
): Dtm | null {
  const m = DTM.exec(value.trim());
  if (!m) return null;
  const given = [m[1], m[2], m[3], m[4], m[5], m[6]].filter((x) => x !== undefined).length;
  const precision = PRECISIONS[given - 1] as DtmPrecision;
  if (opts.minPrecision && PRECISIONS.indexOf(precision) < PRECISIONS.indexOf(opts.minPrecision)) return null;
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const local = { year, month, day, hour, minute, second, ms };
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 14 || om > 59) return null;
    const offset = (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
    return { epochMs: utc(year, month - 1, day, hour, minute, second, ms) - offset, precision, hasOffset: true, local };
  }
  return { epochMs: localToEpochMs(local, opts.timeZone ?? DEFAULT_TIME_ZONE), precision, hasOffset: false, local };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Formats an instant as an HL7 DTM in the zone's local time with its offset: YYYYMMDDHHMMSS+ZZZZ. */
export function formatDtm(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): string {
  const offset = zoneOffsetMs(epochMs, timeZone);
  const d = new Date(Math.floor(epochMs / 1000) * 1000 + offset);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / 60_000;
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** The calendar date of an instant in a zone. */
export function localDate(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): { year: number; month: number; day: number } {
  const d = new Date(epochMs + zoneOffsetMs(epochMs, timeZone));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}
