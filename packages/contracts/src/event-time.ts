// How far ahead of the receiving server's clock an event may be dated. A rule of the input
// contract shared by every channel (JSON, FHIR, HL7 v2), which each reports in its own terms.

/** Default of ingest's PFM_INGEST_MAX_AHEAD_MINUTES (24 hours): past clock skew and time-zone slips, short of a wrong day. */
export const DEFAULT_MAX_AHEAD_MS = 24 * 3_600_000;


/**
 * An event dated further ahead of this server's clock than `maxAheadMs` is a wrong date
 * (a mistyped year or month, a sender's clock far off): refused with this reason instead of
 * admitting a patient years from now, whose stay would count backwards on the board and
 * whose event time would move an event-time clock past every patient's due alerts. 0 = no
 * limit (the demo's time-compressed feed runs ahead of the wall clock on purpose).
 */
export function aheadOfClock(occurredAt: number, now: number, maxAheadMs: number): string | undefined {
  if (maxAheadMs <= 0 || occurredAt - now <= maxAheadMs) return undefined;
  const ahead = occurredAt - now;
  const days = ahead / 86_400_000;
  const said = days >= 2 ? `${Math.floor(days)} days` : `${Math.floor(ahead / 3_600_000)} hours`;
  const limit = maxAheadMs % 3_600_000 === 0 ? `${maxAheadMs / 3_600_000} hours` : `${Math.round(maxAheadMs / 60_000)} minutes`;
  return `${new Date(occurredAt).toISOString()} is ${said} ahead of this server's clock (${new Date(now).toISOString()}); more than ${limit} ahead is refused as a wrong date: check the date in the message and the sending system's clock`;
}

