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
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v;
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

export function fromAvro(o: AvroObj): FlowEvent {
  const { payload, ...env } = o;
  const wrapped = payload as AvroObj;
  const [branch, inner] = Object.entries(wrapped)[0] ?? [];
  const recName = (branch ?? '').split('.').pop() ?? '';
  const type = recordNameToType.get(recName);
  if (!type || !inner) throw new Error(`unknown payload branch ${String(branch)}`);
  return { ...withoutNulls(env), type, payload: withoutNulls(inner as AvroObj) } as FlowEvent;
}
