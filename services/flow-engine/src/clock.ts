// Which clock a periodic job uses. Live: the wall clock, so a patient becomes stranded
// at 03:00 on a quiet ward. Replay: event time (the highest event time seen), so a
// replay raises exactly the alerts that live processing raised for the same events.
export interface Clock {
  readonly kind: 'wall' | 'event';
  now(): number;
  /** Tells the clock an event with this event time was processed. */
  observe(eventTime: number): void;
}

export class WallClock implements Clock {
  readonly kind = 'wall' as const;
  now(): number { return Date.now(); }
  observe(): void {}
}

export class EventTimeClock implements Clock {
  readonly kind = 'event' as const;
  private watermark = 0;
  now(): number { return this.watermark; }
  observe(eventTime: number): void { if (eventTime > this.watermark) this.watermark = eventTime; }
}
