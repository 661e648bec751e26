// HL7 v2 ADT -> canonical flow events (@pfm/contracts). Pure: no I/O, no clock.
// Header faults (no MSH, bad delimiters, no MSH-9/MSH-10) -> AR; content faults
// (missing or invalid required fields) -> AE, each naming its segment and field;
// triggers nobody mapped -> one `message.unmapped` event, so a live feed never stalls.
import type { Hl7Message } from '@medplum/core';
import { aheadOfClock, flowEventInputSchema, normaliseNhsNumber, type FlowEventInput, type FlowEventType, type PayloadOf } from '@pfm/contracts';
import { ageAt, ageBandOf, genderOf, initialsOf } from './demographics';
import { DEFAULT_TIME_ZONE, parseDtm, localToEpochMs, type DtmPrecision } from './dtm';
import { type Hl7ErrorCode, type Hl7Issue, issueAt } from './issues';
export type { AckCode } from './issues';
import { parseHl7, type ParsedHl7, type Seg } from './parse';
import { ZMH_FIELDS } from './zmh';

export interface MapContext {
  /** Site code used when PV1-3.4 names no facility or the facility is not mapped. */
  defaultSite: string;
  /** Resolves a PV1-3.4 facility (e.g. an ODS site code) to a site; undefined -> defaultSite (with a warning). */
  siteForFacility?: (facility: string) => string | undefined;
  /** Overrides MSH-3 (sending application) as the events' sourceSystem. */
  sourceSystem?: string;
  /** Zone of times sent without an offset. Default Europe/London. */
  timeZone?: string;
  /** Largest accepted message, in characters. */
  maxChars?: number;
  /**
   * The receiving server's clock: with `maxAheadMs`, an event time further ahead than that is
   * an error at the field it came from (aheadOfClock). Unset: no check (mapping only).
   */
  now?: number;
  /** 0 = no limit. */
  maxAheadMs?: number;
}

export interface MapOk {
  ok: true;
  events: FlowEventInput[];
  /** MSH-9.1^MSH-9.2 as received, e.g. "ADT^A01". */
  messageType: string;
  controlId: string;
  /** Problems that did not stop the mapping (an unmapped facility, an unreadable birth date, ...). */
  warnings: Hl7Issue[];
}

export interface MapFail {
  ok: false;
  ack: 'AE' | 'AR';
  errors: Hl7Issue[];
  messageType?: string;
  controlId?: string;
}

export type MapResult = MapOk | MapFail;

/** The ADT triggers this package maps to canonical events; anything else becomes `message.unmapped`. */
export const MAPPED_TRIGGERS = ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A12', 'A13', 'A17', 'A21', 'A22', 'A38', 'A40', 'A52', 'A53'] as const;
export type MappedTrigger = (typeof MAPPED_TRIGGERS)[number];
const isMapped = (t: string): t is MappedTrigger => (MAPPED_TRIGGERS as readonly string[]).includes(t);

/** Patient classes (PV1-2, table 0004) whose A04/A05 is not a request for a bed. */
export const NON_BED_PATIENT_CLASSES = ['O', 'R', 'B'] as const;

/** MSH-10 is suffixed "-1", "-2" when one message yields several events. */
const MAX_CONTROL_ID = 116;
const MAX_ID = 64;
const MAX_CODE = 32;

interface Loc {
  segment: string;
  sequence: number;
  field?: number;
  component?: number;
}

type Sources = Record<string, Loc>;

interface Who {
  patientId: string;
  nhsNumber?: string;
  initials?: string;
  ageBand?: string;
  gender?: string;
  ethnicity?: string;
  sources: Sources;
}

interface Zmh {
  legalStatus?: string;
  outOfArea?: boolean;
  oapReason?: string;
  distanceFromHomeKm?: number;
  area?: string;
  referralId?: string;
  leaveType?: string;
}

interface Group {
  pid: Seg;
  pv1?: Seg;
  pv2?: Seg;
  mrg?: Seg;
}

interface Draft {
  type: FlowEventType;
  payload: Record<string, unknown>;
  who: Who;
  site: string;
  sources: Sources;
}

