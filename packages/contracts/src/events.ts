// The canonical flow events: what every input (HL7 v2, FHIR, JSON, simulator, UI)
// is mapped to, and what travels pfm.flow-events.v1 (Avro, key = patient).
// Version: FLOW_EVENT_SCHEMA_VERSION; add optional fields only, never repurpose one.
import { z } from 'zod';
import { f, plainRecord, record, type Infer, type RecordDef, type Shape } from './fields';
import { normaliseNhsNumber } from './nhs-number';
import { CRFD_CODE_PATTERN } from './crfd-reasons';

export const FLOW_EVENT_SCHEMA_VERSION = 1;

export const URGENCIES = ['emergency', 'very_urgent', 'urgent', 'routine'] as const;
export const TEAM_TYPES = ['crisis', 'liaison', 'home_treatment', 'community', 'other'] as const;
export const CHANNELS = ['hl7v2', 'fhir', 'json', 'simulator', 'ui', 'redrive'] as const;
export type Channel = (typeof CHANNELS)[number];

const id = () => f.string({ max: 64 });
const code = () => f.string({ max: 32 });
const opt = f.optional;
/**
 * MHSDS v6 MHS518 delay reason: 01-37 or 98; an older v5 code (a letter and one or two
 * digits, e.g. A2, G10) from history is kept as sent, never refused (no 1:1 v5 -> v6
 * mapping is assumed). Wording and groups: crfd-reasons.ts.
 */
const crfdReason = () => f.string({ pattern: CRFD_CODE_PATTERN });

