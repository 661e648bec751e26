// Referrals as an EPR sends them: FHIR R4 ServiceRequest (referral.received -> status
// active; referral.closed -> completed), grouped in a batch Bundle. What ingest reads
// back (services/ingest/src/fhir.ts): identifier (the referral id), status, priority ->
// urgency, subject (Patient/<local id> + NHS number identifier), authoredOn, performer
// (CareTeam/<team> and the trust's Organization by ODS code), performerType (team type),
// meta.lastUpdated (when closed). The referral source and catchment area have no home in
// ingest's ServiceRequest mapping and are not sent.
import type { FlowEventInput, FlowEventOf } from '@pfm/contracts';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_ORGANIZATION_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

const PRIORITY = { emergency: 'stat', very_urgent: 'asap', urgent: 'urgent', routine: 'routine' } as const;

export type ReferralEvent = FlowEventOf<'referral.received'> | FlowEventOf<'referral.closed'>;

export function isFhirReferral(e: FlowEventInput): boolean {
  return e.type === 'referral.received' || e.type === 'referral.closed';
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The ServiceRequest resource for a referral event. */
export function serviceRequestOf(e: FlowEventInput): Record<string, unknown> {
  if (!isFhirReferral(e)) throw new Error(`${e.type} is not sent as a ServiceRequest`);
  const subject = {
    reference: `Patient/${e.patientId}`,
    ...(e.nhsNumber ? { identifier: { system: NHS_NUMBER_SYSTEM, value: e.nhsNumber } } : {}),
  };
  const organisation = { type: 'Organization', identifier: { system: ODS_ORGANIZATION_SYSTEM, value: e.site } };
  const common = { resourceType: 'ServiceRequest', intent: 'order', subject };
  if (e.type === 'referral.received') {
    const p = (e as FlowEventOf<'referral.received'>).payload;
    return {
      ...common,
      identifier: [{ use: 'official', value: p.referralId }],
      status: 'active',
      priority: PRIORITY[p.urgency],
      authoredOn: iso(e.occurredAt),
      performerType: { coding: [{ code: p.teamType }], text: p.teamType.replace('_', ' ') },
      performer: [{ reference: `CareTeam/${p.team}`, identifier: { value: p.team } }, organisation],
    };
  }
  const p = (e as FlowEventOf<'referral.closed'>).payload;
  return {
    ...common,
    identifier: [{ use: 'official', value: p.referralId }],
    status: 'completed',
    meta: { lastUpdated: iso(e.occurredAt) },
    performer: [organisation],
    ...(p.reason ? { note: [{ text: p.reason }] } : {}),
  };
}

/** A batch Bundle of ServiceRequests (each entry stands alone: a bad one does not stop the rest). */
export function bundleOf(events: FlowEventInput[]): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'batch', entry: events.map((e) => ({ resource: serviceRequestOf(e), request: { method: 'POST', url: 'ServiceRequest' } })) };
}
