// FHIR R4 -> canonical flow events. Pure: no I/O; "now" comes from the caller.
//
// Only the parts we map are validated (zod), and every problem is reported as a FHIR
// OperationOutcome issue whose `expression` is the FHIRPath of the offending element,
// e.g. "Encounter.location[1].period.start" or "Bundle.entry[2].resource.status".
//
// An Encounter is a snapshot of a whole hospital spell, and senders re-send it as it
// changes. So each fact in it (admitted, moved to ward X at t, went on leave at t,
// discharged) becomes its own event with an id derived from the spell and the fact, not
// from the snapshot: re-sending the same Encounter, or a later version of it, yields the
// same ids for facts already sent, and the engine applies each fact once.
// The mapping table is in services/ingest/README.md.
import { z } from 'zod';
import { aheadOfClock, flowEventInputSchema, normaliseNhsNumber, TEAM_TYPES, type FlowEventInput } from '@pfm/contracts';
import { digest } from './normalise';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_CODE_SYSTEMS = ['https://fhir.nhs.uk/Id/ods-organization-code', 'https://fhir.nhs.uk/Id/ods-site-code'];
const PHYSICAL_TYPE_BED = 'bd';
const PHYSICAL_TYPE_WARD = 'wa';

export interface FhirContext {
  defaultSite: string;
  siteForFacility?: (facility: string) => string | undefined;
  sourceSystem: string;
  /** Used as the time of facts a resource does not date (planned, cancelled) when meta.lastUpdated is absent. */
  now: number;
  /** Event times further ahead of `now` are refused at their element (aheadOfClock); unset or 0: no limit. */
  maxAheadMs?: number;
  /** Patients from the same Bundle, by fullUrl and by "Patient/<id>". */
  patients?: ReadonlyMap<string, PatientIds>;
}

export interface PatientIds {
  patientId?: string;
  nhsNumber?: string;
}

/** OperationOutcome.issue.code values we use (FHIR IssueType). */
export type FhirIssueCode = 'required' | 'value' | 'invalid' | 'structure' | 'not-supported' | 'code-invalid' | 'too-costly' | 'transient' | 'informational' | 'exception' | 'login' | 'forbidden';

export interface FhirIssue {
  expression: string;
  code: FhirIssueCode;
  message: string;
  severity?: 'error' | 'warning' | 'information';
}

export type FhirMapResult =
  | { ok: true; resourceType: 'Encounter' | 'ServiceRequest'; events: FlowEventInput[]; warnings: FhirIssue[] }
  | { ok: false; issues: FhirIssue[] };

// ---- data types (just what we read) ----

/** FHIR dateTime (any precision); the event times we need are checked by `instantAt`. */
const FHIR_DATETIME = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;
const WITH_TIME = /T\d{2}:\d{2}/;
const str = (max = 1000) => z.string().max(max);
const dateTime = str(64).regex(FHIR_DATETIME, 'not a FHIR dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)');
const identifier = z.object({ use: str(32).optional(), system: str().optional(), value: str().optional() });
const reference = z.object({ reference: str().optional(), type: str(64).optional(), identifier: identifier.optional(), display: str().optional() });
const coding = z.object({ system: str().optional(), code: str(64).optional(), display: str().optional() });
const codeableConcept = z.object({ coding: z.array(coding).max(20).optional(), text: str().optional() });
const period = z.object({ start: dateTime.optional(), end: dateTime.optional() });
const meta = z.object({ lastUpdated: dateTime.optional() });

export const ENCOUNTER_STATUSES = ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'] as const;

export const encounterSchema = z.object({
  resourceType: z.literal('Encounter'),
  id: str(64).optional(),
  meta: meta.optional(),
  identifier: z.array(identifier).max(50).optional(),
  status: z.enum(ENCOUNTER_STATUSES),
  statusHistory: z.array(z.object({ status: z.enum(ENCOUNTER_STATUSES), period })).max(500).optional(),
  subject: reference,
  period: period.optional(),
  hospitalization: z.object({ admitSource: codeableConcept.optional(), dischargeDisposition: codeableConcept.optional() }).optional(),
  location: z.array(z.object({
    location: reference,
    status: z.enum(['planned', 'active', 'reserved', 'completed']).optional(),
    physicalType: codeableConcept.optional(),
    period: period.optional(),
  })).max(500).optional(),
  serviceProvider: reference.optional(),
});
export type FhirEncounter = z.infer<typeof encounterSchema>;