/** Payload shapes, one per event type. */
export const payloads = {
  'referral.received': record('ReferralReceived', {
    referralId: id(), team: code(), teamType: f.oneOf(TEAM_TYPES), urgency: f.oneOf(URGENCIES),
    referralSource: opt(code()), area: opt(code()),
  }),
  'referral.assessed': record('ReferralAssessed', { referralId: id() }),
  'referral.accepted': record('ReferralAccepted', { referralId: id() }),
  'referral.closed': record('ReferralClosed', { referralId: id(), reason: opt(f.string({ max: 200 })) }),
  /**
   * `spellId`: the visit the decision belongs to when the sender has one (A04/A05 PV1-19, a
   * planned FHIR Encounter's identifier), so a cancel (A11/A38) or the end of that visit
   * (A03) takes the patient out of the queue for a bed. `admissionMethod`: the admission
   * type or method the sender gave (PV1-4), which tells a planned admission from an emergency one.
   */
  'admission.decided': record('AdmissionDecided', { referralId: opt(id()), ward: opt(code()), gender: opt(code()), spellId: opt(id()), admissionMethod: opt(code()) }),
  'patient.admitted': record('PatientAdmitted', {
    spellId: id(), ward: code(), bed: opt(code()),
    admissionMethod: opt(code()), admissionSource: opt(code()), legalStatus: opt(code()),
    outOfArea: opt(f.bool()), oapReason: opt(f.string({ max: 120 })), distanceFromHomeKm: opt(f.number({ min: 0, max: 2000 })),
    initials: opt(f.string({ max: 4, pattern: /^[A-Z]{1,4}$/ })), ageBand: opt(code()), gender: opt(code()), ethnicity: opt(code()), area: opt(code()),
    expectedDischargeAt: opt(f.instant()), referralId: opt(id()),
  }),
  /** A transfer ends an out-of-area placement unless outOfArea says the new ward is out of area too. */
  'patient.transferred': record('PatientTransferred', { spellId: id(), ward: code(), bed: opt(code()), outOfArea: opt(f.bool()), oapReason: opt(f.string({ max: 120 })) }),
  'leave.started': record('LeaveStarted', { spellId: id(), leaveType: opt(code()), expectedReturnAt: opt(f.instant()) }),
  'leave.ended': record('LeaveEnded', { spellId: id() }),
  'crfd.started': record('CrfdStarted', { spellId: id(), reasonCode: crfdReason() }),
  'crfd.ended': record('CrfdEnded', { spellId: id() }),
  'edd.set': record('EddSet', { spellId: id(), expectedDischargeAt: f.instant() }),
  'patient.discharged': record('PatientDischarged', { spellId: id(), dischargeMethod: opt(code()), destination: opt(code()) }),
  'followup.made': record('FollowUpMade', { spellId: id() }),
  'bed.opened': record('BedOpened', { ward: code(), bed: code() }),
  'bed.closed': record('BedClosed', { ward: code(), bed: code(), reason: opt(f.string({ max: 120 })) }),
  'alert.acknowledged': record('AlertAcknowledged', { alertId: f.string({ max: 200 }), by: f.string({ max: 80 }), note: opt(f.string({ max: 500 })) }),
  'patient.updated': record('PatientUpdated', {
    spellId: opt(id()), legalStatus: opt(code()), initials: opt(f.string({ max: 4, pattern: /^[A-Z]{1,4}$/ })), expectedDischargeAt: opt(f.instant()),
  }),
  'patient.merged': record('PatientMerged', { mergedPatientId: id() }),
  'admission.cancelled': record('AdmissionCancelled', { spellId: id() }),
  'transfer.cancelled': record('TransferCancelled', { spellId: id() }),
  /** A13: `ward` / `bed` = where the patient is after the cancellation (PV1-3), when the sender says. */
  'discharge.cancelled': record('DischargeCancelled', { spellId: id(), ward: opt(code()), bed: opt(code()) }),
  'leave.cancelled': record('LeaveCancelled', { spellId: id(), which: f.oneOf(['start', 'end'] as const) }),
  'message.unmapped': record('MessageUnmapped', { trigger: code(), detail: opt(f.string({ max: 500 })) }),
  /** Written by the engine's scanner into the patient's partition when a parked event's wait is over. */
  'park.expired': record('ParkExpired', { parkedEventId: f.string({ max: 120 }) }),
  // New types go last: the Avro payload union is read by branch index.
  /**
   * A change made to improve care (the improvement loop), written by the insights API with
   * the author from a verified token. patientId is "improvement:<noteId>"; it moves no live
   * state (the engine records its offset only) and the warehouse keeps it as a note.
   */
  'improvement.noted': record('ImprovementNoted', {
    noteId: f.string({ max: 64, pattern: /^[A-Za-z0-9_-]+$/ }), title: f.string({ max: 200 }),
    ward: opt(code()), team: opt(code()),
    effectiveDate: f.string({ pattern: /^\d{4}-\d{2}-\d{2}$/ }), author: f.string({ max: 120 }),
    measures: f.stringList({ max: 80, maxItems: 20 }), expectedDirection: f.oneOf(['up', 'down'] as const),
  }),
  /**
   * A named person takes ownership of an alert (or is given it): written by board-gateway
   * with `by` from a verified token. A later one hands it over; the patientId is the
   * alert's, as for an acknowledgement.
   */
  'alert.owned': record('AlertOwned', { alertId: f.string({ max: 200 }), owner: f.string({ max: 80 }), by: f.string({ max: 80 }) }),
} as const satisfies Record<string, RecordDef<Shape>>;

export type FlowEventType = keyof typeof payloads;
export const FLOW_EVENT_TYPES = Object.keys(payloads) as FlowEventType[];
export type PayloadOf<T extends FlowEventType> = (typeof payloads)[T] extends RecordDef<infer S> ? Infer<S> : never;

/** Envelope fields every event carries. */
export const envelope = {
  eventId: f.string({ max: 120 }),
  occurredAt: f.instant(),
  recordedAt: f.instant(),
  site: f.string({ max: 16, pattern: /^[A-Za-z0-9_-]+$/ }),
  patientId: f.string({ max: 64 }),
  nhsNumber: f.optional(f.string({ pattern: /^\d{10}$/ })),
  sourceSystem: f.string({ max: 64 }),
  channel: f.oneOf(CHANNELS),
};
type Envelope = Infer<typeof envelope>;

