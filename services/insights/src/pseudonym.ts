// What analysts see instead of direct identifiers: a keyed-hash patient key, the NHS
// top-level ethnic group, and local area at the level the trust configures (never a
// full postcode). Pure apart from reading the trust's local-areas file.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class Pseudonymiser {
  constructor(private readonly secret: string) {
    if (secret.length < 32) throw new Error('the insights secret must be at least 32 characters');
  }
  /** Keys already computed (a backfill asks for the same few thousand records on every batch); cleared when full. */
  private readonly memo = new Map<string, string>();
  private mac(s: string): string {
    let h = this.memo.get(s);
    if (h === undefined) {
      if (this.memo.size >= 500_000) this.memo.clear();
      h = createHmac('sha256', this.secret).update(s).digest('hex');
      this.memo.set(s, h);
    }
    return h;
  }
  /** The analysts' patient key: HMAC of the NHS number, or of the local record when no NHS number is known. */
  patientKey(site: string, patientId: string, nhsNumber?: string): string {
    return nhsNumber ? this.mac(`nhs:${nhsNumber}`) : this.recordKey(site, patientId);
  }
  recordKey(site: string, patientId: string): string { return this.mac(`local:${site}/${patientId}`); }
  opaque(s: string): string { return this.mac(`id:${s}`); }
}

const GROUPS: [RegExp, string][] = [
  [/^[A-C]$/, 'White'], [/^[D-G]$/, 'Mixed'], [/^[H-L]$/, 'Asian or Asian British'],
  [/^[M-P]$/, 'Black or Black British'], [/^[R-S]$/, 'Other'], [/^Z$/, 'Not stated'],
];

/** NHS Data Dictionary ETHNIC CATEGORY (A-S, Z; a second character is a local sub-code) -> top-level group. */
export function ethnicGroup(category?: string): string {
  const first = category?.trim().toUpperCase().charAt(0) ?? '';
  return GROUPS.find(([re]) => re.test(first))?.[1] ?? 'Unknown';
}

/** A full UK postcode ("LS6 2AB", "ls62ab"): cut to its outward code (district). */
const FULL_POSTCODE = /^([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}$/;
export function safeArea(area?: string): string | undefined {
  if (!area) return undefined;
  const a = area.trim().toUpperCase();
  const m = FULL_POSTCODE.exec(a);
  return m ? m[1] : a;
}

export type AreaLevel = 'area' | 'locality';
export interface LocalArea { areaCode: string; name: string; locality: string; deprivationQuintile?: number }

/** config/local-areas.csv: area_code,name,locality,deprivation_quintile (header required). */
export function parseLocalAreas(text: string, file = 'local-areas.csv'): LocalArea[] {
  const rows = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  const header = rows.shift()?.split(',').map((h) => h.trim());
  const need = ['area_code', 'name', 'locality', 'deprivation_quintile'];
  if (!header || need.some((h) => !header.includes(h))) throw new Error(`${file}: header must have ${need.join(',')}`);
  const ix = (h: string) => header.indexOf(h);
  return rows.map((line, i) => {
    const cells = line.split(',').map((x) => x.trim());
    const q = cells[ix('deprivation_quintile')] ?? '';
    const quintile = q === '' ? undefined : Number(q);
    if (quintile !== undefined && !(Number.isInteger(quintile) && quintile >= 1 && quintile <= 5)) {
      throw new Error(`${file} line ${i + 2}: deprivation_quintile must be 1-5 or empty, got "${q}"`);
    }
    const areaCode = safeArea(cells[ix('area_code')]);
    if (!areaCode) throw new Error(`${file} line ${i + 2}: area_code is empty`);
    return { areaCode, name: cells[ix('name')] ?? '', locality: cells[ix('locality')] || areaCode, deprivationQuintile: quintile };
  });
}

export class LocalAreas {
  private readonly byCode = new Map<string, LocalArea>();
  constructor(areas: LocalArea[], readonly level: AreaLevel) { for (const a of areas) this.byCode.set(a.areaCode, a); }
  static fromFile(path: string | undefined, level: AreaLevel): LocalAreas {
    return new LocalAreas(path ? parseLocalAreas(readFileSync(path, 'utf8'), path) : [], level);
  }
  /** The area at the configured level, and its deprivation quintile when listed. */
  resolve(area?: string): { localArea?: string; deprivationQuintile?: number } {
    const code = safeArea(area);
    if (!code) return {};
    const a = this.byCode.get(code);
    return { localArea: this.level === 'locality' ? a?.locality ?? code : code, deprivationQuintile: a?.deprivationQuintile };
  }
  /** The deprivation quintile of a local area as analysts see it (at the configured level); undefined when unknown or when its areas differ. */
  quintileOf(localArea: string): number | undefined {
    const qs = new Set<number | undefined>();
    for (const a of this.byCode.values()) if ((this.level === 'locality' ? a.locality : a.areaCode) === localArea) qs.add(a.deprivationQuintile);
    return qs.size === 1 ? [...qs][0] : undefined;
  }
}
