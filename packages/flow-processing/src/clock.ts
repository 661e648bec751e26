// Which clock a periodic job uses. Live: the wall clock, so a patient becomes stranded
// at 03:00 on a quiet ward. Replay: event time (the highest event time seen), so a
// replay raises exactly the alerts that live processing raised for the same events.
export interface Clock {
  readonly kind: 'wall' | 'event';
  now(): number;
  /**
   * The time up to which the scanner may fire clocks. Event time: the lowest of the
   * partitions' watermarks, so a clock never fires before every partition has passed it
   * (partitions run at different speeds; firing on the fastest would depend on timing).
   */
  scanTime(): number;
  /** Tells the clock an event with this event time was processed from this partition. */
  observe(eventTime: number, partition?: number): void;
}

export class WallClock implements Clock {
  readonly kind = 'wall' as const;
  now(): number { return Date.now(); }
  scanTime(): number { return Date.now(); }
  observe(): void {}
}

export class EventTimeClock implements Clock {
  readonly kind = 'event' as const;
  private watermark = 0;
  private readonly partitions = new Map<number, number>();
  private finished = false;
  now(): number { return this.watermark; }
  scanTime(): number {
    if (this.finished || this.partitions.size === 0) return this.watermark;
    return Math.min(...this.partitions.values());
  }
  observe(eventTime: number, partition?: number): void {
    if (eventTime > this.watermark) this.watermark = eventTime;
    if (partition !== undefined && eventTime > (this.partitions.get(partition) ?? 0)) this.partitions.set(partition, eventTime);
  }
  /**
   * The whole range has been read (end of a replay): the scanner may go to the end, or
   * exactly to `at` (time travel to `at`: the clock stands there, whatever later events
   * it passed over).
   */
  finish(at?: number): void {
    this.finished = true;
    if (at !== undefined) this.watermark = at;
  }
}