function draft<T extends FlowEventType>(type: T, payload: PayloadOf<T>, who: Who, site: string, sources: Sources): Draft {
  return { type, payload: compact(payload as Record<string, unknown>), who, site, sources };
}

function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = v;
  return out as T;
}

/** OID of the NHS number (HL7 UK), as sent in CX-4.2 by feeds that leave CX-4.1 empty. */
export const NHS_NUMBER_OID = '2.16.840.1.113883.2.1.4.1';

/** An identifier repetition is the NHS number when its authority or type says so. */
function isNhsIdentifier(seg: Seg, field: number, rep: number): boolean {
  const authority = seg.get(field, 4, rep, 1).toUpperCase();
  const authorityOid = seg.get(field, 4, rep, 2);
  const type = seg.get(field, 5, rep).toUpperCase();
  return authority === 'NHS' || authorityOid === NHS_NUMBER_OID || type === 'NH' || type === 'NHS';
}

const loc = (seg: Seg | undefined, name: string, field?: number, component?: number): Loc => ({
  segment: seg?.name ?? name,
  sequence: seg?.sequence ?? 1,
  ...(field === undefined ? {} : { field }),
  ...(component === undefined ? {} : { component }),
});

class AdtMapper {
  readonly errors: Hl7Issue[] = [];
  readonly warnings: Hl7Issue[] = [];
  private readonly tz: string;
  private readonly evn: Seg | undefined;

  constructor(
    readonly p: ParsedHl7,
    private readonly ctx: MapContext,
  ) {
    this.tz = ctx.timeZone ?? DEFAULT_TIME_ZONE;
    this.evn = p.segments.find((s) => s.name === 'EVN');
  }

  private error(at: Loc, code: Hl7ErrorCode, message: string): undefined {
    this.errors.push(issueAt(at, code, message));
    return undefined;
  }

  private warn(at: Loc, code: Hl7ErrorCode, message: string): void {
    this.warnings.push(issueAt(at, code, message));
  }

  /** PID groups: each PID with the PV1/PV2/MRG that follow it (A17 and A40 carry several). */
  groups(): Group[] {
    const out: Group[] = [];
    let cur: Group | undefined;
    for (const s of this.p.segments) {
      if (s.name === 'PID') {
        cur = { pid: s };
        out.push(cur);
      } else if (cur && (s.name === 'PV1' || s.name === 'PV2' || s.name === 'MRG')) {
        const key = s.name.toLowerCase() as 'pv1' | 'pv2' | 'mrg';
        cur[key] ??= s;
      }
    }
    return out;
  }

  /**
   * Reads a time: null when the field is empty; undefined when it is present but invalid
   * (an error is recorded unless `lenient`: a bad time is never silently replaced by another field).
   */
  private time(seg: Seg | undefined, name: string, field: number, minPrecision: DtmPrecision, lenient = false): number | undefined | null {
    if (!seg?.has(field)) return null;
    const v = parseDtm(seg.get(field, 1), { timeZone: this.tz, minPrecision });
    if (!v) {
      if (lenient) return undefined;
      const fmt = minPrecision === 'day' ? 'YYYYMMDD[HHMM[SS]][+/-ZZZZ]' : 'YYYYMMDDHHMM[SS[.S]][+/-ZZZZ]';
      return this.error(loc(seg, name, field), 102, `${name}-${field} is not a valid date/time (expected ${fmt})`);
    }
    return v.epochMs;
  }

  /**
   * occurredAt: EVN-6, then (admit/discharge) PV1-44/45, then EVN-2, then MSH-7. The first
   * present field decides; if it is invalid the message is in error, unless `lenient`
   * (unmapped messages), where invalid fields are skipped.
   */
  occurredAt(pv1?: Seg, visitTimeField?: 44 | 45, lenient = false): { at: number; from: Loc } | undefined {
    const candidates: [Seg | undefined, string, number][] = [[this.evn, 'EVN', 6]];
    if (visitTimeField) candidates.push([pv1, 'PV1', visitTimeField]);
    candidates.push([this.evn, 'EVN', 2], [this.p.msh, 'MSH', 7]);
    for (const [seg, name, field] of candidates) {
      const t = this.time(seg, name, field, 'minute', lenient);
      if (t === undefined && !lenient) return undefined;
      if (typeof t === 'number') return { at: t, from: loc(seg, name, field) };
    }
    return this.error(loc(this.p.msh, 'MSH', 7), 101, 'no valid event time in EVN-6, EVN-2 or MSH-7');
  }

