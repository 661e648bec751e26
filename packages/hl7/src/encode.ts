// Canonical flow event -> HL7 v2 ADT message (the reverse of map-adt.ts), as a patient
// administration system would send it: MSH, EVN, PID, PV1, PV2 and the local ZMH
// segment. Used by the simulator's MLLP sender and by round-trip tests. Pure: no clock
// (every time comes from the event or the options), no randomness (the synthetic name
// and birth date are derived from the patient's id).
//
// Round trip: mapAdt(encodeAdt(e)) gives back e (channel 'hl7v2'), for every ADT type
// listed in ADT_TRIGGERS (property-tested in encode.test.ts).
import type { FlowEventInput, FlowEventOf, FlowEventType } from '@pfm/contracts';
import { AGE_BANDS, type AgeBand } from './demographics';
import { DEFAULT_TIME_ZONE, formatDtm, localDate } from './dtm';
import { DEFAULT_DELIMITERS, escapeHl7 } from './encoding';
import { ZMH_FIELDS } from './zmh';

/** The canonical event types that travel as ADT, with their trigger and message structure (v2.4/2.5 tables). */
export const ADT_TRIGGERS = {
  'patient.admitted': { trigger: 'A01', structure: 'ADT_A01' },
  'patient.transferred': { trigger: 'A02', structure: 'ADT_A02' },
  'patient.discharged': { trigger: 'A03', structure: 'ADT_A03' },
  'patient.updated': { trigger: 'A08', structure: 'ADT_A01' },
  'admission.cancelled': { trigger: 'A11', structure: 'ADT_A09' },
  'transfer.cancelled': { trigger: 'A12', structure: 'ADT_A12' },
  'discharge.cancelled': { trigger: 'A13', structure: 'ADT_A01' },
  'leave.started': { trigger: 'A21', structure: 'ADT_A21' },
  'leave.ended': { trigger: 'A22', structure: 'ADT_A21' },
} as const satisfies Partial<Record<FlowEventType, { trigger: string; structure: string }>>;

/** leave.cancelled is A52 (cancel leave out) or A53 (cancel leave return), by `which`. */
const LEAVE_CANCEL = { start: { trigger: 'A52', structure: 'ADT_A52' }, end: { trigger: 'A53', structure: 'ADT_A52' } } as const;

export type AdtEventType = keyof typeof ADT_TRIGGERS | 'leave.cancelled';
export type AdtEvent = FlowEventOf<AdtEventType>;

export function isAdtEvent(e: FlowEventInput): e is FlowEventInput & { type: AdtEventType } {
  return e.type in ADT_TRIGGERS || e.type === 'leave.cancelled';
}

/**
 * What a PAS knows about the patient and spell that the single event does not carry.
 * Optional; filled in by a sender that follows the stream, for realistic messages
 * (PV1-3 on a discharge, PV1-44 on a transfer). mapAdt does not read these back except
 * where the trigger itself carries them.
 */
export interface AdtContext {
  /** Where the patient is (PV1-3 of messages whose event names no ward). */
  ward?: string;
  bed?: string;
  /** Start of the spell (PV1-44 on messages other than A01). */
  admittedAt?: number;
  /** Demographics for PID on messages whose event does not carry them (not A08: A08 maps PID-5 back). */
  initials?: string;
  ageBand?: string;
  gender?: string;
  ethnicity?: string;
}

export interface EncodeOptions {
  /** MSH-12. Default '2.4' (the version most NHS PAS feeds still send). */
  version?: '2.4' | '2.5' | '2.5.1';
  /** MSH-3; default the event's sourceSystem, else 'PAS'. */
  sendingApplication?: string;
  /** MSH-4; default the event's site. */
  sendingFacility?: string;
  /** MSH-5 / MSH-6; default 'PFM' / the event's site. */
  receivingApplication?: string;
  receivingFacility?: string;
  /** PV1-3.4 facility (an ODS site code such as RXT01), by ward; default the event's site. */
  facilityFor?: (site: string, ward: string | undefined) => string;
  /** MSH-7 and EVN-2 (when the clerk recorded it / the message was built); default occurredAt. */
  recordedAt?: number;
  /** Zone local times are written in (always with their offset). Default Europe/London. */
  timeZone?: string;
  context?: AdtContext;
}

/** Field separators used by the encoder (the HL7 defaults). */
const D = DEFAULT_DELIMITERS;
const ENCODING_CHARACTERS = D.component + D.repetition + D.escape + D.subcomponent;

