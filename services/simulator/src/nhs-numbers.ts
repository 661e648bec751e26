// Synthetic NHS numbers: valid Modulus 11 (domain.md "NHS number"), drawn from a
// prefix that is never issued to real people (default "999", the range kept for test
// data), unique within one simulation, and reproducible from the seed.
import { nhsNumberCheckDigit } from '@pfm/contracts';
import type { Rng } from './rng';

const SPACE = 1_000_000; // the six digits after a three-digit prefix

/**
 * Hands out distinct valid NHS numbers. The six free digits walk a full-period affine
 * permutation of 0..999999 (x -> a*x + b mod 10^6, a coprime to 10), so no number repeats
 * until the space is used up; bodies whose check digit would be 10 are skipped.
 */
export class NhsNumberSource {
  private readonly a: number;
  private readonly b: number;
  private i = 0;

  constructor(
    rng: Rng,
    private readonly prefix = '999',
  ) {
    if (!/^\d{3}$/.test(prefix)) throw new RangeError('NHS number prefix must be three digits');
    const multipliers = [7_919, 104_729, 130_363, 331_777, 524_287, 611_953, 746_483, 999_983];
    this.a = rng.pick(multipliers);
    this.b = rng.int(SPACE);
  }

  next(): string {
    while (this.i < SPACE) {
      const body = ((this.a * this.i + this.b) % SPACE).toString().padStart(6, '0');
      this.i++;
      const first9 = this.prefix + body;
      const check = nhsNumberCheckDigit(first9);
      if (check !== null) return first9 + String(check);
    }
    throw new RangeError(`NHS number space for prefix ${this.prefix} is exhausted`);
  }
}

/** The same number with a wrong check digit: fails Modulus 11 (a realistic keying fault). */
export function corruptNhsNumber(valid: string, rng: Rng): string {
  const right = Number(valid[9]);
  const wrong = (right + 1 + rng.int(9)) % 10;
  return valid.slice(0, 9) + String(wrong);
}