  /** The local id: the first identifier that is not an NHS number. */
  private localId(seg: Seg, field: number, strict: boolean): { id?: string; nhs?: string } {
    let id: string | undefined;
    let nhs: string | undefined;
    for (let r = 0; r < seg.repetitions(field); r++) {
      const value = seg.get(field, 1, r);
      if (!value) continue;
      if (isNhsIdentifier(seg, field, r)) {
        const n = normaliseNhsNumber(value);
        if (n) nhs ??= n;
        else if (strict) this.error(loc(seg, seg.name, field), 102, `${seg.name}-${field} repetition ${r + 1}: NHS number fails the Modulus 11 check`);
      } else {
        id ??= value;
      }
    }
    return { ...(id === undefined ? {} : { id }), ...(nhs === undefined ? {} : { nhs }) };
  }

  who(g: Group | undefined, at: number, strict = true): Who | undefined {
    if (!g) {
      if (strict) this.error({ segment: 'PID', sequence: 1 }, 101, 'PID segment is missing');
      return undefined;
    }
    const pid = g.pid;
    const { id, nhs } = this.localId(pid, 3, strict);
    if (!id) {
      if (strict) this.error(loc(pid, 'PID', 3), 101, 'PID-3 has no local patient identifier (an identifier other than the NHS number)');
      return undefined;
    }
    if (id.length > MAX_ID) {
      if (strict) this.error(loc(pid, 'PID', 3), 102, `PID-3 local identifier is longer than ${MAX_ID} characters`);
      return undefined;
    }
    const sources: Sources = { patientId: loc(pid, 'PID', 3), nhsNumber: loc(pid, 'PID', 3) };
    const who: Who = { patientId: id, sources };
    if (nhs) who.nhsNumber = nhs;
    if (!strict) return who;

    // PID-5: prefer the legal name (XPN-7 = L), else the first.
    let rep = 0;
    for (let r = 0; r < pid.repetitions(5); r++) if (pid.get(5, 7, r).toUpperCase() === 'L') { rep = r; break; }
    if (pid.has(5)) {
      const initials = initialsOf({ family: pid.get(5, 1, rep), given: pid.get(5, 2, rep), middle: pid.get(5, 3, rep) });
      if (initials) who.initials = initials;
      sources['payload.initials'] = loc(pid, 'PID', 5);
    }
    if (pid.has(7)) {
      const birth = parseDtm(pid.get(7, 1), { timeZone: this.tz, minPrecision: 'day' });
      const age = birth ? ageAt(birth.local, at, this.tz) : null;
      const band = age === null ? undefined : ageBandOf(age);
      if (band) who.ageBand = band;
      else this.warn(loc(pid, 'PID', 7), 102, 'PID-7 is not a usable birth date; age band left out');
      sources['payload.ageBand'] = loc(pid, 'PID', 7);
    }
    if (pid.has(8)) {
      const gender = genderOf(pid.get(8, 1));
      if (gender) who.gender = gender;
      else this.warn(loc(pid, 'PID', 8), 103, 'PID-8 is not an HL7 table 0001 sex code; gender left out');
      sources['payload.gender'] = loc(pid, 'PID', 8);
    }
    const ethnicity = this.code(pid, 'PID', 22);
    if (ethnicity) who.ethnicity = ethnicity;
    sources['payload.ethnicity'] = loc(pid, 'PID', 22);
    return who;
  }

