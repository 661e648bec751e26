// The warehouse's tables, each column with its type and meaning: one source for the
// DuckDB DDL, docs/data-dictionary.md and its machine-readable copy
// (docs/data-dictionary.json). Internal tables (names starting "_") hold the consumer's
// position and the patients' folded state; they are never exported.
import { CRFD_GROUP_LABELS, CRFD_V5_CODES, CRFD_V6_CODES } from '@pfm/contracts';
/**
 * The layout of the warehouse file this code reads and writes (kept in its _meta table as
 * "schema_version"). 1: census_patient_days was a view computed on every query. 2: it is a
 * table kept with each batch. 3: alerts has the version of the alert each row is, so a
 * repeat of an older version never replaces a newer row (a file of 2 is brought to 3 when
 * opened: the column is added, empty for the rows it holds). The service refuses a file of
 * another version (its numbers would be wrong or missing); `./pfm insights rebuild --yes`
 * folds the log into a new file.
 */
export const SCHEMA_VERSION = 3;

export type ColumnType = 'VARCHAR' | 'TIMESTAMP' | 'DATE' | 'DOUBLE' | 'INTEGER' | 'BOOLEAN';

export interface Column { name: string; type: ColumnType; description: string; /** Kept in the warehouse, never exported (it can identify staff). */ notExported?: boolean }
export interface Table { name: string; grain: string; description: string; columns: Column[]; key: string[]; view?: boolean }

const c = (name: string, type: ColumnType, description: string): Column => ({ name, type, description });

const patientKey = c('patient_key', 'VARCHAR', 'Pseudonymous patient key: HMAC-SHA256 of the NHS number keyed with the trust secret (PFM_INSIGHTS_SECRET), hex. When the events carry no NHS number, the HMAC of "local:" + site + "/" + local patient id. Not reversible without the secret; the same patient has the same key in every table.');
const recordKey = c('record_key', 'VARCHAR', 'Pseudonymous key of the local patient record the row was folded from (HMAC of site + local patient id); the warehouse rewrites a record\'s rows by it. Differs from patient_key only when the NHS number is known.');
const site = c('site', 'VARCHAR', 'Organisation (site) code the events came from.');
const spellId = c('spell_id', 'VARCHAR', 'Hospital provider spell id as the PAS sends it (PV1-19). Not a direct identifier of the patient.');

