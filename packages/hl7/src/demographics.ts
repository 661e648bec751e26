// Minimum identifiable data: from a person's name, birth date and sex we keep only
// initials, an age band and a sex code. Nothing else leaves this module.
import { DEFAULT_TIME_ZONE, localDate } from './dtm';

/** Age bands used for segmentation (GIRFT rec 1c); the last band is open-ended. */
export const AGE_BANDS = ['0-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65-74', '75-84', '85+'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];
const LOWER_BOUNDS = [0, 18, 25, 35, 45, 55, 65, 75, 85];

/** First letter of a name part, as A-Z (diacritics removed), or '' when it has none. */
function initialOf(part: string): string {
  const letters = part.normalize('NFD').toUpperCase().replace(/[^A-Z]/g, '');
  return letters.slice(0, 1);
}

/** Initials from an XPN name: given, middle(s), then family ("ALEX J SMITH" -> "AJS"); at most 4 letters, family kept last. */
export function initialsOf(name: { family: string; given: string; middle: string }): string | undefined {
  const family = initialOf(name.family);
  const leading = [name.given, ...name.middle.split(/\s+/)].map(initialOf).join('').slice(0, family ? 3 : 4);
  const out = leading + family;
  return /^[A-Z]{1,4}$/.test(out) ? out : undefined;
}

/** Completed years between a birth date and the local date of `atMs`; null when the birth date is after it. */
export function ageAt(birth: { year: number; month: number; day: number }, atMs: number, timeZone: string = DEFAULT_TIME_ZONE): number | null {
  const at = localDate(atMs, timeZone);
  let age = at.year - birth.year;
  if (at.month < birth.month || (at.month === birth.month && at.day < birth.day)) age--;
  return age < 0 ? null : age;
}

export function ageBandOf(age: number): AgeBand | undefined {
  if (!Number.isInteger(age) || age < 0 || age > 130) return undefined;
  let band: AgeBand | undefined;
  LOWER_BOUNDS.forEach((lower, i) => {
    if (age >= lower) band = AGE_BANDS[i];
  });
  return band;
}

/** HL7 table 0001 administrative sex codes passed through as they are. */
export const SEX_CODES = ['M', 'F', 'O', 'U', 'A', 'N', 'X'] as const;

export function genderOf(code: string): string | undefined {
  const c = code.trim().toUpperCase();
  return (SEX_CODES as readonly string[]).includes(c) ? c : undefined;
}