  /** An optional coded value (component 1); too long -> left out with a warning. */
  private code(seg: Seg | undefined, name: string, field: number): string | undefined {
    const v = seg?.get(field, 1) ?? '';
    if (!v) return undefined;
    if (v.length > MAX_CODE) {
      this.warn(loc(seg, name, field), 102, `${name}-${field} is longer than ${MAX_CODE} characters; left out`);
      return undefined;
    }
    return v;
  }

  /** PV1-3 point of care -> ward (required when `needWard`), bed, and the site from the facility. */
  location(g: Group, needWard: boolean): { ward?: string; bed?: string; site?: string; sources: Sources } | undefined {
    const pv1 = g.pv1;
    const sources: Sources = { 'payload.ward': loc(pv1, 'PV1', 3, 1), 'payload.bed': loc(pv1, 'PV1', 3, 3), site: loc(pv1, 'PV1', 3, 4) };
    const ward = pv1?.get(3, 1) ?? '';
    const bed = pv1?.get(3, 3) ?? '';
    const facility = pv1?.get(3, 4) ?? '';
    const before = this.errors.length;
    if (!ward && needWard) this.error(loc(pv1, 'PV1', 3), 101, 'PV1-3 assigned patient location (point of care) is required');
    if (ward.length > MAX_CODE) this.error(loc(pv1, 'PV1', 3, 1), 102, `PV1-3.1 point of care is longer than ${MAX_CODE} characters`);
    if (bed.length > MAX_CODE) this.error(loc(pv1, 'PV1', 3, 3), 102, `PV1-3.3 bed is longer than ${MAX_CODE} characters`);
    const site = this.site(facility, pv1);
    if (this.errors.length > before || !site) return undefined;
    return { ...(ward ? { ward } : {}), ...(bed ? { bed } : {}), site, sources };
  }

