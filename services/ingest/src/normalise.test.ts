import fc from 'fast-check';
import { aheadOfClock, canonicalise, digest, jsonDepthExceeds, jsonSyntaxError, validateItem } from './normalise';

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

describe('dates ahead of the clock', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  const H = 3_600_000;
  it('refuses an event dated more than the limit ahead, saying by how much and what to check', () => {
    expect(aheadOfClock(now + 24 * H, now, 24 * H)).toBeUndefined();
    expect(aheadOfClock(now + 24 * H + 1, now, 24 * H)).toBe("2026-12-04T12:00:00.001Z is 24 hours ahead of this server's clock (2026-12-03T12:00:00.000Z); more than 24 hours ahead is refused as a wrong date: check the date in the message and the sending system's clock");
    expect(aheadOfClock(now + 90 * 60_000, now, 60 * 60_000)).toMatch(/is 1 hours ahead .* more than 1 hours ahead/);
    expect(aheadOfClock(now + 40 * 60_000, now, 30 * 60_000)).toMatch(/more than 30 minutes ahead/);
    expect(aheadOfClock(Date.parse('2062-12-03T12:00:00Z'), now, 24 * H)).toMatch(/is 13149 days ahead/);
    expect(aheadOfClock(Date.parse('2062-12-03T12:00:00Z'), now, 0)).toBeUndefined();
    // The past is never "ahead".
    expect(aheadOfClock(now - 400 * 24 * H, now, 24 * H)).toBeUndefined();
  });
  it('validateItem names occurredAt for a JSON event dated ahead', () => {
    const item = { eventId: 'E1', type: 'patient.admitted', occurredAt: '2062-12-03T09:00:00Z', site: 'RXT', patientId: 'P1', payload: { spellId: 'S1', ward: 'OAK' } };
    const r = validateItem(item, 'json', 'pas', now, 24 * H);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['occurredAt']);
    expect(validateItem(item, 'json', 'pas', now, 0).ok).toBe(true);
    expect(validateItem({ ...item, occurredAt: '2026-12-03T20:00:00Z' }, 'json', 'pas', now, 24 * H).ok).toBe(true);
  });
});
