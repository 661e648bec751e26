// Periods "beginning with the day" something happened, as the Mental Health Act counts
// them (s2: 28 days; s3: 6 months): the day of admission is day one, whatever the hour,
// and the period ends at the local midnight (Europe/London) that closes its last day.

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall-clock fields of an instant. */
export function wallClock(at: number, timeZone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const parts = formatter(timeZone).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), min: get('minute'), s: get('second') };
}

/**
 * The instant of local midnight starting a calendar date (month 1-12). Clocks change at
 * 01:00 UTC in the UK, so a local midnight is never skipped or repeated there.
 */
export function localMidnight(y: number, m: number, d: number, timeZone = 'Europe/London'): number {
  const asUtc = Date.UTC(y, m - 1, d);
  const w = wallClock(asUtc, timeZone);
  const offset = Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - asUtc;
  return asUtc - offset;
}

/**
 * The end of a period of `days` or `months` beginning with the local day of `since`: the
 * local midnight after its last day, and the period's length in days. A month period ends
 * on the day before the corresponding date; with no corresponding date (31 August + 6
 * months), at the end of the month (the last day of February). Memoised: the engine asks
 * for the same clock on every event of a detained patient, and the time zone lookup costs
 * microseconds.
 */
export function period(since: number, length: { days?: number | undefined; months?: number | undefined }, timeZone = 'Europe/London'): { endsAt: number; days: number } {
  const kind = `${length.days ?? ''}|${length.months ?? ''}|${timeZone}`;
  let byStart = periods.get(kind);
  if (!byStart) periods.set(kind, (byStart = new Map()));
  let p = byStart.get(since);
  if (!p) {
    if (byStart.size >= 50_000) byStart.clear();
    p = computePeriod(since, length, timeZone);
    byStart.set(since, p);
  }
  return p;
}
const periods = new Map<string, Map<number, { endsAt: number; days: number }>>();

function computePeriod(since: number, length: { days?: number | undefined; months?: number | undefined }, timeZone: string): { endsAt: number; days: number } {
  const { y, m, d } = wallClock(since, timeZone);
  let end: Date;
  if (length.months !== undefined) {
    const first = new Date(Date.UTC(y, m - 1 + length.months, 1));
    const daysInMonth = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
    end = d <= daysInMonth ? new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), d)) : new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1));
  } else {
    end = new Date(Date.UTC(y, m - 1, d + (length.days ?? 0)));
  }
  return {
    endsAt: localMidnight(end.getUTCFullYear(), end.getUTCMonth() + 1, end.getUTCDate(), timeZone),
    days: Math.round((end.getTime() - Date.UTC(y, m - 1, d)) / 86_400_000),
  };
}

const ukText = new Map<number, string>();
const ukMinute = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
const ukDay = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'short', year: 'numeric' });

/**
 * A legal limit as a ward reads it, in UK time with its zone ("14 Jul 2026, 14:05 BST"); a
 * limit at a local midnight as the day it closes ("the end of 31 Mar 2027"). Never UTC: in
 * summer a UTC time reads an hour later than the limit. Memoised by instant.
 */
export function ukLimitText(at: number): string {
  let t = ukText.get(at);
  if (t === undefined) {
    if (ukText.size >= 50_000) ukText.clear();
    const w = wallClock(at, 'Europe/London');
    t = w.h === 0 && w.min === 0 && w.s === 0 ? `the end of ${ukDay.format(at - 1)}` : ukMinute.format(at).replace(',', '');
    ukText.set(at, t);
  }
  return t;
}