  site(facility: string, pv1: Seg | undefined): string | undefined {
    let site = this.ctx.defaultSite;
    if (facility && this.ctx.siteForFacility) {
      let mapped: string | undefined;
      try {
        mapped = this.ctx.siteForFacility(facility);
      } catch {
        return this.error(loc(pv1, 'PV1', 3, 4), 207, 'site lookup for PV1-3.4 facility failed');
      }
      if (mapped) site = mapped;
      else this.warn(loc(pv1, 'PV1', 3, 4), 103, `PV1-3.4 facility "${facility.slice(0, 20)}" is not in the site map; default site used`);
    }
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(site)) {
      return this.error(loc(pv1, 'PV1', 3, 4), 207, 'the configured site code is not valid (1-16 letters, digits, "_" or "-")');
    }
    return site;
  }

  /** PV1-19 visit number -> spellId. */
  spell(g: Group, required: boolean): string | undefined {
    const v = g.pv1?.get(19, 1) ?? '';
    if (!v) return required ? this.error(loc(g.pv1, 'PV1', 19), 101, 'PV1-19 visit number (spell id) is required') : undefined;
    if (v.length > MAX_ID) return this.error(loc(g.pv1, 'PV1', 19), 102, `PV1-19 visit number is longer than ${MAX_ID} characters`);
    return v;
  }

  /** PV2-9 expected discharge; a date without a time means "by the end of that day". */
  edd(g: Group): number | undefined | null {
    return this.expectedBy(g.pv2, 9, 'expected discharge date');
  }

  /**
   * PV2-47 expected return from leave; a date without a time (a PAS that records the day of
   * return only) means "by the end of that day", as for the EDD, so the overdue clock never
   * runs before the day is out.
   */
  expectedReturn(g: Group): number | undefined | null {
    return this.expectedBy(g.pv2, 47, 'expected return from leave');
  }

  /** An expected time in PV2: null when empty, undefined (an error) when invalid; a date alone is the end of that local day. */
  private expectedBy(pv2: Seg | undefined, field: number, what: string): number | undefined | null {
    if (!pv2?.has(field)) return null;
    const v = parseDtm(pv2.get(field, 1), { timeZone: this.tz, minPrecision: 'day' });
    if (!v) return this.error(loc(pv2, 'PV2', field), 102, `PV2-${field} ${what} is not a valid date/time`);
    if (v.precision === 'day' && !v.hasOffset) {
      const next = new Date(Date.UTC(v.local.year, v.local.month - 1, v.local.day + 1));
      return localToEpochMs({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() }, this.tz) - 1;
    }
    return v.epochMs;
  }

  /**
   * The local ZMH segment (zmh.ts): legal status, out-of-area placement,
   * catchment area, referral id, leave type. Optional and lenient: a value that does not
   * fit is left out with a warning, never costing the admission.
   */
  zmh(): Zmh {
    const z = this.p.segments.find((s) => s.name === 'ZMH');
    if (!z) return {};
    const text = (field: number, max: number, what: string): string | undefined => {
      const v = z.get(field, 1);
      if (!v) return undefined;
      if (v.length > max) {
        this.warn(loc(z, 'ZMH', field), 102, `ZMH-${field} ${what} is longer than ${max} characters; left out`);
        return undefined;
      }
      return v;
    };
    const out: Zmh = {};
    const legalStatus = text(ZMH_FIELDS.legalStatus, MAX_CODE, 'legal status');
    if (legalStatus) out.legalStatus = legalStatus;
    const oap = z.get(ZMH_FIELDS.outOfArea, 1).toUpperCase();
    if (oap === 'Y' || oap === 'N') out.outOfArea = oap === 'Y';
    else if (oap) this.warn(loc(z, 'ZMH', ZMH_FIELDS.outOfArea), 103, 'ZMH-2 out-of-area placement is not Y or N; left out');
    const reason = text(ZMH_FIELDS.oapReason, 120, 'out-of-area reason');
    if (reason) out.oapReason = reason;
    const km = z.get(ZMH_FIELDS.distanceFromHomeKm, 1);
    if (km) {
      const n = Number(km);
      if (/^\d+(\.\d+)?(e[+-]?\d+)?$/i.test(km) && n >= 0 && n <= 2000) out.distanceFromHomeKm = n;
      else this.warn(loc(z, 'ZMH', ZMH_FIELDS.distanceFromHomeKm), 102, 'ZMH-4 distance from home is not a number of km (0-2000); left out');
    }
    const area = text(ZMH_FIELDS.area, MAX_CODE, 'catchment area');
    if (area) out.area = area;
    const referralId = text(ZMH_FIELDS.referralId, MAX_ID, 'referral id');
    if (referralId) out.referralId = referralId;
    const leaveType = text(ZMH_FIELDS.leaveType, MAX_CODE, 'leave type');
    if (leaveType) out.leaveType = leaveType;
    return out;
  }

  visitCodes(g: Group): { admissionMethod?: string; admissionSource?: string; dischargeMethod?: string; destination?: string } {
    return compact({
      admissionMethod: this.code(g.pv1, 'PV1', 4),
      admissionSource: this.code(g.pv1, 'PV1', 14),
      dischargeMethod: this.code(g.pv1, 'PV1', 36),
      destination: this.code(g.pv1, 'PV1', 37),
    });
  }
}

const codeSources = (g: Group): Sources => ({
  'payload.spellId': loc(g.pv1, 'PV1', 19),
  'payload.admissionMethod': loc(g.pv1, 'PV1', 4),
  'payload.admissionSource': loc(g.pv1, 'PV1', 14),
  'payload.dischargeMethod': loc(g.pv1, 'PV1', 36),
  'payload.destination': loc(g.pv1, 'PV1', 37),
  'payload.expectedDischargeAt': loc(g.pv2, 'PV2', 9),
  'payload.expectedReturnAt': loc(g.pv2, 'PV2', 47),
});

/** Maps one HL7 v2 message (raw text or a parsed Hl7Message) to canonical events. Never throws. */
export function mapAdt(message: string | Hl7Message, ctx: MapContext): MapResult {
  try {
    return mapUnsafe(message, ctx);
  } catch (err) {
    // A bug here must cost one message, not the feed.
    const detail = err instanceof Error ? err.name : 'unknown';
    return { ok: false, ack: 'AE', errors: [issueAt({ segment: 'MSH', sequence: 1 }, 207, `internal error while mapping (${detail})`)] };
  }
}

