// The synthetic trust the simulator runs: one organisation (site code), its hospitals,
// wards (the ward registry a trust edits, contracts `Ward`), teams, catchment areas and
// the out-of-area units it places patients in when no local bed is free. All names are
// invented. Bed counts follow the brief's realistic ranges (adult acute 18-22, PICU
// 10-12, older adult 16-20, rehab 14).
import { wardSchema, type TEAM_TYPES, type Ward, type WardType } from '@pfm/contracts';
import { AREA_PROFILES, type AreaProfile } from './story';

export type TeamType = (typeof TEAM_TYPES)[number];

export interface Team {
  code: string;
  name: string;
  type: TeamType;
  /** Catchment area the team serves; liaison teams serve every area. */
  area?: string;
}

export interface OapUnit {
  /** Ward code as the placing trust records it (not in the local ward registry). */
  code: string;
  name: string;
  wardType: WardType;
}

export interface Hospital {
  code: string;
  name: string;
}

export interface TrustConfig {
  /** Organisation site code (the event envelope's `site`). */
  site: string;
  name: string;
  hospitals: Hospital[];
  wards: Ward[];
  teams: Team[];
  /** Catchment areas (segmentation: GIRFT rec 1c local area). */
  areas: string[];
  /** How the areas differ (population, deprivation, need, ethnic mix, housing delays); without it every area is alike. */
  areaProfiles?: AreaProfile[];
  oapUnits: OapUnit[];
  /** First three digits of synthetic NHS numbers. "999" is never issued to real people. */
  nhsNumberPrefix: string;
  sourceSystems: { pas: string; epr: string };
}

type WardSpec = [code: string, name: string, type: WardType, beds: number];

const HOSPITALS: { hospital: Hospital; wards: WardSpec[] }[] = [
  {
    hospital: { code: 'NGH', name: 'Northgate Hospital' },
    wards: [
      ['NG-ASH', 'Ash Ward', 'adult_acute', 20],
      ['NG-BIRCH', 'Birch Ward', 'adult_acute', 22],
      ['NG-HAZEL', 'Hazel PICU', 'picu', 12],
      ['NG-LARCH', 'Larch Ward', 'older_adult_acute', 18],
    ],
  },
  {
    hospital: { code: 'RVC', name: 'Riverside Centre' },
    wards: [
      ['RV-CEDAR', 'Cedar Ward', 'adult_acute', 18],
      ['RV-DOVE', 'Dove Ward', 'adult_acute', 21],
      ['RV-ELM', 'Elm Ward', 'adult_acute', 20],
      ['RV-MAPLE', 'Maple Ward', 'older_adult_acute', 16],
    ],
  },
  {
    hospital: { code: 'OAK', name: 'Oakfield House' },
    wards: [
      ['OK-ROWAN', 'Rowan Rehabilitation Unit', 'rehab', 14],
      ['OK-WILLOW', 'Willow Rehabilitation Unit', 'rehab', 14],
    ],
  },
];

const AREAS = AREA_PROFILES.map((a) => a.code);

function teamsFor(areas: readonly string[]): Team[] {
  const teams: Team[] = [];
  for (const area of areas) {
    const label = area.charAt(0) + area.slice(1).toLowerCase();
    teams.push({ code: `CRISIS-${area}`, name: `${label} Crisis Resolution Team`, type: 'crisis', area });
    teams.push({ code: `HTT-${area}`, name: `${label} Home Treatment Team`, type: 'home_treatment', area });
    teams.push({ code: `CMHT-${area}`, name: `${label} Community Mental Health Team`, type: 'community', area });
  }
  // A&E liaison teams sit in the general hospitals' emergency departments.
  teams.push({ code: 'LIAISON-GH1', name: 'General Hospital 1 Liaison Psychiatry', type: 'liaison' });
  teams.push({ code: 'LIAISON-GH2', name: 'General Hospital 2 Liaison Psychiatry', type: 'liaison' });
  return teams;
}

