// Trust settings files: thresholds (merged over the national defaults).
import { readFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS, mergeResponseHours, type Thresholds } from '@pfm/flow-domain';

/** Reads a JSON file of threshold overrides; unknown keys are an error so typos never pass silently. */
export function loadThresholds(path?: string): Thresholds {
  if (!path) return DEFAULT_THRESHOLDS;
  const over = JSON.parse(readFileSync(path, 'utf8')) as Partial<Thresholds>;
  const unknown = Object.keys(over).filter((k) => !(k in DEFAULT_THRESHOLDS) && k !== 'sites');
  if (unknown.length) throw new Error(`thresholds file ${path}: unknown settings ${unknown.join(', ')}`);
  for (const [code, c] of Object.entries(over.mhaClocks ?? {})) {
    const lengths = (['hours', 'days', 'months'] as const).filter((k) => c[k] !== undefined);
    const length: unknown = lengths.length === 1 ? c[lengths[0]!] : undefined;
    if (typeof length !== 'number' || !(length > 0)) throw new Error(`thresholds file ${path}: mhaClocks.${code} needs exactly one of hours, days or months, a number above 0`);
  }
  const codes = { ...DEFAULT_THRESHOLDS.mhaClocks, ...over.mhaClocks };
  for (const [code, c] of Object.entries(over.mhaClocks ?? {})) {
    if (c.extends !== undefined && c.countsFrom !== undefined) throw new Error(`thresholds file ${path}: mhaClocks.${code} has both extends and countsFrom; a status either extends another's detention or counts from its start`);
    const link = c.extends ?? c.countsFrom;
    if (link !== undefined && (link === code || !(link in codes))) throw new Error(`thresholds file ${path}: mhaClocks.${code} ${c.extends !== undefined ? 'extends' : 'countsFrom'} '${link}', which is not another status of mhaClocks`);
  }
  return {
    ...DEFAULT_THRESHOLDS, ...over,
    longStayDays: { ...DEFAULT_THRESHOLDS.longStayDays, ...over.longStayDays },
    wardTypes: { ...DEFAULT_THRESHOLDS.wardTypes, ...over.wardTypes },
    mhaClocks: { ...DEFAULT_THRESHOLDS.mhaClocks, ...over.mhaClocks },
    referralResponseHours: mergeResponseHours(DEFAULT_THRESHOLDS.referralResponseHours, over.referralResponseHours),
  };
}