function mapUnsafe(message: string | Hl7Message, ctx: MapContext): MapResult {
  const parsed = parseHl7(message, ctx.maxChars);
  if (!parsed.ok) return { ok: false, ack: 'AR', errors: parsed.errors };
  const p = parsed.parsed;
  const msh = p.msh;
  const type = msh.get(9, 1).toUpperCase();
  const evn = p.segments.find((s) => s.name === 'EVN');
  const trigger = (msh.get(9, 2) || evn?.get(1, 1) || '').toUpperCase();
  const messageType = trigger ? `${type}^${trigger}` : type;
  const controlId = msh.get(10, 1);
  const header: Hl7Issue[] = [];
  if (!type) header.push(issueAt({ segment: 'MSH', sequence: 1, field: 9 }, 101, 'MSH-9 message type is required'));
  if (!controlId) header.push(issueAt({ segment: 'MSH', sequence: 1, field: 10 }, 101, 'MSH-10 message control id is required'));
  else if (controlId.length > MAX_CONTROL_ID) header.push(issueAt({ segment: 'MSH', sequence: 1, field: 10 }, 102, `MSH-10 is longer than ${MAX_CONTROL_ID} characters`));
  const ids = { ...(messageType ? { messageType } : {}), ...(controlId ? { controlId } : {}) };
  if (header.length) return { ok: false, ack: 'AR', errors: header, ...ids };

  const m = new AdtMapper(p, ctx);
  m.warnings.push(...parsed.warnings);
  const drafts = buildDrafts(m, type, trigger);
  const fail = (): MapFail => ({ ok: false, ack: 'AE', errors: m.errors, messageType, controlId });
  if (!drafts || m.errors.length) return fail();

  const ahead = ctx.now === undefined ? undefined : aheadOfClock(drafts.at.at, ctx.now, ctx.maxAheadMs ?? 0);
  if (ahead) {
    m.errors.push(issueAt(drafts.at.from, 102, ahead));
    return fail();
  }
  const sourceSystem = (ctx.sourceSystem ?? msh.get(3, 1)).slice(0, 64);
  const events: FlowEventInput[] = [];
  drafts.list.forEach((d, i) => {
    const candidate = {
      eventId: drafts.list.length > 1 ? `${controlId}-${i + 1}` : controlId,
      type: d.type,
      occurredAt: drafts.at.at,
      site: d.site,
      patientId: d.who.patientId,
      ...(d.who.nhsNumber ? { nhsNumber: d.who.nhsNumber } : {}),
      ...(sourceSystem ? { sourceSystem } : {}),
      channel: 'hl7v2',
      payload: d.payload,
    };
    const r = flowEventInputSchema.safeParse(candidate);
    if (r.success) {
      events.push(r.data);
      return;
    }
    const sources: Sources = { occurredAt: drafts.at.from, eventId: loc(msh, 'MSH', 10), sourceSystem: loc(msh, 'MSH', 3), ...d.who.sources, ...d.sources };
    for (const iss of r.error.issues) {
      const path = iss.path.map(String).join('.');
      const at = sources[path] ?? sources[path.split('.').slice(0, 2).join('.')] ?? loc(msh, 'MSH', 9);
      m.errors.push(issueAt(at, 102, `${path || 'event'}: ${iss.message}`.slice(0, 200)));
    }
  });
  if (m.errors.length) return fail();
  return { ok: true, events, messageType, controlId, warnings: m.warnings };
}