export const SERVICE_REQUEST_STATUSES = ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'] as const;

export const serviceRequestSchema = z.object({
  resourceType: z.literal('ServiceRequest'),
  id: str(64).optional(),
  meta: meta.optional(),
  identifier: z.array(identifier).max(50).optional(),
  status: z.enum(SERVICE_REQUEST_STATUSES),
  priority: z.enum(['routine', 'urgent', 'asap', 'stat']).optional(),
  subject: reference,
  authoredOn: dateTime.optional(),
  performerType: codeableConcept.optional(),
  performer: z.array(reference).max(50).optional(),
});
export type FhirServiceRequest = z.infer<typeof serviceRequestSchema>;

const patientSchema = z.object({ resourceType: z.literal('Patient'), id: str(64).optional(), identifier: z.array(identifier).max(50).optional() });

export const BUNDLE_TYPES = ['batch', 'transaction', 'collection'] as const;
const bundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.enum(BUNDLE_TYPES),
  entry: z.array(z.object({ fullUrl: str().optional(), resource: z.unknown() })).optional(),
});

/** FHIR ServiceRequest.priority -> canonical urgency. */
export const PRIORITY_TO_URGENCY = { stat: 'emergency', asap: 'very_urgent', urgent: 'urgent', routine: 'routine' } as const;

// ---- helpers ----

/** FHIRPath of a zod issue path under `base`, e.g. ["location", 1, "period"] -> base.location[1].period. */
export function fhirPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function zodIssues(base: string, error: z.ZodError): FhirIssue[] {
  return error.issues.slice(0, 50).map((i) => ({
    expression: fhirPath(base, i.path),
    code: i.code === 'invalid_type' && i.message.includes('undefined') ? 'required' : i.code === 'invalid_value' ? 'code-invalid' : i.code === 'too_big' ? 'too-costly' : 'value',
    message: i.message,
  }));
}

