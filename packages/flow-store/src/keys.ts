// Every Redis key the product uses is built here. All keys of one site share the hash
// tag {site}, so every Lua script touches one slot and Redis Cluster works. The prefix
// separates live state ("pfm") from replay sandboxes and tests; no ioredis keyPrefix.
/**
 * A site's keys, made once: a batch names them many times, and the same string object
 * used again is not built, flattened and hashed again (netting and encoding key maps on
 * them; docs/benchmarks.md). Patient and alert keys are not kept (one per patient or alert).
 */
interface SiteKeys { due: string; followups: string; wards: string; teams: string; parked: string; alerts: string; outbox: string; scoped: Map<string, string>[] }
/** Sites (and scopes per site and kind) whose keys are kept; beyond that they are built on each call. */
const MEMO_LIMIT = 10_000;
const COUNTS = 0;
const BEDS = 1;
const INDEX: Record<'los' | 'edd' | 'dta', number> = { los: 2, edd: 3, dta: 4 };

/** The outbox key suffix of a sandbox that publishes nothing: the scripts write nothing to it (lua/alerts.lua, toOutbox). */
const OUTBOX_OFF = 'aout.off';

export class Keys {
  private readonly sitesMemo = new Map<string, SiteKeys>();
  /** False in a replay sandbox that publishes nothing: its alert changes go to no outbox (see alertOutbox). */
  readonly alertOutboxOn: boolean;
  constructor(readonly prefix: string = 'pfm', opts: { alertOutbox?: boolean } = {}) {
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`invalid key prefix ${prefix}`);
    this.alertOutboxOn = opts.alertOutbox !== false;
    // Only a sandbox may go without an outbox: live state (and any other prefix) always has one.
    if (!this.alertOutboxOn && !prefix.startsWith('sbx.')) throw new Error(`the alert outbox can only be left out in a replay sandbox (prefix sbx.*), not under ${prefix}`);
  }
  private tag(site: string): string { return `${this.prefix}:{${site}}`; }
  private of(site: string): SiteKeys {
    let k = this.sitesMemo.get(site);
    if (!k) {
      const t = this.tag(site);
      k = { due: `${t}:due`, followups: `${t}:fu`, wards: `${t}:wards`, teams: `${t}:teams`, parked: `${t}:parked`, alerts: `${t}:alerts`, outbox: `${t}:${this.alertOutboxOn ? 'aout' : OUTBOX_OFF}`, scoped: [new Map(), new Map(), new Map(), new Map(), new Map()] };
      if (this.sitesMemo.size < MEMO_LIMIT) this.sitesMemo.set(site, k);
    }
    return k;
  }
  private scopedKey(site: string, kind: number, scope: string, make: () => string): string {
    const m = this.of(site).scoped[kind]!;
    let key = m.get(scope);
    if (key === undefined) {
      key = make();
      if (m.size < MEMO_LIMIT) m.set(scope, key);
    }
    return key;
  }
  /** Global set of sites seen (single-key operations only). */
  sites(): string { return `${this.prefix}:sites`; }
  /**
   * Patient state (JSON) without its history: `events` is written as `[]` and the events
   * are in the list `history()`. A value written before the history had its own key holds
   * every event here (read as it is; rewritten in two keys at the patient's next change).
   */
  patient(site: string, patientId: string): string { return `${this.tag(site)}:p:${patientId}`; }
  /**
   * A patient's applied events, oldest first, one JSON per list item: an event that
   * extends the history is appended (RPUSH), not the whole history written again.
   */
  history(site: string, patientId: string): string { return `${this.tag(site)}:h:${patientId}`; }
  /** Hash "<topic>:<partition>" -> last applied offset, for this site's events. */
  offsets(site: string): string { return `${this.tag(site)}:offsets`; }
  /** Hash of counters for a scope ("ward:W12", "team:CRISIS", "site"), plus "seq". */
  counts(site: string, scope: string): string { return this.scopedKey(site, COUNTS, scope, () => `${this.tag(site)}:c:${scope}`); }
  /** Sorted set per ward: "los" scored by spell start, "edd" scored by expected discharge; per site "dta" (patients waiting for a bed) by decision time. */
  index(site: string, scope: string, index: 'los' | 'edd' | 'dta'): string { return this.scopedKey(site, INDEX[index], scope, () => `${this.tag(site)}:i:${scope}:${index}`); }
  /** Set of "bed<US>patientId|spellId" entries (order-independent under concurrent partitions). */
  beds(site: string, scope: string): string { return this.scopedKey(site, BEDS, scope, () => `${this.tag(site)}:b:${scope}`); }
  /** Set of ward codes seen in events (the registry may not know them all). */
  wards(site: string): string { return this.of(site).wards; }
  /** Set of team codes seen in referrals. */
  teams(site: string): string { return this.of(site).teams; }
  /**
   * Sorted set of patients with a clock still to fire: member patientId, score = the
   * earliest due time among that patient's clocks not raised yet (one member per patient,
   * written at most once per commit). An older version kept one member per clock,
   * "patientId\u001falertId" scored by that clock's due time: such members are still read
   * (the scanner takes them as "this patient is due") and taken out when the scanner
   * handles the patient.
   */
  due(site: string): string { return this.of(site).due; }
  /** Sorted set of running 72 h follow-up clocks not raised yet: member "patientId\u001falertId", score = due time (the follow-up worklist). */
  followups(site: string): string { return this.of(site).followups; }
  /** Sorted set of parked patients: member patientId, score = earliest expiry. */
  parked(site: string): string { return this.of(site).parked; }
  /** Alert (JSON), and the site's alert index scored by becameTrueAt. */
  alert(site: string, alertId: string): string { return `${this.tag(site)}:a:${alertId}`; }
  alerts(site: string): string { return this.of(site).alerts; }
  /**
   * Stream of alert changes (raised, acknowledged, resolved) waiting to be published to
   * Kafka, read through a consumer group so concurrent drains never share an entry. In a
   * sandbox made with `alertOutbox: false` (a replay that publishes nothing) the key is
   * `<sbx.name>:{site}:aout.off`, which the scripts never write and the store never reads.
   */
  alertOutbox(site: string): string { return this.of(site).outbox; }
  /**
   * Sorted set of alerts waiting to escalate: member alertId, score = when its next level
   * falls due (written when the alert is raised, moved on at each level, dropped once it
   * is acknowledged, resolved or at the chain's end; the scanner reads it).
   */
  escalations(site: string): string { return `${this.tag(site)}:esc`; }
  /** The list the outbox was before it became a stream; moved into the stream on start. */
  legacyOutbox(site: string): string { return `${this.tag(site)}:outbox`; }
  /**
   * Hash "<topic>:<partition>" -> the epoch of the engine that owns the partition: batch
   * commits of an older owner (a zombie after a rebalance) are refused. Not state: left
   * out of canonical dumps.
   */
  fence(site: string): string { return `${this.tag(site)}:fence`; }
  /** Counter handing out partition ownership epochs (one per claim). Not state. */
  epoch(topic: string, partition: number): string { return `${this.prefix}:fence:${topic}:${partition}`; }
  /** Scanner's last run (event-time or wall-clock ms). */
  clock(site: string): string { return `${this.tag(site)}:clock`; }
  /** Match pattern for every key of this prefix (for dumps and sandbox clean-up). */
  all(): string { return `${this.prefix}:*`; }
}
