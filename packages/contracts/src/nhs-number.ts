// NHS number check (Modulus 11): weights 10..2 over the first nine digits;
// check = 11 - (sum mod 11); 11 -> 0; 10 -> the number is invalid.
export function nhsNumberCheckDigit(first9: string): number | null {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(first9[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return null;
  return check;
}

/** Accepts "9434765919" or "943 476 5919"; returns the 10 digits, or null when invalid. */
export function normaliseNhsNumber(raw: string): string | null {
  const digits = raw.replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(digits)) return null;
  const check = nhsNumberCheckDigit(digits.slice(0, 9));
  return check !== null && check === Number(digits[9]) ? digits : null;
}

export const isValidNhsNumber = (raw: string): boolean => normaliseNhsNumber(raw) !== null;

/** 3-3-4 display form. */
export const formatNhsNumber = (digits: string): string => `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
