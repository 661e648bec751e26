// Avro form of the canonical events for pfm.flow-events.v1 (Confluent wire format via
// the schema registry). Generated from the same field definitions as the zod schemas.
// Unions of records are "wrapped" on the wire ({ RecordName: {...} }); optional fields
// are ["null", T] with default null. toAvro/fromAvro convert between the two forms.
import { envelope, FLOW_EVENT_TYPES, payloads, type FlowEvent, type FlowEventType } from './events';
import type { AvroSchema } from './fields';

export const AVRO_NAMESPACE = 'pfm.flow.v1';

const recordNameToType = new Map<string, FlowEventType>(FLOW_EVENT_TYPES.map((t) => [payloads[t].name, t]));

export const flowEventAvroSchema = {
  type: 'record',
  name: 'FlowEvent',
  namespace: AVRO_NAMESPACE,
  doc: 'Canonical patient-flow event (Patient Flow Monitor). Key: site/patientId.',
  fields: [
    ...Object.entries(envelope).map(([name, fld]) => (fld.optional ? { name, type: fld.avro, default: null } : { name, type: fld.avro })),
    { name: 'type', type: 'string' },
    { name: 'payload', type: FLOW_EVENT_TYPES.map((t) => payloads[t].avro) as AvroSchema[] },
  ],
} as const;

type AvroObj = Record<string, unknown>;

function undefinedToNull(o: object): AvroObj {
  const out: AvroObj = {};
  for (const [k, v] of Object.entries(o)) out[k] = v === undefined ? null : v;
  return out;
}

function withoutNulls(o: AvroObj): AvroObj {
  const out: AvroObj = {};
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

export function toAvro(e: FlowEvent): AvroObj {
  const { payload, ...env } = e;
  const rec = payloads[e.type];
  const full: AvroObj = {};
  for (const name of Object.keys(rec.shape)) full[name] = (payload as AvroObj)[name] ?? null;
  const envOut = undefinedToNull(env);
  for (const name of Object.keys(envelope)) if (!(name in envOut)) envOut[name] = null;
  return { ...envOut, payload: { [`${AVRO_NAMESPACE}.${rec.name}`]: full } };
}

/** The payload branch's type by its full name ("pfm.flow.v1.PatientAdmitted"), as the wire names it. */
const branchToType = new Map<string, FlowEventType>();

export function fromAvro(o: AvroObj): FlowEvent {
  const wrapped = o.payload as AvroObj | null | undefined;
  let branch: string | undefined;
  if (wrapped) for (const k in wrapped) if (Object.hasOwn(wrapped, k)) { branch = k; break; }
  const inner = branch === undefined ? undefined : wrapped![branch];
  let type = branch === undefined ? undefined : branchToType.get(branch);
  if (type === undefined && branch !== undefined) {
    type = recordNameToType.get(branch.split('.').pop() ?? '');
    if (type) branchToType.set(branch, type);
  }
  if (!type || !inner) throw new Error(`unknown payload branch ${String(branch)}`);
  // One pass, no intermediate copies; keys in the order of the record (type where the wire has it, payload last).
  const out: AvroObj = {};
  for (const k in o) {
    if (k === 'payload' || !Object.hasOwn(o, k)) continue;
    const v = o[k];
    if (k === 'type') out.type = type;
    else if (v !== null && v !== undefined) out[k] = v;
  }
  out.type = type;
  out.payload = withoutNulls(inner as AvroObj);
  return out as FlowEvent;
}
