import { formatDtm, localToEpochMs, parseDtm, zoneOffsetMs } from './dtm';

const iso = (v: string, minPrecision?: 'minute' | 'day'): string | null => {
  const d = parseDtm(v, minPrecision ? { minPrecision } : {});
  return d ? new Date(d.epochMs).toISOString() : null;
};

describe('HL7 DTM parsing', () => {
  it('reads a winter time without an offset as GMT', () => {
    expect(iso('20261101091500')).toBe('2026-11-01T09:15:00.000Z');
  });
  it('reads a summer time without an offset as BST (UTC+1)', () => {
    expect(iso('202607022248')).toBe('2026-07-02T21:48:00.000Z');
  });
  it('honours an explicit offset whatever the season', () => {
    expect(iso('20260702224800+0100')).toBe('2026-07-02T21:48:00.000Z');
    expect(iso('20260702224800+0000')).toBe('2026-07-02T22:48:00.000Z');
    expect(iso('20260702224800-0500')).toBe('2026-07-03T03:48:00.000Z');
    expect(iso('20261101+0530')).toBe('2026-10-31T18:30:00.000Z');
  });
  it('keeps fractions of a second to the millisecond', () => {
    expect(iso('20261101091500.1')).toBe('2026-11-01T09:15:00.100Z');
    expect(iso('20261101091500.1234')).toBe('2026-11-01T09:15:00.123Z');
  });
  it('reports the precision given and defaults the rest to the start of the period', () => {
    expect(parseDtm('2026')?.precision).toBe('year');
    expect(parseDtm('202611')?.precision).toBe('month');
    expect(parseDtm('20261101')?.precision).toBe('day');
    expect(parseDtm('2026110109')?.precision).toBe('hour');
    expect(parseDtm('202611010915')?.precision).toBe('minute');
    expect(parseDtm('20261101091500')?.precision).toBe('second');
    expect(iso('20260702')).toBe('2026-07-01T23:00:00.000Z'); // local midnight in BST
  });
  it('rejects values below a required precision', () => {
    expect(iso('20261101', 'minute')).toBeNull();
    expect(iso('2026110109', 'minute')).toBeNull();
    expect(iso('202611010915', 'minute')).not.toBeNull();
    expect(iso('2026', 'day')).toBeNull();
  });
  it.each([
    '', 'abc', '20261301', '20260230', '20250229', '2026110125', '202611010960', '20261101091560',
    '20261101+2500', '20261101+0160', '20261101091500.12345', '0999', '2026-11-01', '20261101 0915', '20261101091500Z',
  ])('rejects %p', (v) => {
    expect(parseDtm(v)).toBeNull();
  });
  it('accepts 29 February only in leap years', () => {
    expect(iso('20240229')).toBe('2024-02-29T00:00:00.000Z');
    expect(iso('20250229')).toBeNull();
  });
});

describe('Europe/London clock changes', () => {
  // 2026: BST starts Sun 29 March 01:00 GMT; ends Sun 25 October 02:00 BST.
  it('knows the offset either side of each change', () => {
    expect(zoneOffsetMs(Date.parse('2026-03-29T00:59:59Z'))).toBe(0);
    expect(zoneOffsetMs(Date.parse('2026-03-29T01:00:00Z'))).toBe(3_600_000);
    expect(zoneOffsetMs(Date.parse('2026-10-25T00:59:59Z'))).toBe(3_600_000);
    expect(zoneOffsetMs(Date.parse('2026-10-25T01:00:00Z'))).toBe(0);
  });
  it('maps local times around the spring change, moving the missing hour forward', () => {
    expect(iso('202603290059')).toBe('2026-03-29T00:59:00.000Z');
    expect(iso('202603290130')).toBe('2026-03-29T01:30:00.000Z'); // 01:30 does not exist: read as 02:30 BST
    expect(iso('202603290200')).toBe('2026-03-29T01:00:00.000Z');
  });
  it('maps local times around the autumn change, taking the first of a repeated time', () => {
    expect(iso('202610250059')).toBe('2026-10-24T23:59:00.000Z');
    expect(iso('202610250130')).toBe('2026-10-25T00:30:00.000Z'); // 01:30 BST, not 01:30 GMT
    expect(iso('202610250200')).toBe('2026-10-25T02:00:00.000Z');
  });
  it('uses another zone when asked', () => {
    expect(localToEpochMs({ year: 2026, month: 7, day: 2, hour: 12 }, 'America/New_York')).toBe(Date.parse('2026-07-02T16:00:00Z'));
    expect(parseDtm('202607021200', { timeZone: 'UTC' })?.epochMs).toBe(Date.parse('2026-07-02T12:00:00Z'));
  });
});

describe('formatDtm', () => {
  it('writes local time with its offset', () => {
    expect(formatDtm(Date.parse('2026-07-02T21:48:07Z'))).toBe('20260702224807+0100');
    expect(formatDtm(Date.parse('2026-11-01T09:15:00Z'))).toBe('20261101091500+0000');
    expect(formatDtm(Date.parse('2026-07-02T21:48:07Z'), 'America/New_York')).toBe('20260702174807-0400');
  });
  it('round-trips through parseDtm', () => {
    const t = Date.parse('2026-10-25T00:30:00Z');
    expect(parseDtm(formatDtm(t))?.epochMs).toBe(t);
  });
});