export const TABLES: Table[] = [
  {
    name: 'spells', grain: 'one row per hospital provider spell', key: ['site', 'spell_id'],
    description: 'Hospital provider spells (MHSDS MHS501), folded from the flow events with the same rules as the live board: cancels removed, duplicates once, late events in event-time order.',
    columns: [
      patientKey, recordKey, site, spellId,
      c('admitted_at', 'TIMESTAMP', 'Start of the spell (UTC): event time of patient.admitted.'),
      c('discharged_at', 'TIMESTAMP', 'End of the spell (UTC); null while the spell is open.'),
      c('los_days', 'INTEGER', 'Length of stay in days from the start of the spell (transfers do not reset it), by the configured convention (thresholds losConvention: elapsed whole days, or MHSDS-style inclusive +1); null while open.'),
      c('admission_source', 'VARCHAR', 'Admission source code as sent (PV1-14 / MHSDS SourceAdmCodeHospProvSpell).'),
      c('admission_method', 'VARCHAR', 'Admission method code as sent (PV1-4 / MHSDS AdmMethCodeHospProvSpell).'),
      c('legal_status_at_admission', 'VARCHAR', 'Mental Health Act legal status classification code on the admission event (MHSDS; 01 = informal).'),
      c('detained_at_any_point', 'BOOLEAN', 'True when any legal status recorded during the spell (admission or later patient.updated) is a detention, i.e. a code other than 01 informal, 98 not applicable, 99 not known. The contracts carry no Mental Health Act period table (MHS401), so start and end of detention are not available.'),
      c('first_ward', 'VARCHAR', 'Ward code of the first ward stay.'),
      c('first_ward_type', 'VARCHAR', 'Ward type of the first ward (ward registry; "unknown" when not registered).'),
      c('last_ward', 'VARCHAR', 'Ward code of the latest ward stay.'),
      c('last_ward_type', 'VARCHAR', 'Ward type of the latest ward.'),
      c('discharge_method', 'VARCHAR', 'Discharge method code as sent (PV1-36 / MHSDS).'),
      c('discharge_destination', 'VARCHAR', 'Discharge destination code as sent (PV1-37 / MHSDS).'),
      c('age_band', 'VARCHAR', 'Age band as sent on the admission (e.g. 18-24, 85+). No date of birth is held.'),
      c('sex', 'VARCHAR', 'Administrative sex / gender code as sent (PID-8: M, F, O, U). The contracts carry one field; sex and gender identity are not distinguished.'),
      c('ethnic_category', 'VARCHAR', 'NHS Data Dictionary ETHNIC CATEGORY code (A-S, Z) as sent.'),
      c('ethnic_group', 'VARCHAR', 'NHS top-level ethnic group from the category: White (A-C), Mixed (D-G), Asian or Asian British (H-L), Black or Black British (M-P), Other (R-S), Not stated (Z); "Unknown" when absent or unrecognised.'),
      c('local_area', 'VARCHAR', 'Local area at the level the trust configures (PFM_INSIGHTS_AREA_LEVEL: "area" as sent, or "locality" from config/local-areas.csv). A value shaped like a full postcode is cut to its district (outward code); a full postcode is never stored.'),
      c('deprivation_quintile', 'INTEGER', 'Deprivation quintile (1 = most deprived) of the local area from config/local-areas.csv; null when the area is not listed.'),
      c('out_of_area', 'BOOLEAN', 'True when any ward stay of the spell was an out-of-area placement.'),
      c('oap_reason', 'VARCHAR', 'Reason given for the (first) out-of-area placement, as sent.'),
      c('distance_from_home_km', 'DOUBLE', 'Distance from home on the admission, when sent (MHSDS MHS502 distance from home).'),
      c('oap_bed_days', 'DOUBLE', 'Days spent in out-of-area ward stays (exact, fractional), up to discharge; null while the spell is open.'),
      c('crfd_days', 'DOUBLE', 'Days in clinically-ready-for-discharge periods (exact, fractional), up to discharge; null while the spell is open.'),
      c('readmitted_30d', 'BOOLEAN', 'True when the same local patient record has another spell admitted within 30 days after this discharge. Provisional until 30 days after the discharge have passed in the log; readmissions under a different local record (another site) are not linked. Null while open.'),
      c('followup_eligible', 'BOOLEAN', 'Discharge counts for the 72-hour follow-up measure, by the live board\'s own rule (flow-domain followUpOutcome): last ward type in the configured follow-up ward types, destination and discharge method not exempt (death, custody, another inpatient unit), patient not resident outside England (followUpExemptAreas); null while open.'),
      c('followed_up_72h', 'BOOLEAN', 'Followed up within the configured follow-up hours (72) of discharge, by the same rule as the board: a follow-up contact (followup.made) or a readmission (a new spell; NHS England\'s MHS79 counts the start of a new hospital spell as follow-up); null while open.'),
    ],
  },
  {
    name: 'ward_stays', grain: 'one row per ward stay within a spell', key: ['site', 'spell_id', 'stay_seq'],
    description: 'Ward stays (MHSDS MHS502): the admission ward, then one per transfer.',
    columns: [
      patientKey, recordKey, site, spellId,
      c('stay_seq', 'INTEGER', 'Order of the stay within the spell, from 1.'),
      c('ward', 'VARCHAR', 'Ward code as sent (PV1-3).'),
      c('ward_type', 'VARCHAR', 'Ward type from the ward registry ("unknown" when not registered).'),
      c('started_at', 'TIMESTAMP', 'Start of the stay (UTC).'),
      c('ended_at', 'TIMESTAMP', 'End of the stay (next transfer or discharge); null while current.'),
      c('out_of_area', 'BOOLEAN', 'The stay was an out-of-area placement.'),
      c('oap_reason', 'VARCHAR', 'Reason for the out-of-area placement, as sent.'),
      c('days', 'DOUBLE', 'Length of the stay in days (exact, fractional); null while current.'),
    ],
  },
  {
    name: 'leave_periods', grain: 'one row per leave of absence', key: ['site', 'spell_id', 'leave_seq'],
    description: 'Leave of absence (s17 or home leave; MHSDS MHS509): the bed stays assigned. AWOL has no event in the contracts and is not recorded.',
    columns: [
      patientKey, recordKey, site, spellId,
      c('leave_seq', 'INTEGER', 'Order of the leave within the spell, from 1.'),
      c('ward', 'VARCHAR', 'Ward the patient was on when the leave started.'),
      c('leave_type', 'VARCHAR', 'Leave type as sent.'),
      c('started_at', 'TIMESTAMP', 'Start of the leave (UTC).'),
      c('expected_return_at', 'TIMESTAMP', 'Expected return, when sent.'),
      c('ended_at', 'TIMESTAMP', 'Return, or discharge while on leave; null while on leave.'),
      c('end_reason', 'VARCHAR', '"returned", "discharged" or null while on leave.'),
      c('days', 'DOUBLE', 'Length of the leave in days (exact); null while on leave.'),
    ],
  },
  {
    name: 'crfd_periods', grain: 'one row per clinically-ready-for-discharge period and reason', key: ['site', 'spell_id', 'period_seq', 'reason_seq'],
    description: 'Clinically ready for discharge (delayed discharge) periods (MHSDS v6 MHS518). A reason change inside a period starts a new row with the same period_seq, so days by reason add up.',
    columns: [
      patientKey, recordKey, site, spellId,
      c('period_seq', 'INTEGER', 'Order of the CRFD period within the spell, from 1.'),
      c('reason_seq', 'INTEGER', 'Order of the reason within the period, from 1.'),
      c('reason_code', 'VARCHAR', 'MHSDS delay reason code as sent: v6 01-37 or 98, or a v5 code from history (A2 ... T2); wording and groups in "CRFD delay reason codes" below.'),
      c('ward', 'VARCHAR', 'Ward the patient was on when this reason started.'),
      c('started_at', 'TIMESTAMP', 'Start of this reason (UTC).'),
      c('ended_at', 'TIMESTAMP', 'End: reason changed, period ended (crfd.ended) or discharge; null while open.'),
      c('end_reason', 'VARCHAR', '"reason_changed", "ended" (no longer ready or delay over), "discharged", or null while open. The contracts do not say why a period ended (deterioration or otherwise).'),
      c('days', 'DOUBLE', 'Length in days (exact); null while open.'),
    ],
  },
  {
    name: 'referrals', grain: 'one row per referral', key: ['site', 'referral_id'],
    description: 'Referrals to crisis, liaison, home treatment and community teams (MHSDS MHS101).',
    columns: [
      patientKey, recordKey, site,
      c('referral_id', 'VARCHAR', 'Referral id as sent.'),
      c('received_at', 'TIMESTAMP', 'When the referral was received (UTC).'),
      c('team', 'VARCHAR', 'Team code.'),
      c('team_type', 'VARCHAR', 'crisis, liaison, home_treatment, community or other.'),
      c('urgency', 'VARCHAR', 'emergency, very_urgent, urgent or routine.'),
      c('referral_source', 'VARCHAR', 'Source of referral as sent (e.g. gp, self, police).'),
      c('local_area', 'VARCHAR', 'Local area (configured level) from the referral, else the patient\'s.'),
      c('status', 'VARCHAR', 'waiting, assessed, accepted or closed.'),
      c('first_response_at', 'TIMESTAMP', 'First assessed / accepted / closed event. The contracts have no separate "first contact" event: the first response stands for it (the same rule stops the live response alert).'),
      c('response_hours', 'DOUBLE', 'Hours from receipt to first response; null until a response.'),
      c('within_4h', 'BOOLEAN', 'First response within 4 hours; false until a response is recorded.'),
      c('within_24h', 'BOOLEAN', 'First response within 24 hours; false until a response is recorded.'),
    ],
  },
  {
    name: 'alerts', grain: 'one row per alert (latest version)', key: ['alert_id'],
    description: 'Alerts the engine raised (pfm.alerts.v1), latest version of each: raised, acknowledged, resolved.',
    columns: [
      c('alert_id', 'VARCHAR', 'Alert id (rule, site, patient record and threshold), pseudonymised: HMAC of the engine\'s id.'),
      c('rule', 'VARCHAR', 'stranded, super_stranded, long_stay, edd_passed, referral_response, followup_missed, ...'),
      c('severity', 'VARCHAR', 'info, warning or critical.'),
      c('threshold_value', 'DOUBLE', 'Threshold the alert crossed.'),
      c('threshold_unit', 'VARCHAR', 'days, hours or percent.'),
      site,
      c('ward', 'VARCHAR', 'Ward, for patient alerts on a ward.'),
      c('team', 'VARCHAR', 'Team, for referral alerts.'),
      c('patient_key', 'VARCHAR', 'Pseudonymous patient key (as in spells); null for alerts not about a patient.'),
      c('spell_id', 'VARCHAR', 'Spell, when the alert is about one.'),
      c('referral_id', 'VARCHAR', 'Referral, when the alert is about one.'),
      c('became_true_at', 'TIMESTAMP', 'When the condition became true.'),
      c('raised_at', 'TIMESTAMP', 'When the engine raised it.'),
      c('acknowledged_at', 'TIMESTAMP', 'When acknowledged; null when not.'),
      c('resolved_at', 'TIMESTAMP', 'When the condition stopped holding; null while active.'),
      c('version', 'INTEGER', 'Version of the alert this row is (1 when raised, +1 per change: moved, escalated, acknowledged, owned, resolved). The alerts topic is delivered at least once and an older version can come after a newer one: it never replaces a newer row. Null for rows a warehouse of schema 2 held before it was brought to 3.'),
    ],
  },
  {
    name: 'wards', grain: 'one row per ward', key: ['site', 'ward'],
    description: 'The ward registry (config/wards.json) plus any ward seen in events but not registered (type "unknown", 0 beds).',
    columns: [
      site, c('ward', 'VARCHAR', 'Ward code.'), c('name', 'VARCHAR', 'Ward name.'), c('ward_type', 'VARCHAR', 'Ward type.'),
      c('beds', 'INTEGER', 'Bed count in the registry.'), c('long_stay_days', 'INTEGER', 'Long-stay threshold for the ward type (thresholds).'),
    ],
  },
  {
    name: 'improvement_notes', grain: 'one row per recorded change (improvement note)', key: ['site', 'note_id'],
    description: 'Changes made to improve care (the improvement loop): the improvement.noted events of the flow log, written by the insights API (POST /api/v1/insights/improvements). They replay with the log, so a rebuilt warehouse has them too.',
    columns: [
      c('note_id', 'VARCHAR', 'Id of the note (chosen by the API, or the client when it sends one).'), site,
      c('ward', 'VARCHAR', 'Ward the change was made on; null for a site-wide change.'),
      c('team', 'VARCHAR', 'Team the change was made in; null when not a team change.'),
      c('title', 'VARCHAR', 'What was changed, in the author\'s words (free text; no patient details belong here).'),
      c('effective_date', 'DATE', 'The day the change took effect; outcomes compare the weeks from this day with the weeks before it.'),
      c('measures', 'VARCHAR', 'Ids of the catalogue measures the change aims to move, comma-separated (config/measures.json).'),
      c('expected_direction', 'VARCHAR', '"up" or "down": the way the measures should move if the change works.'),
      { ...c('author', 'VARCHAR', 'Subject of the token that recorded the note. Shown to readers of the API; not exported (it can identify staff).'), notExported: true },
      c('recorded_at', 'TIMESTAMP', 'When the note was recorded (UTC).'),
    ],
  },
  {
    name: 'census_patient_days', grain: 'one row per spell on a ward at the midnight ending each complete day (a bed day)', key: ['site', 'spell_id', 'census_date'],
    description: 'The bed days behind daily_ward_census, one per spell and day, with the spell\'s flags at the census instant; join to spells on (site, spell_id) to segment bed-day measures by population group. Derived from ward_stays, leave_periods, crfd_periods and spells for every complete day up to the latest event time in the warehouse, and stored: kept in the same transaction as the rows it comes from (the spells a batch touches are recomputed; open stays gain each day as it completes), so it always equals that derivation.',
    columns: [
      c('census_date', 'DATE', 'The day; the census is taken at the midnight that ends it (UTC).'), site, c('ward', 'VARCHAR', 'Ward the spell was on.'),
      c('ward_type', 'VARCHAR', 'Ward type.'), spellId,
      c('los_days', 'INTEGER', 'Length of stay at the census, from the start of the spell, by the configured convention.'),
      c('on_leave', 'BOOLEAN', 'On leave at the census (bed kept).'),
      c('crfd_reason', 'VARCHAR', 'MHSDS delay reason code when clinically ready for discharge at the census, else null (see "CRFD delay reason codes").'),
      c('oap', 'BOOLEAN', 'In an out-of-area stay at the census.'),
      c('stranded', 'BOOLEAN', 'LOS >= strandedDays (7).'), c('super_stranded', 'BOOLEAN', 'LOS >= superStrandedDays (21).'),
      c('long_stay', 'BOOLEAN', 'LOS >= the ward type\'s long-stay threshold.'),
    ],
  },
  {
    name: 'daily_ward_census', grain: 'one row per ward per complete day', key: ['site', 'ward', 'census_date'], view: true,
    description: 'A census of each ward at the midnight that ends each day (UTC), for every complete day up to the latest event time in the warehouse: census_patient_days counted by ward, with every registered ward on every day (a view, so it never drifts from it).',
    columns: [
      site, c('ward', 'VARCHAR', 'Ward code.'), c('ward_type', 'VARCHAR', 'Ward type.'),
      c('census_date', 'DATE', 'The day; the census is taken at the midnight that ends it.'),
      c('beds', 'INTEGER', 'Beds in the registry.'),
      c('occupied_incl_leave', 'INTEGER', 'Spells on the ward at the census, including patients on leave (bed kept).'),
      c('occupied_excl_leave', 'INTEGER', 'Spells on the ward and physically present (not on leave).'),
      c('stranded', 'INTEGER', 'Of the occupied: LOS at the census >= strandedDays (7).'),
      c('super_stranded', 'INTEGER', 'Of the occupied: LOS >= superStrandedDays (21).'),
      c('long_stay', 'INTEGER', 'Of the occupied: LOS >= the ward type\'s long-stay threshold (60 adult acute, 90 older adult acute).'),
      c('crfd', 'INTEGER', 'Of the occupied: in a clinically-ready-for-discharge period.'),
      c('oap', 'INTEGER', 'Of the occupied: in an out-of-area stay.'),
    ],
  },
];