/** Epoch ms of a FHIR dateTime that has a time and a zone (what an event time needs). */
function instantAt(value: string | undefined): number | undefined {
  if (!value || !WITH_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The last path segment of a relative or absolute reference to `type`, e.g. "Location/OAK" -> "OAK". */
function referencedId(ref: string | undefined, type?: string): string | undefined {
  if (!ref) return undefined;
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  if (!m) return undefined;
  return !type || m[1] === type ? m[2] : undefined;
}

/** A business identifier: the official one if marked, else the first with a value, else the resource id. */
function businessId(ids: readonly z.infer<typeof identifier>[] | undefined, id: string | undefined): { value: string; from: string } | undefined {
  const list = ids ?? [];
  const official = list.findIndex((i) => i.use === 'official' && i.value?.trim());
  const first = list.findIndex((i) => i.value?.trim());
  const at = official >= 0 ? official : first;
  if (at >= 0) return { value: list[at]!.value!.trim(), from: `identifier[${at}].value` };
  if (id?.trim()) return { value: id.trim(), from: 'id' };
  return undefined;
}

const firstCode = (cc: z.infer<typeof codeableConcept> | undefined): string | undefined => cc?.coding?.find((c) => c.code?.trim())?.code?.trim();

function idsOfPatient(ids: readonly z.infer<typeof identifier>[] | undefined): PatientIds {
  const out: PatientIds = {};
  for (const i of ids ?? []) {
    const v = i.value?.trim();
    if (!v) continue;
    if (i.system === NHS_NUMBER_SYSTEM) out.nhsNumber ??= v;
    else out.patientId ??= v;
  }
  return out;
}

interface Who { patientId: string; nhsNumber?: string }

/**
 * The patient: local id from subject.reference (Patient/<id>, or a Patient in the same
 * Bundle) or a non-NHS subject.identifier; NHS number from an identifier with the NHS
 * number system. With only an NHS number, it is also the patient key.
 */
function whoOf(base: string, subject: z.infer<typeof reference>, ctx: FhirContext, issues: FhirIssue[]): Who | undefined {
  const fromIdentifier = idsOfPatient(subject.identifier ? [subject.identifier] : []);
  const fromBundle = subject.reference ? ctx.patients?.get(subject.reference) : undefined;
  const local = fromIdentifier.patientId ?? fromBundle?.patientId ?? referencedId(subject.reference, 'Patient');
  const nhsRaw = fromIdentifier.nhsNumber ?? fromBundle?.nhsNumber;
  let nhsNumber: string | undefined;
  if (nhsRaw !== undefined) {
    nhsNumber = normaliseNhsNumber(nhsRaw) ?? undefined;
    if (!nhsNumber) {
      const where = fromIdentifier.nhsNumber ? `${base}.subject.identifier.value` : `${base}.subject.reference`;
      issues.push({ expression: where, code: 'value', message: 'NHS number fails the Modulus 11 check (10 digits, 3-3-4)' });
      return undefined;
    }
  }
  const patientId = local ?? nhsNumber;
  if (!patientId) {
    issues.push({ expression: `${base}.subject`, code: 'required', message: 'subject needs a Patient reference ("Patient/<id>") or an identifier (local, or NHS number with system https://fhir.nhs.uk/Id/nhs-number)' });
    return undefined;
  }
  return { patientId, ...(nhsNumber ? { nhsNumber } : {}) };
}

function siteOf(ref: z.infer<typeof reference> | undefined, ctx: FhirContext, expression: string, warnings: FhirIssue[]): string {
  const code = ref?.identifier?.value?.trim();
  if (!code) return ctx.defaultSite;
  const site = ctx.siteForFacility?.(code);
  if (site) return site;
  warnings.push({ expression, code: 'code-invalid', severity: 'warning', message: `facility "${code.slice(0, 32)}" is not mapped to a site; using ${ctx.defaultSite}` });
  return ctx.defaultSite;
}

interface Draft { event: Record<string, unknown>; sources: Record<string, string> }

/** Validates drafts against the canonical contract; a field that does not fit is reported at its FHIR element. */
function finish(drafts: Draft[], base: string, issues: FhirIssue[], ctx: FhirContext): FlowEventInput[] {
  const events: FlowEventInput[] = [];
  for (const d of drafts) {
    const r = flowEventInputSchema.safeParse(d.event);
    if (r.success) {
      const ahead = aheadOfClock(r.data.occurredAt, ctx.now, ctx.maxAheadMs ?? 0);
      if (ahead) issues.push({ expression: d.sources.occurredAt ?? base, code: 'value', message: ahead });
      else events.push(r.data);
      continue;
    }
    for (const i of r.error.issues) {
      const key = i.path.map(String).join('.');
      const expression = d.sources[key] ?? d.sources[String(i.path[i.path.length - 1] ?? '')] ?? base;
      issues.push({ expression, code: 'value', message: `${key || 'event'}: ${i.message}` });
    }
  }
  return events;
}

// ---- Encounter ----

interface Stay { index: number; code: string; start?: number; bed?: string }

export function mapEncounter(input: unknown, ctx: FhirContext, base = 'Encounter'): FhirMapResult {
  const parsed = encounterSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(base, parsed.error) };
  const enc = parsed.data;
  const issues: FhirIssue[] = [];
  const warnings: FhirIssue[] = [];
  const who = whoOf(base, enc.subject, ctx, issues);
  const spell = businessId(enc.identifier, enc.id);
  if (!spell) issues.push({ expression: `${base}.identifier`, code: 'required', message: 'the spell id is required: Encounter.identifier (or Encounter.id)' });
  const site = siteOf(enc.serviceProvider, ctx, `${base}.serviceProvider.identifier.value`, warnings);
  if (enc.status === 'unknown') issues.push({ expression: `${base}.status`, code: 'not-supported', message: 'status "unknown" says nothing we can map; send the actual status' });
  if (issues.length || !who || !spell) return { ok: false, issues };

  const spellId = spell.value;
  const idBase = `fhir-enc-${digest(site, spellId)}`;
  const envelope = { site, patientId: who.patientId, ...(who.nhsNumber ? { nhsNumber: who.nhsNumber } : {}), sourceSystem: ctx.sourceSystem.slice(0, 64), channel: 'fhir' as const };
  const common = { patientId: `${base}.subject`, nhsNumber: `${base}.subject.identifier.value`, site: `${base}.serviceProvider`, 'payload.spellId': `${base}.${spell.from}`, spellId: `${base}.${spell.from}` };
  const drafts: Draft[] = [];
  const add = (suffix: string, type: string, occurredAt: number, payload: Record<string, unknown>, sources: Record<string, string>) => {
    drafts.push({ event: { eventId: `${idBase}-${suffix}`, type, occurredAt, ...envelope, payload }, sources: { ...common, ...sources } });
  };
  const undated = instantAt(enc.meta?.lastUpdated) ?? ctx.now;

  // Ward stays: location[] entries that are wards (physicalType wa, or none); beds (bd) attach to their ward.
  const locs = enc.location ?? [];
  const kindOf = (i: number): 'ward' | 'bed' | 'other' => {
    const c = firstCode(locs[i]!.physicalType);
    return c === undefined || c === PHYSICAL_TYPE_WARD ? 'ward' : c === PHYSICAL_TYPE_BED ? 'bed' : 'other';
  };
  const codeAt = (i: number): string | undefined => locs[i]!.location.identifier?.value?.trim() || referencedId(locs[i]!.location.reference, 'Location');
  const stays: Stay[] = [];
  const beds: Stay[] = [];
  locs.forEach((l, i) => {
    if (l.status === 'planned') return;
    const kind = kindOf(i);
    if (kind === 'other') return;
    const code = codeAt(i);
    if (!code) {
      issues.push({ expression: `${base}.location[${i}].location`, code: 'required', message: 'a location needs identifier.value or a reference "Location/<code>" (the ward code as in the ward registry)' });
      return;
    }
    const start = instantAt(l.period?.start);
    if (l.period?.start && start === undefined) issues.push({ expression: `${base}.location[${i}].period.start`, code: 'value', message: 'needs a date and time with a zone' });
    (kind === 'bed' ? beds : stays).push({ index: i, code, ...(start !== undefined ? { start } : {}) });
  });
  if (stays.length > 1) {
    for (const s of stays) if (s.start === undefined) issues.push({ expression: `${base}.location[${s.index}].period.start`, code: 'required', message: 'with several wards in location[], each needs period.start (the time of the move)' });
  }
  stays.sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
  for (const b of beds) {
    const owner = b.start === undefined ? stays[stays.length - 1] : [...stays].reverse().find((s) => (s.start ?? -Infinity) <= b.start!);
    if (owner) owner.bed = b.code;
  }

  const admittedAt = instantAt(enc.period?.start) ?? stays[0]?.start;
  const spellStatuses = ['in-progress', 'onleave', 'finished'];
  if (spellStatuses.includes(enc.status)) {
    if (admittedAt === undefined) issues.push({ expression: `${base}.period.start`, code: 'required', message: `status ${enc.status} needs the admission time: period.start with a date, time and zone` });
    if (!stays.length) issues.push({ expression: `${base}.location`, code: 'required', message: `status ${enc.status} needs the ward in location[] (identifier.value or "Location/<code>")` });
  }
  if (issues.length) return { ok: false, issues };

  switch (enc.status) {
    case 'planned':
    case 'arrived':
    case 'triaged': {
      const i = locs.findIndex((_, k) => kindOf(k) === 'ward' && codeAt(k));
      const ward = i >= 0 ? codeAt(i) : undefined;
      // spellId: a later `cancelled` of this Encounter (admission.cancelled of the same spell) cancels the decision.
      add('dec', 'admission.decided', undated, { spellId, ...(ward ? { ward } : {}) }, { 'payload.ward': `${base}.location[${i}].location`, occurredAt: `${base}.meta.lastUpdated` });
      break;
    }
    case 'cancelled':
    case 'entered-in-error':
      add('cnl', 'admission.cancelled', undated, { spellId }, { occurredAt: `${base}.meta.lastUpdated` });
      break;
    default: {
      const [first, ...moves] = stays;
      const admitSource = firstCode(enc.hospitalization?.admitSource);
      add('adm', 'patient.admitted', admittedAt!, { spellId, ward: first!.code, ...(first!.bed ? { bed: first!.bed } : {}), ...(admitSource ? { admissionSource: admitSource } : {}) }, {
        occurredAt: `${base}.period.start`, 'payload.ward': `${base}.location[${first!.index}].location`, 'payload.bed': `${base}.location`,
        'payload.admissionSource': `${base}.hospitalization.admitSource`,
      });
      for (const m of moves) {
        add(`mv-${digest(m.code, String(m.start))}`, 'patient.transferred', m.start!, { spellId, ward: m.code, ...(m.bed ? { bed: m.bed } : {}) }, {
          occurredAt: `${base}.location[${m.index}].period.start`, 'payload.ward': `${base}.location[${m.index}].location`, 'payload.bed': `${base}.location`,
        });
      }
      const history = enc.statusHistory ?? [];
      let openLeave = false;
      history.forEach((h, i) => {
        if (h.status !== 'onleave') return;
        const start = instantAt(h.period.start);
        const end = instantAt(h.period.end);
        if (start === undefined) {
          issues.push({ expression: `${base}.statusHistory[${i}].period.start`, code: 'required', message: 'an onleave period needs its start (date, time and zone)' });
          return;
        }
        if (h.period.end && end === undefined) issues.push({ expression: `${base}.statusHistory[${i}].period.end`, code: 'value', message: 'needs a date and time with a zone' });
        add(`lv-${start.toString(36)}`, 'leave.started', start, { spellId }, { occurredAt: `${base}.statusHistory[${i}].period.start` });
        if (end !== undefined) add(`lve-${start.toString(36)}`, 'leave.ended', end, { spellId }, { occurredAt: `${base}.statusHistory[${i}].period.end` });
        else openLeave = true;
      });
      if (enc.status === 'onleave' && !openLeave) {
        issues.push({ expression: `${base}.statusHistory`, code: 'required', message: 'status onleave needs a statusHistory entry with status onleave and period.start (when the leave began), without period.end' });
      }
      // A finished period that has ended is a discharge undone: the Encounter was reopened (a
      // wrong discharge corrected). Each gives its discharge and a discharge.cancelled, so the
      // bed is taken again; the ids count the reopenings, so a later discharge of the same
      // spell is a new fact and not a duplicate of the undone one.
      const reopenings: { i: number; start: number; end: number }[] = [];
      history.forEach((h, i) => {
        if (h.status !== 'finished') return;
        const start = instantAt(h.period.start);
        const end = instantAt(h.period.end);
        const at = `${base}.statusHistory[${i}].period`;
        if (h.period.end === undefined) {
          if (enc.status !== 'finished') issues.push({ expression: `${at}.end`, code: 'required', message: `a finished period before status ${enc.status} needs its end (when the discharge was undone and the Encounter reopened)` });
          return;
        }
        if (start === undefined) issues.push({ expression: `${at}.start`, code: 'required', message: 'a finished period needs its start (the discharge time: date, time and zone)' });
        if (end === undefined) issues.push({ expression: `${at}.end`, code: 'value', message: 'needs a date and time with a zone' });
        else if (start !== undefined && end < start) issues.push({ expression: `${at}.end`, code: 'value', message: 'the reopening (period.end) is before the discharge (period.start)' });
        else if (start !== undefined) reopenings.push({ i, start, end });
      });
      reopenings.sort((a, b) => a.start - b.start);
      const stayAt = (t: number): Stay => [...stays].reverse().find((s) => (s.start ?? -Infinity) <= t) ?? stays[0]!;
      reopenings.forEach(({ i, start, end }, k) => {
        const at = `${base}.statusHistory[${i}].period`;
        add(k === 0 ? 'dis' : `dis-${k}`, 'patient.discharged', start, { spellId }, { occurredAt: `${at}.start` });
        const back = stayAt(end);
        add(`dcn-${k}`, 'discharge.cancelled', end, { spellId, ward: back.code, ...(back.bed ? { bed: back.bed } : {}) }, { occurredAt: `${at}.end`, 'payload.ward': `${base}.location[${back.index}].location` });
      });
      if (enc.status === 'finished') {
        const end = instantAt(enc.period?.end);
        const destination = firstCode(enc.hospitalization?.dischargeDisposition);
        const id = reopenings.length ? `dis-${reopenings.length}` : 'dis';
        if (end === undefined) issues.push({ expression: `${base}.period.end`, code: 'required', message: 'status finished needs the discharge time: period.end with a date, time and zone' });
        else add(id, 'patient.discharged', end, { spellId, ...(destination ? { destination } : {}) }, { occurredAt: `${base}.period.end`, 'payload.destination': `${base}.hospitalization.dischargeDisposition` });
      }
    }
  }
  const events = finish(drafts, base, issues, ctx);
  return issues.length ? { ok: false, issues } : { ok: true, resourceType: 'Encounter', events, warnings };
}

// ---- ServiceRequest ----

/** performerType -> team type: a code that names one (crisis, liaison, home_treatment, community), else words in its text. */
export function teamTypeOf(cc: z.infer<typeof codeableConcept> | undefined): (typeof TEAM_TYPES)[number] {
  const codes = (cc?.coding ?? []).map((c) => (c.code ?? '').toLowerCase().replace(/-/g, '_'));
  const hit = TEAM_TYPES.find((t) => codes.includes(t));
  if (hit) return hit;
  const text = [cc?.text, ...(cc?.coding ?? []).map((c) => c.display)].filter(Boolean).join(' ').toLowerCase();
  if (/crisis/.test(text)) return 'crisis';
  if (/liaison/.test(text)) return 'liaison';
  if (/home[\s-]*treatment/.test(text)) return 'home_treatment';
  if (/community/.test(text)) return 'community';
  return 'other';
}

const isOrganization = (r: z.infer<typeof reference>): boolean => r.type === 'Organization' || /(^|\/)Organization\//.test(r.reference ?? '') || ODS_CODE_SYSTEMS.includes(r.identifier?.system ?? '');

export function mapServiceRequest(input: unknown, ctx: FhirContext, base = 'ServiceRequest'): FhirMapResult {
  const parsed = serviceRequestSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(base, parsed.error) };
  const sr = parsed.data;
  const issues: FhirIssue[] = [];
  const warnings: FhirIssue[] = [];
  const who = whoOf(base, sr.subject, ctx, issues);
  const referral = businessId(sr.identifier, sr.id);
  if (!referral) issues.push({ expression: `${base}.identifier`, code: 'required', message: 'the referral id is required: ServiceRequest.identifier (or ServiceRequest.id)' });
  if (sr.status === 'draft' || sr.status === 'on-hold' || sr.status === 'unknown') {
    issues.push({ expression: `${base}.status`, code: 'not-supported', message: `status ${sr.status} is not a referral we act on: send active (received), or completed / revoked / entered-in-error (closed)` });
  }
  const performers = sr.performer ?? [];
  const orgIndex = performers.findIndex(isOrganization);
  const site = siteOf(orgIndex >= 0 ? performers[orgIndex] : undefined, ctx, `${base}.performer[${orgIndex}].identifier.value`, warnings);
  if (issues.length || !who || !referral) return { ok: false, issues };

  const referralId = referral.value;
  const idBase = `fhir-sr-${digest(site, referralId)}`;
  const envelope = { site, patientId: who.patientId, ...(who.nhsNumber ? { nhsNumber: who.nhsNumber } : {}), sourceSystem: ctx.sourceSystem.slice(0, 64), channel: 'fhir' as const };
  const sources = { patientId: `${base}.subject`, nhsNumber: `${base}.subject.identifier.value`, 'payload.referralId': `${base}.${referral.from}` };
  const drafts: Draft[] = [];
  if (sr.status === 'active') {
    const teamIndex = performers.findIndex((p) => !isOrganization(p) && (p.identifier?.value?.trim() || referencedId(p.reference)));
    const team = teamIndex >= 0 ? performers[teamIndex]!.identifier?.value?.trim() || referencedId(performers[teamIndex]!.reference) : undefined;
    const at = instantAt(sr.authoredOn);
    if (!team) issues.push({ expression: `${base}.performer`, code: 'required', message: 'the receiving team is required: a performer (CareTeam or HealthcareService) with identifier.value or a reference "CareTeam/<code>"' });
    if (at === undefined) issues.push({ expression: `${base}.authoredOn`, code: 'required', message: 'authoredOn (when the referral was made) is required, with a date, time and zone' });
    if (issues.length) return { ok: false, issues };
    drafts.push({
      event: {
        eventId: `${idBase}-rcv`, type: 'referral.received', occurredAt: at, ...envelope,
        payload: { referralId, team, teamType: teamTypeOf(sr.performerType), urgency: PRIORITY_TO_URGENCY[sr.priority ?? 'routine'] },
      },
      sources: { ...sources, occurredAt: `${base}.authoredOn`, 'payload.team': `${base}.performer[${teamIndex}]` },
    });
  } else {
    drafts.push({
      event: { eventId: `${idBase}-cls`, type: 'referral.closed', occurredAt: instantAt(sr.meta?.lastUpdated) ?? ctx.now, ...envelope, payload: { referralId, reason: `ServiceRequest.status ${sr.status}` } },
      sources: { ...sources, occurredAt: `${base}.meta.lastUpdated` },
    });
  }
  const events = finish(drafts, base, issues, ctx);
  return issues.length ? { ok: false, issues } : { ok: true, resourceType: 'ServiceRequest', events, warnings };
}

