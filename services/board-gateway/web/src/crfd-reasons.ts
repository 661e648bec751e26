// Clinically-ready-for-discharge (CRFD) delay reasons as the board shows them. The code
// lists, their published wording and the v6 reason groups live in @pfm/contracts
// (crfd-reasons.ts, which names its sources: NHS England's MHSDS acute inpatient dashboard
// SQL for MHSDS v6 MHS518 codes 01-37 and 98; NHS England's MHSDS monthly statistics code
// for the v5 codes). Every v6 code and every published v5 code has its real label; a v5
// code is shown as a v5 reason, never mapped to a v6 one. Only a code in neither list is
// flagged `generic` (shown with an asterisk): "Unmapped reason code X", or "MHSDS v5
// reason X (history)" for a v5-shaped code the published list does not have.
import { CRFD_GROUP_LABELS, CRFD_V6_CODES, crfdCode, normaliseCrfdCode, V5_CRFD_CODE, type CrfdGroup } from '@pfm/contracts/src/crfd-reasons';

export { normaliseCrfdCode };

export interface CrfdReason {
  code: string;
  /** The published wording of the code. */
  label: string;
  /** The v6 reason group (Community, Social care/local authority, Hospital, Housing, Not known); none for v5 codes. */
  group?: CrfdGroup;
  groupLabel?: string;
  /** True when the code is in neither published list, so the label is not its wording. */
  generic: boolean;
  /** The MHSDS version whose code list the code is from (5: history before April 2024). */
  version: 5 | 6;
}

const withGroup = (r: Omit<CrfdReason, 'groupLabel'>): CrfdReason => (r.group ? { ...r, groupLabel: CRFD_GROUP_LABELS[r.group] } : r);

export const CRFD_REASONS: ReadonlyMap<string, CrfdReason> = new Map(CRFD_V6_CODES.map((c) => [c.code, withGroup({ code: c.code, label: c.label, group: c.group, generic: false, version: 6 })]));

/** An MHSDS v5 delay reason code (a letter and one or two digits), as the flow-event contract accepts from history. */
export const isV5CrfdCode = (code: string): boolean => V5_CRFD_CODE.test(code);

/** The reason for a code: from the published v6 or v5 list; a v5-shaped code not in it named as a v5 reason; anything else "unmapped". */
export function crfdReason(raw: string): CrfdReason {
  const code = normaliseCrfdCode(raw);
  const known = crfdCode(code);
  if (known) return withGroup({ code, label: known.label, group: known.group, generic: false, version: known.version });
  if (isV5CrfdCode(code)) return { code, label: `MHSDS v5 reason ${code} (history)`, generic: true, version: 5 };
  return { code, label: `Unmapped reason code ${code}`, generic: true, version: 6 };
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