/** What the brief asks for that the flow events cannot supply (listed in the dictionary). */
export const CONTRACT_GAPS = [
  'Mental Health Act periods (section, start, end; MHSDS MHS401): only a legal status code on admission and on patient.updated, so `detained_at_any_point` is derived from those codes.',
  'A first-contact event for referrals: `first_response_at` is the first assessed / accepted / closed event.',
  'Who acknowledged an alert, by role: the alert carries the acknowledger\'s token subject, not a role; the subject is not exported (it can identify staff), so `alerts` has `acknowledged_at` only.',
  'Sex and gender identity separately: one `gender` field (PID-8 administrative sex).',
  'Deprivation from the patient\'s LSOA (IMD decile): no LSOA travels; deprivation is the quintile of the local area from `config/local-areas.csv`.',
  'Learning disability and autism status, and AWOL periods (no ADT event).',
  'The reason a CRFD period ended (deterioration or delay resolved).',
];

export const tableNamed = (name: string): Table => {
  const t = TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
};

/** CREATE statements for the stored (non-view) tables and the internal ones. */
export function ddl(): string[] {
  const out = TABLES.filter((t) => !t.view).map((t) => `CREATE TABLE IF NOT EXISTS ${t.name} (${t.columns.map((col) => `${col.name} ${col.type}`).join(', ')})`);
  out.push('CREATE TABLE IF NOT EXISTS _offsets (topic VARCHAR, part INTEGER, next_offset BIGINT, PRIMARY KEY (topic, part))');
  out.push('CREATE TABLE IF NOT EXISTS _patients (record_key VARCHAR PRIMARY KEY, state VARCHAR)');
  out.push('CREATE TABLE IF NOT EXISTS _meta (k VARCHAR PRIMARY KEY, v BIGINT)');
  return out;
}