const OAP_UNITS: OapUnit[] = [
  { code: 'OAP-IS-A', name: 'Independent sector acute unit A (out of area)', wardType: 'adult_acute' },
  { code: 'OAP-IS-B', name: 'Independent sector acute unit B (out of area)', wardType: 'adult_acute' },
  { code: 'OAP-NHS-C', name: 'Neighbouring NHS trust acute ward (out of area)', wardType: 'adult_acute' },
  { code: 'OAP-IS-P', name: 'Independent sector PICU (out of area)', wardType: 'picu' },
  { code: 'OAP-IS-O', name: 'Independent sector older adult unit (out of area)', wardType: 'older_adult_acute' },
  { code: 'OAP-IS-R', name: 'Independent sector rehabilitation unit (out of area)', wardType: 'rehab' },
];

/** A trust with the default shape for any organisation code (load mode runs several). */
export function makeTrust(site: string, name = `Synthetic Mental Health Trust ${site}`): TrustConfig {
  const wards: Ward[] = [];
  for (const { hospital, wards: specs } of HOSPITALS) {
    for (const [code, wardName, type, beds] of specs) wards.push({ site, code, name: wardName, hospital: hospital.name, type, beds });
  }
  return {
    site,
    name,
    hospitals: HOSPITALS.map((h) => h.hospital),
    wards,
    teams: teamsFor(AREAS),
    areas: [...AREAS],
    areaProfiles: AREA_PROFILES.map((a) => ({ ...a, ethnicMix: { ...a.ethnicMix } })),
    oapUnits: OAP_UNITS.map((u) => ({ ...u })),
    nhsNumberPrefix: '999',
    sourceSystems: { pas: 'SIM-PAS', epr: 'SIM-EPR' },
  };
}

/** The default synthetic trust. */
export const defaultTrust: TrustConfig = makeTrust('RXT', 'Synthetic Mental Health NHS Foundation Trust');

/** The ward registry entries (config/wards.json shape), validated against contracts. */
export function wardsOf(trust: TrustConfig): Ward[] {
  // Out-of-area units are in the registry too, marked external: they hold no local beds,
  // and a patient there is an out-of-area placement whatever the PAS message says.
  const external = trust.oapUnits.map((u): Ward => ({ site: trust.site, code: u.code, name: u.name, type: u.wardType, beds: 0, external: true }));
  return [...trust.wards, ...external].map((w) => wardSchema.parse(w));
}

/** Threshold settings the trust's shape implies: each catchment area's follow-ups go to its crisis team. */
export function settingsOf(trust: TrustConfig): { teamsByArea: Record<string, string> } {
  const teamsByArea: Record<string, string> = {};
  for (const t of trust.teams) if (t.type === 'crisis' && t.area) teamsByArea[t.area] ??= t.code;
  return { teamsByArea };
}

/** Fails fast, listing every problem, when a trust cannot be simulated. */
export function validateTrust(trust: TrustConfig): void {
  const problems: string[] = [];
  const codes = new Set<string>();
  for (const w of trust.wards) {
    const r = wardSchema.safeParse(w);
    if (!r.success) problems.push(`ward ${w.code}: ${r.error.message}`);
    if (w.site !== trust.site) problems.push(`ward ${w.code}: site ${w.site} is not the trust's site ${trust.site}`);
    if (codes.has(w.code)) problems.push(`ward ${w.code}: duplicate code`);
    codes.add(w.code);
  }
  for (const u of trust.oapUnits) if (codes.has(u.code)) problems.push(`out-of-area unit ${u.code} clashes with a local ward code`);
  for (const type of ['crisis', 'liaison'] as const) {
    if (!trust.teams.some((t) => t.type === type)) problems.push(`no ${type} team`);
  }
  for (const area of trust.areas) {
    if (!trust.teams.some((t) => t.type === 'crisis' && t.area === area)) problems.push(`area ${area} has no crisis team`);
  }
  if (trust.areaProfiles) {
    const profiled = trust.areaProfiles.map((a) => a.code).sort().join(',');
    if (profiled !== [...trust.areas].sort().join(',')) problems.push(`area profiles (${profiled}) are not the areas (${trust.areas.join(',')})`);
  }
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(trust.site)) problems.push(`site code ${trust.site} is not 1-16 letters, digits, _ or -`);
  if (!/^\d{3}$/.test(trust.nhsNumberPrefix)) problems.push('nhsNumberPrefix must be three digits');
  if (problems.length > 0) throw new Error(`invalid trust config:\n- ${problems.join('\n- ')}`);
}