// ---- dispatch and Bundle ----

/** Maps an Encounter or a ServiceRequest (whichever `resourceType` says). */
export function mapResource(input: unknown, ctx: FhirContext, base?: string, expect?: 'Encounter' | 'ServiceRequest'): FhirMapResult {
  const rt = input && typeof input === 'object' && !Array.isArray(input) ? (input as { resourceType?: unknown }).resourceType : undefined;
  const at = base ? `${base}.resourceType` : 'resourceType';
  if (expect && rt !== expect) return { ok: false, issues: [{ expression: at, code: 'invalid', message: `expected a ${expect} resource, got ${typeof rt === 'string' ? rt.slice(0, 40) : 'none'}` }] };
  if (rt === 'Encounter') return mapEncounter(input, ctx, base ?? 'Encounter');
  if (rt === 'ServiceRequest') return mapServiceRequest(input, ctx, base ?? 'ServiceRequest');
  return { ok: false, issues: [{ expression: at, code: 'not-supported', message: `resourceType ${typeof rt === 'string' ? rt.slice(0, 40) : '(missing)'} is not mapped: send Encounter or ServiceRequest (or a Bundle of them)` }] };
}

export type BundleEntryResult =
  | { index: number; kind: 'mapped'; result: FhirMapResult; resource: unknown }
  /** A Patient: used to resolve subjects in the same Bundle, no events of its own. */
  | { index: number; kind: 'patient' };

