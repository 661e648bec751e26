import fc from 'fast-check';
import { canonicalise, digest, jsonDepthExceeds } from './normalise';

describe('jsonDepthExceeds', () => {
  it('counts objects and arrays, not brackets inside strings', () => {
    expect(jsonDepthExceeds('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('{"a":"[[[[[[[[[[\\"[[[["}', 1)).toBe(false);
  });
  it('property: agrees with the depth of the parsed value', () => {
    const depth = (v: unknown): number => (v && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depth)) : 0);
    fc.assert(fc.property(fc.json({ depthSize: 'medium' }), fc.integer({ min: 0, max: 8 }), (text, max) => {
      expect(jsonDepthExceeds(text, max)).toBe(depth(JSON.parse(text)) > max);
    }), { numRuns: 300 });
  });
});

describe('canonicalise', () => {
  it('fills a deterministic id from the content, so a re-send dedupes', () => {
    const input = { type: 'leave.ended', occurredAt: 1, site: 'RXT', patientId: 'P', payload: { spellId: 'S' } } as const;
    const a = canonicalise(input, 'json', 'x', 10);
    const b = canonicalise(input, 'json', 'x', 20);
    expect(a.eventId).toBe(b.eventId);
    expect(a).toMatchObject({ recordedAt: 10, sourceSystem: 'x', channel: 'json' });
    expect(digest('a', 'b')).not.toBe(digest('ab'));
  });
});
