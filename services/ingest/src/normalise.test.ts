import fc from 'fast-check';
import { canonicalise, digest, jsonDepthExceeds, jsonSyntaxError } from './normalise';

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

describe('jsonSyntaxError', () => {
  it('says where the body goes wrong without quoting it', () => {
    expect(jsonSyntaxError('SMITH JOHN 9434765919')).toBe('not valid JSON: unexpected character at position 0');
    expect(jsonSyntaxError('{"a": SMITH}')).toBe('not valid JSON: unexpected character at position 6');
    expect(jsonSyntaxError('{"a":"SMITH')).toBe('not valid JSON: unterminated string at position 11');
    expect(jsonSyntaxError('[1,2')).toBe('not valid JSON: unexpected end of the body at position 4');
    expect(jsonSyntaxError('{"a":1}x')).toBe('not valid JSON: unexpected text after the JSON value at position 7');
    expect(jsonSyntaxError('')).toBe('not valid JSON: unexpected end of the body at position 0');
  });
  it('agrees with JSON.parse on what is valid (fuzz), and never echoes the text', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string({ maxLength: 60 }), fc.json().map((j) => j.slice(0, -1))), (text) => {
      let valid = true;
      try { JSON.parse(text); } catch { valid = false; }
      const msg = jsonSyntaxError(text);
      if (valid) expect(msg).toBe('not valid JSON');
      else expect(msg).toMatch(/^not valid JSON: [A-Za-z' ,:\\{}[\]]+ at position \d+$/);
    }), { numRuns: 1000 });
  });
});