export type BundleResult = { ok: true; type: (typeof BUNDLE_TYPES)[number]; entries: BundleEntryResult[] } | { ok: false; issues: FhirIssue[] };

export function mapBundle(input: unknown, ctx: FhirContext, maxEntries: number): BundleResult {
  const parsed = bundleSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues('Bundle', parsed.error) };
  const entries = parsed.data.entry ?? [];
  if (entries.length === 0) return { ok: false, issues: [{ expression: 'Bundle.entry', code: 'required', message: 'the Bundle has no entries' }] };
  if (entries.length > maxEntries) return { ok: false, issues: [{ expression: 'Bundle.entry', code: 'too-costly', message: `a Bundle of ${entries.length} entries is over the limit of ${maxEntries}` }] };
  const patients = new Map<string, PatientIds>(ctx.patients ?? []);
  entries.forEach((e) => {
    const p = patientSchema.safeParse(e.resource);
    if (!p.success) return;
    const ids = idsOfPatient(p.data.identifier);
    if (p.data.id && !ids.patientId) ids.patientId = p.data.id;
    if (e.fullUrl) patients.set(e.fullUrl, ids);
    if (p.data.id) patients.set(`Patient/${p.data.id}`, ids);
  });
  const inner: FhirContext = { ...ctx, patients };
  return {
    ok: true,
    type: parsed.data.type,
    entries: entries.map((e, index): BundleEntryResult => {
      if (patientSchema.safeParse(e.resource).success) return { index, kind: 'patient' };
      return { index, kind: 'mapped', resource: e.resource, result: mapResource(e.resource, inner, `Bundle.entry[${index}].resource`) };
    }),
  };
}

// ---- OperationOutcome ----

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'fatal' | 'error' | 'warning' | 'information'; code: string; diagnostics: string; expression?: string[] }[];
}

export function operationOutcome(issues: readonly FhirIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({ severity: i.severity ?? 'error', code: i.code, diagnostics: i.message, ...(i.expression ? { expression: [i.expression] } : {}) })),
  };
}