/** The data dictionary as Markdown (docs/data-dictionary.md is generated from this). */
export function dictionaryMarkdown(): string {
  const lines = [
    '<!-- Generated from services/insights/src/schema.ts by `./pfm insights dictionary`. Do not edit. -->',
    '# Insights warehouse: data dictionary',
    '',
    'The tables the insights service folds from the flow-event log into its DuckDB warehouse, and',
    'the files `./pfm insights export` writes. Times are UTC. No direct identifiers: the patient',
    'key is a keyed hash (HMAC-SHA256 with the trust secret) of the NHS number; no names, no dates',
    'of birth (age band only), local area at the configured level, never a full postcode.',
    'A machine-readable copy is `docs/data-dictionary.json`.',
    '',
    `Warehouse schema version ${SCHEMA_VERSION} (kept in the file; the service refuses a file of another version: rebuild it with \`./pfm insights rebuild --yes\`).`,
    '',
  ];
  for (const t of TABLES) {
    lines.push(`## \`${t.name}\`${t.view ? ' (computed)' : ''}`, '', `${t.description}`, '', `Grain: ${t.grain}. Key: ${t.key.map((k) => `\`${k}\``).join(', ')}.`, '');
    lines.push('| column | type | meaning |', '| --- | --- | --- |');
    for (const col of t.columns) lines.push(`| \`${col.name}\` | ${col.type} | ${col.description.replace(/\|/g, '\\|')} |`);
    lines.push('');
  }
  lines.push(...crfdCodesMarkdown());
  lines.push('## Fields the event contracts do not carry', '', 'Asked for by the analysts\' brief but absent from `packages/contracts`; the warehouse leaves them out rather than invent them:', '');
  for (const g of CONTRACT_GAPS) lines.push(`- ${g}`);
  lines.push('');
  return `${lines.join('\n')}`;
}

