// FHIR R4 endpoints: POST /fhir/r4/Encounter, POST /fhir/r4/ServiceRequest, and
// POST /fhir/r4 with a Bundle (batch, transaction or collection) of those (plus Patient
// entries, used only to identify the subjects of the others).
//
//   202 + OperationOutcome (information)   accepted: every event is in Kafka
//   200 + Bundle batch-/transaction-response  a Bundle was processed (batch: per entry)
//   400 + OperationOutcome   not JSON / nested too deep / not the resource the URL names
//   422 + OperationOutcome   content wrong; issue[].expression is the FHIRPath at fault;
//                            OperationOutcome.id is the rejectId (GET /v1/rejects/:id)
//   413 body or Bundle too large   503 + Retry-After  Kafka unavailable, nothing accepted
//
// Bundle semantics: transaction is all or nothing (one bad entry -> 422 for the whole
// Bundle, one reject record holding the whole Bundle); batch and collection take each
// entry on its own (bad entries get 422 in their response entry and a reject record each).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Channel, FlowEvent, FlowEventInput } from '@pfm/contracts';
import { mapBundle, mapResource, operationOutcome, type FhirContext, type FhirIssue, type FhirIssueCode, type OperationOutcome } from './fhir';
import { requireScope, senderOf } from './http';
import { canonicalise, jsonDepthExceeds, jsonSyntaxError } from './normalise';
import type { EventSink } from './publisher';
import type { Logger } from '@pfm/observability';

export interface FhirRouteDeps {
  publisher: EventSink;
  logger: Logger;
  maxBatch: number;
  maxJsonDepth: number;
  /** The mapping context for one request (site resolution, "now"). */
  context: (sourceSystem: string) => FhirContext;
}

const channel: Channel = 'fhir';
const reasonOf = (issues: readonly FhirIssue[]): string => issues.map((i) => `${i.expression}: ${i.message}`).join('; ');
/** The metric's kind of fault: the first issue's code (FHIR's own bounded value set). */
const fhirClass = (issues: readonly FhirIssue[]): string => `fhir_${issues[0]?.code ?? 'invalid'}`;
const errorsOf = (issues: readonly FhirIssue[]) => issues.map((i) => ({ path: i.expression, message: i.message }));
const outcome = (issues: readonly FhirIssue[], id?: string): OperationOutcome => ({ ...operationOutcome(issues), ...(id ? { id } : {}) });
const info = (message: string, code: FhirIssueCode = 'informational'): FhirIssue => ({ expression: '', code, message, severity: 'information' });

/**
 * What a reject record keeps of one bad batch entry: the resource itself, or, when the
 * Bundle carries Patient entries (which the resource may point at by fullUrl), a
 * transaction Bundle of those Patients and the entry, so a re-drive can resolve its subject.
 */
export function entryRaw(bundle: unknown, index: number): string {
  const entries = ((bundle as { entry?: unknown[] }).entry ?? []) as { resource?: { resourceType?: unknown } }[];
  const own = entries[index];
  const patients = entries.filter((e) => e?.resource?.resourceType === 'Patient');
  if (!patients.length) return JSON.stringify(own?.resource ?? null);
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [...patients, own] });
}

