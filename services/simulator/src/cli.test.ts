import { parseArgs } from './cli';

describe('cli arguments', () => {
  it('reads seed, days, start, faults and stats, with defaults', () => {
    expect(parseArgs([])).toEqual({ seed: '42', days: 7, start: Date.UTC(2026, 0, 1), faults: false, stats: false });
    expect(parseArgs(['--', '--seed', 'x', '--days', '30', '--start', '2026-03-01T00:00:00Z', '--faults', '--stats'])).toEqual({
      seed: 'x', days: 30, start: Date.UTC(2026, 2, 1), faults: true, stats: true,
    });
  });

  it('rejects what it does not understand', () => {
    expect(() => parseArgs(['--speed', '2'])).toThrow(/unknown option --speed/);
    expect(() => parseArgs(['--days'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--days', '-1'])).toThrow(/--days/);
  });
});