export type FlowEventOf<T extends FlowEventType> = Envelope & { type: T; payload: PayloadOf<T> };
export type FlowEvent = { [T in FlowEventType]: FlowEventOf<T> }[FlowEventType];

const nhsNumberInput = z
  .string()
  .transform((s, ctx) => {
    const n = normaliseNhsNumber(s);
    if (!n) ctx.addIssue({ code: 'custom', message: 'NHS number fails the Modulus 11 check (10 digits, 3-3-4)' });
    return n ?? s;
  });

function envelopeZod(defaults: boolean) {
  return {
    eventId: defaults ? envelope.eventId.zod.optional() : envelope.eventId.zod,
    occurredAt: envelope.occurredAt.zod,
    recordedAt: defaults ? envelope.recordedAt.zod.optional() : envelope.recordedAt.zod,
    site: envelope.site.zod,
    patientId: envelope.patientId.zod,
    nhsNumber: nhsNumberInput.optional(),
    sourceSystem: defaults ? envelope.sourceSystem.zod.optional() : envelope.sourceSystem.zod,
    channel: defaults ? envelope.channel.zod.optional() : envelope.channel.zod,
  };
}

function unionOf(defaults: boolean) {
  const members = FLOW_EVENT_TYPES.map((t) =>
    z.strictObject({ ...envelopeZod(defaults), type: z.literal(t), payload: payloads[t].zod }),
  );
  return z.discriminatedUnion('type', members as unknown as [z.ZodObject, ...z.ZodObject[]]);
}

/** A complete canonical event (what is on the topic). */
export const flowEventSchema = unionOf(false) as unknown as z.ZodType<FlowEvent, unknown>;

const envelopeKeys = new Set([...Object.keys(envelope), 'type', 'payload']);
/** The envelope as `flowEventSchema` checks it: the NHS number must pass Modulus 11 (zod normalises a spaced one). */
const envelopePlain: Shape = {
  ...envelope,
  nhsNumber: { ...envelope.nhsNumber, plain: (v) => v === undefined || (typeof v === 'string' && normaliseNhsNumber(v) === v) },
};

/**
 * True only for an event `flowEventSchema` accepts as it is (no field it would
 * transform): a quick check with no allocation for the engine's hot path. False means
 * "ask flowEventSchema", which decides (it may still accept, e.g. a padded NHS number)
 * and says why. Never looser than the schema: contracts.test.ts compares the two on
 * random and mutated events.
 */
export function isPlainFlowEvent(e: unknown): e is FlowEvent {
  if (typeof e !== 'object' || e === null) return false;
  const type = (e as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(payloads, type)) return false;
  return plainRecord(e, envelopePlain, envelopeKeys) && payloads[type as FlowEventType].plain((e as { payload?: unknown }).payload);
}

/** What a client may POST: eventId, recordedAt, sourceSystem and channel are filled in by ingest when absent. */
export type FlowEventInput = Omit<FlowEvent, 'eventId' | 'recordedAt' | 'sourceSystem' | 'channel'> &
  Partial<Pick<FlowEvent, 'eventId' | 'recordedAt' | 'sourceSystem' | 'channel'>>;
export const flowEventInputSchema = unionOf(true) as unknown as z.ZodType<FlowEventInput, unknown>;

/** Kafka key: every event about one patient on one partition; ward-level events by ward. */
/** patientId of an improvement note: notes travel the log beside the patients, one key each. */
export const improvementPatientId = (noteId: string): string => `improvement:${noteId}`;

export function partitionKey(e: Pick<FlowEvent, 'site' | 'patientId'>): string {
  return `${e.site}/${e.patientId}`;
}