export function registerFhirRoutes(app: FastifyInstance, d: FhirRouteDeps): void {
  const reply400 = async (reply: FastifyReply, raw: string, sourceSystem: string, issue: FhirIssue) => {
    const r = await d.publisher.reject({ channel, sourceSystem, reason: issue.message, errors: errorsOf([issue]), raw, rawEncoding: 'utf8', reasonClass: `fhir_${issue.code}` });
    return reply.code(400).type('application/fhir+json').send(outcome([issue], r.rejectId));
  };

  /** Parses the body; answers 400 itself (and returns undefined) when it cannot. */
  const body = async (req: FastifyRequest, reply: FastifyReply): Promise<{ raw: string; value: unknown; sourceSystem: string } | undefined> => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const sourceSystem = senderOf(req).sourceSystem;
    if (jsonDepthExceeds(raw, d.maxJsonDepth)) {
      await reply400(reply, raw, sourceSystem, { expression: '', code: 'too-costly', message: `JSON nested deeper than ${d.maxJsonDepth} levels` });
      return undefined;
    }
    try {
      return { raw, value: JSON.parse(raw) as unknown, sourceSystem };
    } catch {
      await reply400(reply, raw, sourceSystem, { expression: '', code: 'structure', message: jsonSyntaxError(raw) });
      return undefined;
    }
  };

  const toEvents = (events: FlowEventInput[], sourceSystem: string, now: number): FlowEvent[] => events.map((e) => canonicalise(e, channel, sourceSystem, now));

  for (const expect of ['Encounter', 'ServiceRequest'] as const) {
    app.post(`/fhir/r4/${expect}`, async (req, reply) => {
      const b = await body(req, reply);
      if (!b) return reply;
      const ctx = d.context(b.sourceSystem);
      const m = mapResource(b.value, ctx, undefined, expect);
      if (!m.ok) {
        const wrongType = m.issues.length === 1 && m.issues[0]!.expression === 'resourceType';
        const r = await d.publisher.reject({ channel, sourceSystem: b.sourceSystem, reason: reasonOf(m.issues), errors: errorsOf(m.issues), raw: b.raw, rawEncoding: 'utf8', reasonClass: fhirClass(m.issues) });
        return reply.code(wrongType ? 400 : 422).type('application/fhir+json').send(outcome(m.issues, r.rejectId));
      }
      const events = toEvents(m.events, b.sourceSystem, ctx.now);
      requireScope(senderOf(req), events, d.logger);
      await d.publisher.publish(events);
      return reply.code(202).type('application/fhir+json').send(outcome([info(`accepted as ${events.length} flow event(s): ${events.map((e) => e.eventId).join(', ')}`), ...m.warnings]));
    });
  }

  app.post('/fhir/r4', async (req, reply) => {
    const b = await body(req, reply);
    if (!b) return reply;
    const ctx = d.context(b.sourceSystem);
    const bundle = mapBundle(b.value, ctx, d.maxBatch);
    if (!bundle.ok) {
      const tooBig = bundle.issues.some((i) => i.code === 'too-costly');
      if (tooBig) return reply.code(413).type('application/fhir+json').send(outcome(bundle.issues));
      const r = await d.publisher.reject({ channel, sourceSystem: b.sourceSystem, reason: reasonOf(bundle.issues), errors: errorsOf(bundle.issues), raw: b.raw, rawEncoding: 'utf8', reasonClass: fhirClass(bundle.issues) });
      return reply.code(422).type('application/fhir+json').send(outcome(bundle.issues, r.rejectId));
    }
    const responseType = bundle.type === 'transaction' ? 'transaction-response' : 'batch-response';
    const patientEntry = { response: { status: '200 OK', outcome: outcome([info('used to identify the subject of other entries; no flow event of its own')]) } };

    if (bundle.type === 'transaction') {
      const issues = bundle.entries.flatMap((e) => (e.kind === 'mapped' && !e.result.ok ? e.result.issues : []));
      if (issues.length) {
        const r = await d.publisher.reject({ channel, sourceSystem: b.sourceSystem, reason: reasonOf(issues), errors: errorsOf(issues), raw: b.raw, rawEncoding: 'utf8', reasonClass: fhirClass(issues) });
        return reply.code(422).type('application/fhir+json').send(outcome([...issues, info('transaction: nothing was accepted')], r.rejectId));
      }
      const all = bundle.entries.map((e) => (e.kind === 'mapped' && e.result.ok ? toEvents(e.result.events, b.sourceSystem, ctx.now) : []));
      requireScope(senderOf(req), all.flat(), d.logger);
      await d.publisher.publish(all.flat());
      return reply.code(200).type('application/fhir+json').send({
        resourceType: 'Bundle', type: responseType,
        entry: bundle.entries.map((e, i) => (e.kind === 'patient' ? patientEntry : { response: { status: '202 Accepted', outcome: outcome([info(`accepted as ${all[i]!.map((x) => x.eventId).join(', ')}`)]) } })),
      });
    }

    // batch / collection: bad entries kept one by one, then the good ones published together
    // (so a failure of either is a 503 with nothing accepted, and a retry repeats the same
    // event and reject ids).
    const good = bundle.entries.map((e) => (e.kind === 'mapped' && e.result.ok ? toEvents(e.result.events, b.sourceSystem, ctx.now) : []));
    requireScope(senderOf(req), good.flat(), d.logger);
    const refusedIds = new Map<number, string>();
    for (const e of bundle.entries) {
      if (e.kind !== 'mapped' || e.result.ok) continue;
      const issues = e.result.issues;
      const r = await d.publisher.reject({ channel, sourceSystem: b.sourceSystem, reason: reasonOf(issues), errors: errorsOf(issues), raw: entryRaw(b.value, e.index), rawEncoding: 'utf8', reasonClass: fhirClass(issues) });
      refusedIds.set(e.index, r.rejectId);
    }
    await d.publisher.publish(good.flat());
    const entry = bundle.entries.map((e) => {
      if (e.kind === 'patient') return patientEntry;
      if (e.result.ok) return { response: { status: '202 Accepted', outcome: outcome([info(`accepted as ${good[e.index]!.map((x) => x.eventId).join(', ')}`), ...e.result.warnings]) } };
      return { response: { status: '422 Unprocessable Entity', outcome: outcome(e.result.issues, refusedIds.get(e.index)) } };
    });
    return reply.code(200).type('application/fhir+json').send({ resourceType: 'Bundle', type: responseType, entry });
  });
}
