import { syntheticEventChunks, syntheticEvents } from './pathways';

describe('synthetic events in chunks', () => {
  it('are the same events in the same order as the whole list', () => {
    const whole = syntheticEvents({ total: 5000, seed: 3 });
    const chunks = [...syntheticEventChunks({ total: 5000, seed: 3 }, 777)];
    expect(chunks.map((c) => c.length)).toEqual([...Array(6).fill(777), 5000 - 6 * 777]);
    expect(chunks.flat()).toEqual(whole);
  });

  it('are sorted by event time, ties in the order made', () => {
    const events = syntheticEvents({ total: 3000, seed: 5 });
    expect(events).toHaveLength(3000);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1]!, events[i]!];
      expect(a.occurredAt < b.occurredAt || (a.occurredAt === b.occurredAt && Number(a.eventId.slice(4)) < Number(b.eventId.slice(4)))).toBe(true);
    }
  });
});