/** The CRFD delay reason code lists with their wording and groups (from @pfm/contracts, which names the sources). */
function crfdCodesMarkdown(): string[] {
  const out = [
    '## CRFD delay reason codes', '',
    'What `crfd_periods.reason_code` and `census_patient_days.crfd_reason` hold, and the groups the measure `crfd_bed_days` is cut by (`by=crfd_reason_group`).',
    'The authority is the NHS Data Model and Dictionary attribute "Clinically Ready for Discharge Delay Reason". MHSDS v6 (from April 2024, table MHS518 `ClinReadyforDischDelayReason`): wording and reason groups as NHS England\'s published MHSDS analytical SQL for the acute inpatient dashboard has them (github.com/nhsengland/MHSDS, "Mental Health Inpatient Dashboard/Acute Inpatient Dashboard 2025.sql", `Der_CRFD_Reason`, `Der_CRFD_ReasonGroup`).',
    'MHSDS v5 (to March 2024) delayed discharge reasons from history: wording from NHS England\'s (formerly NHS Digital\'s) published MHSDS monthly statistics code (github.com/NHSDigital/mental-health-monthly-statistics, "Mental_Health_Monthly_Statistics/menh_analysis/notebooks/01_Prepare/0.5_VersionChanges.py", table `delayeddischdim`). v5 codes are kept as sent, never mapped to a v6 code; the sources give them no group (`MHSDS v5 (no group)`). v5 also had 98 "No reason given", the same code as v6 98.',
    '', '| code | MHSDS | reason | group |', '| --- | --- | --- | --- |',
  ];
  for (const c of [...CRFD_V6_CODES, ...CRFD_V5_CODES]) out.push(`| \`${c.code}\` | v${c.version} | ${c.label} | ${c.group ? CRFD_GROUP_LABELS[c.group] : '-'} |`);
  out.push('');
  return out;
}

export function dictionaryJson(): string {
  return `${JSON.stringify({ version: 1, warehouseSchemaVersion: SCHEMA_VERSION, tables: TABLES.map((t) => ({ name: t.name, grain: t.grain, key: t.key, computed: !!t.view, description: t.description, columns: t.columns })), missingFromContracts: CONTRACT_GAPS, crfdReasonCodes: [...CRFD_V6_CODES, ...CRFD_V5_CODES].map((c) => ({ code: c.code, mhsdsVersion: c.version, reason: c.label, group: c.group ? CRFD_GROUP_LABELS[c.group] : null })) }, null, 2)}\n`;
}
