// Clinically-ready-for-discharge (CRFD) delay reasons, MHSDS v6 table MHS518, codes
// 01-37 and 98. Codes whose meaning the product's domain reference (docs: domain.md)
// states are labelled from it; the rest carry a GENERIC label (generic: true) until
// someone checks them against the MHSDS v6 specification. Housing codes 14-19 and 32:
// the reference says they are housing, not their wording, so their labels are generic
// too. The UI marks generic labels so nobody mistakes them for the official wording.
// Older MHSDS v5 codes (a letter and a digit, e.g. A2) from history are shown as v5
// reasons, code as sent: no v5 -> v6 mapping is assumed (domain.md), and the
// reference gives no v5 wording.

export type CrfdCategory = 'care' | 'funding' | 'housing' | 'legal' | 'choice' | 'nhs' | 'other' | 'unknown';

export interface CrfdReason {
  code: string;
  /** Short label for tiles and chips. */
  label: string;
  category: CrfdCategory;
  /** True when the label is a placeholder, not confirmed against MHSDS v6. */
  generic: boolean;
  /** The MHSDS version whose code list the code is from (5: history before April 2024). */
  version: 5 | 6;
}

const known: Record<string, [label: string, category: CrfdCategory, generic?: true]> = {
  '01': ['Awaiting care coordinator', 'care'],
  '04': ['Awaiting funding decision', 'funding'],
  '07': ['Care home place (without nursing)', 'care'],
  '08': ['Care home place (with nursing)', 'care'],
  '09': ['Awaiting care package', 'care'],
  '11': ['Patient or family choice', 'choice'],
  '14': ['Housing (code 14)', 'housing', true],
  '15': ['Housing (code 15)', 'housing', true],
  '16': ['Housing (code 16)', 'housing', true],
  '17': ['Housing (code 17)', 'housing', true],
  '18': ['Housing (code 18)', 'housing', true],
  '19': ['Housing (code 19)', 'housing', true],
  '25': ['Awaiting MHA legal proceedings', 'legal'],
  '27': ['Awaiting DoLS', 'legal'],
  '32': ['Housing (code 32)', 'housing', true],
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
      ? { code, label: k[0], category: k[1], generic: k[2] ?? false, version: 6 }
      : { code, label: `Other external delay (code ${code})`, category: 'other', generic: true, version: 6 });
  }
  return map;
}

export const CRFD_REASONS: ReadonlyMap<string, CrfdReason> = build();

/** "1", "01", " 01 " all mean code 01; non-numeric codes (older v5 such as "A2") pass through. */
export function normaliseCrfdCode(raw: string): string {
  const t = raw.trim();
  return /^\d{1,2}$/.test(t) ? t.padStart(2, '0') : t.toUpperCase();
}

/** An MHSDS v5 delay reason code (a letter and a digit), as the flow-event contract accepts from history. */
export const isV5CrfdCode = (code: string): boolean => /^[A-Z]\d$/.test(code);

/** The reason for a code: v6 from the list, v5 history named as such, anything else "unmapped". */
export function crfdReason(raw: string): CrfdReason {
  const code = normaliseCrfdCode(raw);
  const v6 = CRFD_REASONS.get(code);
  if (v6) return v6;
  if (isV5CrfdCode(code)) return { code, label: `MHSDS v5 reason ${code} (history)`, category: 'other', generic: true, version: 5 };
  return { code, label: `Unmapped reason code ${code}`, category: 'other', generic: true, version: 6 };
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
