// One board update per ward per short window. A ward not updated within the window is
// published at once (a quiet ward's board moves as soon as its event is applied); a ward
// updated again inside the window is held and published once at the window's end, with
// the newest change and a summary read at that moment. Under dense traffic a ward's board
// then costs one Kafka message and one socket.io emit per window, however many events
// landed in it; at a trust's usual rate nothing is held.
//
// Summaries are read from Redis when an update is sent, never when it is held, so what is
// sent is the ward as it stands: holding can merge updates but never publish a stale one.
import type { Logger } from '@pfm/observability';

/** The event an update is published for (carried on to the boards), if any. */
export interface WardChange { eventId: string; type: string; spellId?: string }

/** One ward's update to send: its newest change and that change's trace headers. */
export interface WardSend { ward: string; change?: WardChange; headers: Record<string, string> }

export interface BoardWindowDeps {
  /** Length of the window (ms). 0 = every ward touched by a batch is published with the batch. */
  windowMs: number;
  /** Reads the wards' summaries and publishes them (one site at a time). */
  send: (site: string, wards: WardSend[]) => Promise<void>;
  /** Trace headers of an event being applied (read when the ward is touched, while the event's span is open). */
  headersFor: (eventId: string | undefined) => Record<string, string>;
  logger: Logger;
  /** Counts updates as they go: at once, at a window's end, or merged into one already held. */
  onCount?: (how: 'at_once' | 'window_end' | 'merged', n: number) => void;
  now?: () => number;
}

interface Held extends WardSend { site: string; due: number }

export class BoardWindow {
  private readonly lastSent = new Map<string, number>();
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** The window-end send in progress: one at a time, and stop() waits for it. */
  private sending: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly d: BoardWindowDeps) {
    this.now = d.now ?? Date.now;
  }

  /** Wards held for the window's end. */
  get heldCount(): number { return this.held.size; }

  /**
   * The wards a batch (or a scan) touched, by site, with the newest change per `site/ward`.
   * Wards not sent within the window are sent before this resolves (an error is thrown to
   * the caller, whose batch is then retried); the others are held.
   */
  async offer(touched: Map<string, Set<string>>, changes: Map<string, WardChange> = new Map()): Promise<void> {
    const now = this.now();
    const atOnce = new Map<string, WardSend[]>();
    let merged = 0;
    for (const [site, wards] of touched) {
      for (const ward of [...wards].sort()) {
        const key = `${site}/${ward}`;
        const change = changes.get(key);
        const headers = this.d.headersFor(change?.eventId);
        const held = this.held.get(key);
        if (held) {
          // Already waiting for the window's end: it goes then, with the newest change.
          if (change) { held.change = change; held.headers = headers; }
          merged += 1;
          continue;
        }
        const last = this.lastSent.get(key);
        if (this.d.windowMs <= 0 || last === undefined || now - last >= this.d.windowMs) {
          this.lastSent.set(key, now);
          const list = atOnce.get(site) ?? [];
          list.push({ ward, change, headers });
          atOnce.set(site, list);
        } else {
          this.held.set(key, { site, ward, change, headers, due: last + this.d.windowMs });
        }
      }
    }
    if (merged) this.d.onCount?.('merged', merged);
    this.arm();
    for (const [site, wards] of atOnce) {
      await this.d.send(site, wards);
      this.d.onCount?.('at_once', wards.length);
    }
  }

  /** Sends every held update now (at stop: nothing held is left unsent). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    await this.sending;
    await this.sendDue(Infinity);
  }

  private arm(): void {
    let due = Infinity;
    for (const h of this.held.values()) if (h.due < due) due = h.due;
    if (due === Infinity || due >= this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      // A send in progress re-arms when it ends.
      if (this.sending) return;
      this.sending = this.sendDue(this.now()).finally(() => { this.sending = undefined; this.arm(); });
    }, Math.max(0, due - this.now()));
    this.timer.unref();
  }

  /** Sends the held updates due by `by`. One that fails is held again for the next window. */
  private async sendDue(by: number): Promise<void> {
    const bySite = new Map<string, Held[]>();
    for (const [key, h] of this.held) {
      if (h.due > by) continue;
      this.held.delete(key);
      const list = bySite.get(h.site) ?? [];
      list.push(h);
      bySite.set(h.site, list);
    }
    // Marked sent before the first await: a ward touched meanwhile waits for the next window.
    const now = this.now();
    for (const [site, list] of bySite) for (const h of list) this.lastSent.set(`${site}/${h.ward}`, now);
    for (const [site, list] of bySite) {
      try {
        await this.d.send(site, list.map(({ ward, change, headers }) => ({ ward, change, headers })));
        this.d.onCount?.('window_end', list.length);
      } catch (err) {
        if (by === Infinity) {
          // At stop there is no next window: said loudly; the boards show these wards as they
          // stand at their next update or when they connect again (summaries live in Redis).
          this.d.logger.error({ err, site, wards: list.length }, 'board updates held for the window could not be published at stop');
          continue;
        }
        this.d.logger.warn({ err, site, wards: list.length }, 'board updates held for the window could not be published: trying again at the next window');
        const again = this.now() + this.d.windowMs;
        for (const h of list) {
          const key = `${site}/${h.ward}`;
          const newer = this.held.get(key);
          // A change that arrived while sending is newer than the failed one.
          this.held.set(key, newer ? { ...newer, due: Math.min(newer.due, again) } : { ...h, due: again });
        }
      }
    }
  }
}
