// Clinically-ready-for-discharge (CRFD) delay reasons, MHSDS v6 table MHS518, codes
// 01-37 and 98. Codes whose meaning the product's domain reference states are
// labelled from it; the rest carry a GENERIC label (generic: true) until someone
// checks them against the MHSDS v6 specification. The UI marks generic labels so
// nobody mistakes them for the official wording.

export type CrfdCategory = 'care' | 'funding' | 'housing' | 'legal' | 'choice' | 'nhs' | 'other' | 'unknown';

export interface CrfdReason {
  code: string;
  /** Short label for tiles and chips. */
  label: string;
  category: CrfdCategory;
  /** True when the label is a placeholder, not confirmed against MHSDS v6. */
  generic: boolean;
}

const known: Record<string, [label: string, category: CrfdCategory]> = {
  '01': ['Awaiting care coordinator', 'care'],
  '04': ['Awaiting funding decision', 'funding'],
  '07': ['Care home place (without nursing)', 'care'],
  '08': ['Care home place (with nursing)', 'care'],
  '09': ['Awaiting care package', 'care'],
  '11': ['Patient or family choice', 'choice'],
  '14': ['Housing (code 14)', 'housing'],
  '15': ['Housing (code 15)', 'housing'],
  '16': ['Housing (code 16)', 'housing'],
  '17': ['Housing (code 17)', 'housing'],
  '18': ['Housing (code 18)', 'housing'],
  '19': ['Housing (code 19)', 'housing'],
  '25': ['Awaiting MHA legal proceedings', 'legal'],
  '27': ['Awaiting DoLS', 'legal'],
  '32': ['Housing (code 32)', 'housing'],
  '35': ['NHS community assessment', 'nhs'],
  '36': ['Hospital staff shortages', 'nhs'],
  '98': ['Not known', 'unknown'],
};

function build(): Map<string, CrfdReason> {
  const map = new Map<string, CrfdReason>();
  const codes = [...Array.from({ length: 37 }, (_, i) => String(i + 1).padStart(2, '0')), '98'];
  for (const code of codes) {
    const k = known[code];
    map.set(code, k
      ? { code, label: k[0], category: k[1], generic: false }
      : { code, label: `Other external delay (code ${code})`, category: 'other', generic: true });
  }
  return map;
}

export const CRFD_REASONS: ReadonlyMap<string, CrfdReason> = build();

/** "1", "01", " 01 " all mean code 01; non-numeric codes (older v5 such as "A2") pass through. */
export function normaliseCrfdCode(raw: string): string {
  const t = raw.trim();
  return /^\d{1,2}$/.test(t) ? t.padStart(2, '0') : t.toUpperCase();
}

/** The reason for a code; unknown codes (e.g. v5 history) get an explicit "unmapped" label. */
export function crfdReason(raw: string): CrfdReason {
  const code = normaliseCrfdCode(raw);
  return CRFD_REASONS.get(code) ?? { code, label: `Unmapped reason code ${code}`, category: 'other', generic: true };
}

export interface ReasonCount { reason: CrfdReason; count: number }

/** Reasons sorted by count (desc), ties by code; codes that normalise to the same value are merged. */
export function topCrfdReasons(counts: Record<string, number>, limit = 3): { top: ReasonCount[]; rest: number } {
  const merged = new Map<string, number>();
  for (const [raw, n] of Object.entries(counts)) {
    if (!(n > 0)) continue;
    const code = normaliseCrfdCode(raw);
    merged.set(code, (merged.get(code) ?? 0) + n);
  }
  const all = [...merged.entries()]
    .map(([code, count]) => ({ reason: crfdReason(code), count }))
    .sort((a, b) => b.count - a.count || a.reason.code.localeCompare(b.reason.code));
  const top = all.slice(0, limit);
  const rest = all.slice(limit).reduce((s, r) => s + r.count, 0);
  return { top, rest };
}
