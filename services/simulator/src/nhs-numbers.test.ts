import { isValidNhsNumber, nhsNumberCheckDigit } from '@pfm/contracts';
import { corruptNhsNumber, NhsNumberSource } from './nhs-numbers';
import { Rng } from './rng';

describe('synthetic NHS numbers', () => {
  it('are valid Modulus 11, in the 999 range, distinct and reproducible', () => {
    const a = new NhsNumberSource(new Rng('s'));
    const b = new NhsNumberSource(new Rng('s'));
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const n = a.next();
      expect(n).toBe(b.next());
      expect(n).toMatch(/^999\d{7}$/);
      expect(isValidNhsNumber(n)).toBe(true);
      seen.add(n);
    }
    expect(seen.size).toBe(20_000);
  });

  it('never hands out a body whose check digit would be 10', () => {
    const src = new NhsNumberSource(new Rng(3));
    for (let i = 0; i < 5_000; i++) expect(nhsNumberCheckDigit(src.next().slice(0, 9))).not.toBeNull();
  });

  it('matches the worked example in domain.md', () => {
    expect(nhsNumberCheckDigit('943476591')).toBe(9);
  });

  it('corrupts a number so that it fails the check', () => {
    const rng = new Rng(1);
    const src = new NhsNumberSource(rng);
    for (let i = 0; i < 1_000; i++) expect(isValidNhsNumber(corruptNhsNumber(src.next(), rng))).toBe(false);
  });
});

describe('Rng', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const draw = (seed: string | number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 5 }, () => r.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw('1')).toEqual(draw(1));
  });

  it('draws a lognormal with the requested median', () => {
    const r = new Rng(9);
    const xs = Array.from({ length: 20_000 }, () => r.lognormal({ median: 30, sigma: 0.6 })).sort((a, b) => a - b);
    expect(xs[10_000]).toBeGreaterThan(28.5);
    expect(xs[10_000]).toBeLessThan(31.5);
    for (const x of xs) expect(x).toBeGreaterThan(0);
  });
});