/** An HL7 DTM with its offset; milliseconds kept when there are any, so times round-trip exactly. */
export function formatDtmMs(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): string {
  const s = formatDtm(epochMs, timeZone);
  const ms = ((epochMs % 1000) + 1000) % 1000;
  return ms === 0 ? s : `${s.slice(0, 14)}.${String(ms).padStart(3, '0')}${s.slice(14)}`;
}

/** One segment from numbered fields (values already escaped); trailing empty fields are left out. */
function segment(name: string, fields: Record<number, string | undefined>): string {
  const max = Math.max(0, ...Object.entries(fields).filter(([, v]) => v !== undefined && v !== '').map(([k]) => Number(k)));
  const out = [name];
  const from = name === 'MSH' ? 3 : 1;
  if (name === 'MSH') out.push(ENCODING_CHARACTERS);
  for (let i = from; i <= max; i++) out.push(fields[i] ?? '');
  return out.join(D.field);
}

const esc = (v: string | undefined): string => (v === undefined ? '' : escapeHl7(v, D));
const comps = (...parts: (string | undefined)[]): string => parts.map(esc).join(D.component).replace(/\^+$/, '');

/** FNV-1a, for deterministic synthetic names and birth dates. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const SYLLABLES = ['ar', 'en', 'ol', 'is', 'um', 'et', 'an', 'or', 'il', 'ay', 'ew', 'ick', 'ton', 'ley', 'well', 'by', 'ford', 'ridge'];

/** An invented name part beginning with `initial`, e.g. "Q" -> "Quarton". Synthetic data only. */
function namePart(initial: string, seed: number, family: boolean): string {
  const a = SYLLABLES[seed % SYLLABLES.length]!;
  const b = SYLLABLES[(seed >>> 8) % SYLLABLES.length]!;
  const word = `${initial}${a}${family ? b : ''}`;
  return family ? word.toUpperCase() : word.charAt(0) + word.slice(1);
}

/** PID-5 (family^given^middle) whose initials (given, middles, family) are `initials`. */
function nameFor(initials: string, seed: number): string {
  const letters = initials.split('');
  // One letter: a given name only (initialsOf reads given, middles, then family).
  const family = letters.length > 1 ? namePart(letters.pop()!, seed, true) : undefined;
  const [given = 'X', ...middles] = letters;
  const middle = middles.map((m, i) => namePart(m, seed >>> (i + 3), false)).join(' ');
  return comps(family, namePart(given, seed >>> 5, false), middle || undefined, undefined, undefined, undefined, 'L');
}

const BAND_AGE: Record<AgeBand, number> = { '0-17': 15, '18-24': 21, '25-34': 30, '35-44': 40, '45-54': 50, '55-64': 60, '65-74': 70, '75-84': 80, '85+': 88 };