function buildDrafts(m: AdtMapper, type: string, trigger: string): { list: Draft[]; at: { at: number; from: Loc } } | undefined {
  const groups = m.groups();
  const g = groups[0];
  if (type !== 'ADT' || !isMapped(trigger)) return unmapped(m, g, `${type}^${trigger}`, 'no mapping for this message type and trigger');

  const visitTime = trigger === 'A01' ? 44 : trigger === 'A03' ? 45 : undefined;
  const at = m.occurredAt(g?.pv1, visitTime);
  if (!at) return undefined;

  if (trigger === 'A17') return swap(m, groups, at);
  if (trigger === 'A40') return merge(m, groups, at);

  const patientClass = g?.pv1?.get(2, 1).toUpperCase() ?? '';
  if ((trigger === 'A04' || trigger === 'A05') && (NON_BED_PATIENT_CLASSES as readonly string[]).includes(patientClass)) {
    return unmapped(m, g, `ADT^${trigger}`, `patient class ${patientClass} registration is not a request for a bed`, at);
  }

  const who = m.who(g, at.at);
  if (!g || !who) return undefined;
  const base = codeSources(g);

  const needWard = trigger === 'A01' || trigger === 'A02';
  const place = m.location(g, needWard);
  const spellNeeded = !['A04', 'A05', 'A08'].includes(trigger);
  const spellId = m.spell(g, spellNeeded);
  // Only A01 and A08 use PV2-9: a bad EDD must not block a discharge or a transfer.
  const edd = trigger === 'A01' || trigger === 'A08' ? m.edd(g) : null;
  if (!place || m.errors.length) return undefined;
  const sources = { ...base, ...place.sources };
  const site = place.site as string;
  const one = (d: Draft) => ({ list: [d], at });
  const sid = spellId as string;

  switch (trigger) {
    case 'A01': {
      const { admissionMethod, admissionSource } = m.visitCodes(g);
      const z = m.zmh();
      return one(draft('patient.admitted', {
        spellId: sid, ward: place.ward as string, bed: place.bed, admissionMethod, admissionSource, legalStatus: z.legalStatus,
        outOfArea: z.outOfArea, oapReason: z.oapReason, distanceFromHomeKm: z.distanceFromHomeKm,
        initials: who.initials, ageBand: who.ageBand, gender: who.gender, ethnicity: who.ethnicity, area: z.area,
        expectedDischargeAt: edd ?? undefined, referralId: z.referralId,
      }, who, site, sources));
    }
    case 'A02': {
      // ZMH-2/3: the sender's word on whether the new unit is an out-of-area placement (the ward registry decides for units it knows).
      const z = m.zmh();
      return one(draft('patient.transferred', { spellId: sid, ward: place.ward as string, bed: place.bed, outOfArea: z.outOfArea, oapReason: z.oapReason }, who, site, sources));
    }
    case 'A03': {
      const { dischargeMethod, destination } = m.visitCodes(g);
      return one(draft('patient.discharged', { spellId: sid, dischargeMethod, destination }, who, site, sources));
    }
    case 'A04':
    case 'A05':
      // PV1-19 (when sent) ties the decision to its visit: an A11 or A38 of that visit cancels it, its A03 ends it.
      // PV1-4 tells a planned admission (no 12-hour clock) from an emergency one.
      return one(draft('admission.decided', { ward: place.ward, gender: who.gender, spellId, admissionMethod: m.visitCodes(g).admissionMethod }, who, site, sources));
    case 'A08': {
      const list = [draft('patient.updated', { spellId, legalStatus: m.zmh().legalStatus, initials: who.initials, expectedDischargeAt: edd ?? undefined }, who, site, sources)];
      if (edd !== null && edd !== undefined) {
        if (!spellId) {
          m.errors.push(issueAt(loc(g.pv1, 'PV1', 19), 101, 'PV1-19 visit number is required when PV2-9 carries an expected discharge date'));
          return undefined;
        }
        list.push(draft('edd.set', { spellId, expectedDischargeAt: edd }, who, site, sources));
      }
      return { list, at };
    }
    case 'A11':
    case 'A38':
      // A11 cancels an admission (A01) or a registration (A04); A38 a pre-admission (A05).
      return one(draft('admission.cancelled', { spellId: sid }, who, site, sources));
    case 'A12':
      return one(draft('transfer.cancelled', { spellId: sid }, who, site, sources));
    case 'A13':
      // PV1-3 is the location after the cancellation (the bed may have been given away meanwhile).
      return one(draft('discharge.cancelled', { spellId: sid, ward: place.ward, bed: place.ward ? place.bed : undefined }, who, site, sources));
    case 'A21': {
      const ret = m.expectedReturn(g);
      if (ret === undefined) return undefined;
      return one(draft('leave.started', { spellId: sid, leaveType: m.zmh().leaveType, expectedReturnAt: ret ?? undefined }, who, site, sources));
    }
    case 'A22':
      return one(draft('leave.ended', { spellId: sid }, who, site, sources));
    case 'A52':
      return one(draft('leave.cancelled', { spellId: sid, which: 'start' }, who, site, sources));
    case 'A53':
      return one(draft('leave.cancelled', { spellId: sid, which: 'end' }, who, site, sources));
    default:
      return undefined;
  }
}