/** A birth date (YYYYMMDD) that puts the patient in `band` on the local date of `at`. */
function birthDateFor(band: AgeBand, at: number, seed: number, timeZone: string): string {
  const age = BAND_AGE[band];
  const today = localDate(at, timeZone);
  const month = 1 + (seed % 12);
  const day = 1 + ((seed >>> 4) % 28);
  const notYet = month > today.month || (month === today.month && day > today.day);
  const year = today.year - age - (notYet ? 1 : 0);
  return `${String(year).padStart(4, '0')}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
}

const isBand = (v: string | undefined): v is AgeBand => (AGE_BANDS as readonly string[]).includes(v ?? '');

function triggerOf(e: AdtEvent): { trigger: string; structure: string } {
  if (e.type === 'leave.cancelled') return LEAVE_CANCEL[(e.payload as { which: 'start' | 'end' }).which];
  return ADT_TRIGGERS[e.type];
}

interface Demographics { initials?: string; ageBand?: string; gender?: string; ethnicity?: string }

/**
 * Builds the ADT message for an ADT-type canonical event. Segments end with CR (no MLLP
 * framing). MSH-10 is the eventId, so a re-sent message dedupes to the same event.
 * Throws on an event type that has no ADT trigger (send those over HTTP).
 */
export function encodeAdt(event: FlowEventInput, opts: EncodeOptions = {}): string {
  if (!isAdtEvent(event)) throw new Error(`${event.type} has no ADT trigger; send it as JSON or FHIR`);
  if (!event.eventId) throw new Error('encodeAdt needs an eventId (it becomes MSH-10)');
  const e = event as AdtEvent;
  const tz = opts.timeZone ?? DEFAULT_TIME_ZONE;
  const ctx = opts.context ?? {};
  const version = opts.version ?? '2.4';
  const { trigger, structure } = triggerOf(e);
  const recorded = formatDtmMs(opts.recordedAt ?? e.occurredAt, tz);
  const occurred = formatDtmMs(e.occurredAt, tz);
  const seed = hash(e.patientId);
  const p = e.payload as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof p[k] === 'string' ? (p[k] as string) : undefined);

  const msh = segment('MSH', {
    3: esc(opts.sendingApplication ?? e.sourceSystem ?? 'PAS'), 4: esc(opts.sendingFacility ?? e.site),
    5: esc(opts.receivingApplication ?? 'PFM'), 6: esc(opts.receivingFacility ?? e.site), 7: recorded,
    9: comps('ADT', trigger, structure), 10: esc(e.eventId), 11: 'P', 12: version, 15: 'AL', 16: 'NE', 17: 'GBR', 18: 'UNICODE UTF-8', 19: 'EN',
  });
  // EVN-1 (event type) is kept for v2.4 receivers; it is withdrawn from v2.5 on.
  const evn = segment('EVN', { 1: version === '2.4' ? trigger : undefined, 2: recorded, 6: occurred });

  // PID: demographics from the event itself on A01/A08 (they map back), else from context.
  const own = e.type === 'patient.admitted' || e.type === 'patient.updated';
  const demo: Demographics = own ? { initials: str('initials'), ageBand: str('ageBand'), gender: str('gender'), ethnicity: str('ethnicity') } : ctx;
  const ids = [comps(e.patientId, undefined, undefined, e.site, 'PI')];
  if (e.nhsNumber) ids.unshift(comps(e.nhsNumber, undefined, undefined, 'NHS', 'NH'));
  const pid = segment('PID', {
    1: '1', 3: ids.join(D.repetition),
    5: demo.initials ? nameFor(demo.initials, seed) : undefined,
    7: isBand(demo.ageBand) ? birthDateFor(demo.ageBand, e.occurredAt, seed, tz) : undefined,
    8: esc(demo.gender), 22: esc(demo.ethnicity),
  });

  // PV1-3 point of care^room^bed^facility: the event's ward, else where the patient is.
  const ward = str('ward') ?? ctx.ward;
  const bed = str('ward') !== undefined ? str('bed') : ctx.bed;
  const facility = opts.facilityFor ? opts.facilityFor(e.site, ward) : e.site;
  const admittedAt = e.type === 'patient.admitted' ? e.occurredAt : ctx.admittedAt;
  const pv1 = segment('PV1', {
    1: '1', 2: 'I', 3: comps(ward, undefined, bed, facility),
    4: esc(str('admissionMethod')), 14: esc(str('admissionSource')), 19: esc(str('spellId')),
    36: esc(str('dischargeMethod')), 37: esc(str('destination')),
    44: admittedAt !== undefined ? formatDtmMs(admittedAt, tz) : undefined,
    45: e.type === 'patient.discharged' ? occurred : undefined,
  });

  const edd = typeof p.expectedDischargeAt === 'number' ? formatDtmMs(p.expectedDischargeAt, tz) : undefined;
  const ret = typeof p.expectedReturnAt === 'number' ? formatDtmMs(p.expectedReturnAt, tz) : undefined;
  const pv2 = edd || ret ? segment('PV2', { 9: edd, 47: ret }) : undefined;

  const z = ZMH_FIELDS;
  const oap = typeof p.outOfArea === 'boolean' ? (p.outOfArea ? 'Y' : 'N') : undefined;
  const km = typeof p.distanceFromHomeKm === 'number' ? String(p.distanceFromHomeKm) : undefined;
  const zmhFields: Record<number, string | undefined> = {
    [z.legalStatus]: esc(str('legalStatus')), [z.outOfArea]: oap, [z.oapReason]: esc(str('oapReason')), [z.distanceFromHomeKm]: km,
    [z.area]: esc(str('area')), [z.referralId]: esc(str('referralId')), [z.leaveType]: esc(str('leaveType')),
  };
  const zmh = Object.values(zmhFields).some((v) => v) ? segment('ZMH', zmhFields) : undefined;

  return [msh, evn, pid, pv1, pv2, zmh].filter((s): s is string => s !== undefined).map((s) => `${s}\r`).join('');
}