/** A17: two PID/PV1 groups; each patient moves to the location in its own PV1-3. */
function swap(m: AdtMapper, groups: Group[], at: { at: number; from: Loc }): { list: Draft[]; at: { at: number; from: Loc } } | undefined {
  if (groups.length < 2) {
    m.errors.push(issueAt({ segment: 'PID', sequence: groups.length + 1 }, 101, 'A17 needs two PID/PV1 groups (one per patient swapped)'));
    return undefined;
  }
  const list: Draft[] = [];
  for (const g of groups.slice(0, 2)) {
    const who = m.who(g, at.at);
    const place = m.location(g, true);
    const spellId = m.spell(g, true);
    if (who && place && spellId) {
      list.push(draft('patient.transferred', { spellId, ward: place.ward as string, bed: place.bed }, who, place.site as string, { ...codeSources(g), ...place.sources }));
    }
  }
  return m.errors.length ? undefined : { list, at };
}

/** A40: one patient.merged per PID/MRG group; the PID is the surviving patient, MRG-1 the merged one. */
function merge(m: AdtMapper, groups: Group[], at: { at: number; from: Loc }): { list: Draft[]; at: { at: number; from: Loc } } | undefined {
  if (groups.length === 0) {
    m.who(undefined, at.at);
    return undefined;
  }
  const list: Draft[] = [];
  for (const g of groups) {
    const who = m.who(g, at.at);
    const mrg = g.mrg;
    let merged: string | undefined;
    if (!mrg) {
      m.errors.push(issueAt({ segment: 'MRG', sequence: g.pid.sequence, field: 1 }, 101, 'MRG segment (prior patient identifier) is required for A40'));
    } else {
      merged = mergedId(m, mrg);
    }
    const site = m.site(g.pv1?.get(3, 4) ?? '', g.pv1);
    if (who && merged && site) {
      list.push(draft('patient.merged', { mergedPatientId: merged }, who, site, { 'payload.mergedPatientId': loc(mrg, 'MRG', 1), site: loc(g.pv1, 'PV1', 3, 4) }));
    }
  }
  return m.errors.length ? undefined : { list, at };
}

function mergedId(m: AdtMapper, mrg: Seg): string | undefined {
  for (let r = 0; r < mrg.repetitions(1); r++) {
    const value = mrg.get(1, 1, r);
    if (value && !isNhsIdentifier(mrg, 1, r)) {
      if (value.length > MAX_ID) break;
      return value;
    }
  }
  m.errors.push(issueAt({ segment: 'MRG', sequence: mrg.sequence, field: 1 }, 101, 'MRG-1 has no usable local patient identifier (at most 64 characters, not the NHS number)'));
  return undefined;
}

/** Triggers nobody mapped: accepted and recorded as one `message.unmapped` event. */
function unmapped(
  m: AdtMapper,
  g: Group | undefined,
  trigger: string,
  detail: string,
  known?: { at: number; from: Loc },
): { list: Draft[]; at: { at: number; from: Loc } } | undefined {
  const at = known ?? m.occurredAt(undefined, undefined, true);
  if (!at) return undefined;
  const who = m.who(g, at.at, false);
  const site = m.site(g?.pv1?.get(3, 4) ?? '', g?.pv1);
  if (!site) return undefined;
  const control = m.p.msh.get(10, 1);
  const patient: Who = who ?? { patientId: `msg:${control}`.slice(0, MAX_ID), sources: {} };
  return { list: [draft('message.unmapped', { trigger: trigger.slice(0, MAX_CODE), detail }, patient, site, {})], at };
}
