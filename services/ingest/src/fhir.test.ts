import { mapBundle, mapEncounter, mapResource, mapServiceRequest, operationOutcome, teamTypeOf, type FhirContext, type FhirMapResult } from './fhir';

const ctx: FhirContext = { defaultSite: 'RXT', sourceSystem: 'epr', now: Date.parse('2026-11-20T12:00:00Z'), siteForFacility: (f) => (f.startsWith('RXT') ? 'RXT' : undefined) };
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

const encounter = (over: Record<string, unknown> = {}) => ({
  resourceType: 'Encounter',
  id: 'enc-1',
  identifier: [{ system: 'https://trust.example/spell', value: 'SP1', use: 'official' }],
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: 'Patient/RXT1000001', identifier: { system: NHS, value: '943 476 5919' } },
  period: { start: '2026-11-01T09:15:00Z' },
  location: [{ location: { identifier: { value: 'OAK' } }, period: { start: '2026-11-01T09:15:00Z' } }],
  serviceProvider: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'RXT01' } },
  ...over,
});

const serviceRequest = (over: Record<string, unknown> = {}) => ({
  resourceType: 'ServiceRequest',
  identifier: [{ value: 'REF-9' }],
  status: 'active',
  intent: 'order',
  priority: 'asap',
  subject: { identifier: { system: NHS, value: '9434765919' } },
  authoredOn: '2026-11-02T08:00:00+00:00',
  performerType: { text: 'Crisis resolution and home treatment team' },
  performer: [{ reference: 'CareTeam/CRHT-N' }],
  ...over,
});

const ok = (r: FhirMapResult) => {
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r;
};
const exprs = (r: FhirMapResult) => (r.ok ? [] : r.issues.map((i) => i.expression));

describe('Encounter', () => {
  it('in-progress -> patient.admitted at period.start, on the first ward, with patient ids', () => {
    const r = ok(mapEncounter(encounter(), ctx));
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      type: 'patient.admitted', site: 'RXT', patientId: 'RXT1000001', nhsNumber: '9434765919', channel: 'fhir', sourceSystem: 'epr',
      occurredAt: Date.parse('2026-11-01T09:15:00Z'), payload: { spellId: 'SP1', ward: 'OAK' },
    });
    expect(r.events[0]!.eventId).toMatch(/^fhir-enc-[A-Za-z0-9_-]{16}-adm$/);
  });

  it('location[] with periods -> one transfer per later ward; beds attach to their ward; planned locations are ignored', () => {
    const r = ok(mapEncounter(encounter({
      location: [
        { location: { reference: 'Location/ELM' }, period: { start: '2026-11-03T14:00:00Z' } },
        { location: { identifier: { value: 'OAK' } }, period: { start: '2026-11-01T09:15:00Z', end: '2026-11-03T14:00:00Z' } },
        { location: { identifier: { value: 'B3' } }, physicalType: { coding: [{ code: 'bd' }] }, period: { start: '2026-11-03T14:05:00Z' } },
        { location: { identifier: { value: 'ASH' } }, status: 'planned', period: { start: '2026-11-10T10:00:00Z' } },
      ],
    }), ctx));
    expect(r.events.map((e) => [e.type, (e.payload as { ward?: string }).ward, (e.payload as { bed?: string }).bed])).toEqual([
      ['patient.admitted', 'OAK', undefined],
      ['patient.transferred', 'ELM', 'B3'],
    ]);
    expect(r.events[1]!.occurredAt).toBe(Date.parse('2026-11-03T14:00:00Z'));
  });

  it('the same facts get the same ids in a later snapshot; a new fact gets a new id', () => {
    const first = ok(mapEncounter(encounter(), ctx)).events.map((e) => e.eventId);
    const later = ok(mapEncounter(encounter({
      status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2026-11-12T10:45:00Z' },
      hospitalization: { dischargeDisposition: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home' }] } },
    }), ctx));
    expect(later.events.map((e) => e.type)).toEqual(['patient.admitted', 'patient.discharged']);
    expect(later.events[0]!.eventId).toBe(first[0]);
    expect(later.events[1]).toMatchObject({ occurredAt: Date.parse('2026-11-12T10:45:00Z'), payload: { spellId: 'SP1', destination: 'home' } });
  });

  it('onleave -> leave.started from statusHistory; a closed leave also gives leave.ended', () => {
    const r = ok(mapEncounter(encounter({
      status: 'onleave',
      statusHistory: [
        { status: 'onleave', period: { start: '2026-11-04T10:00:00Z', end: '2026-11-04T18:00:00Z' } },
        { status: 'onleave', period: { start: '2026-11-08T09:30:00Z' } },
      ],
    }), ctx));
    expect(r.events.map((e) => [e.type, e.occurredAt])).toEqual([
      ['patient.admitted', Date.parse('2026-11-01T09:15:00Z')],
      ['leave.started', Date.parse('2026-11-04T10:00:00Z')],
      ['leave.ended', Date.parse('2026-11-04T18:00:00Z')],
      ['leave.started', Date.parse('2026-11-08T09:30:00Z')],
    ]);
  });

  it('onleave without an open onleave period is refused at Encounter.statusHistory', () => {
    expect(exprs(mapEncounter(encounter({ status: 'onleave' }), ctx))).toEqual(['Encounter.statusHistory']);
  });

  it('planned -> admission.decided (ward from the planned location); cancelled -> admission.cancelled', () => {
    const planned = ok(mapEncounter(encounter({ status: 'planned', period: undefined, meta: { lastUpdated: '2026-11-01T08:00:00Z' }, location: [{ location: { reference: 'Location/ELM' }, status: 'planned' }] }), ctx));
    expect(planned.events[0]).toMatchObject({ type: 'admission.decided', occurredAt: Date.parse('2026-11-01T08:00:00Z'), payload: { ward: 'ELM', spellId: 'SP1' } });
    const cancelled = ok(mapEncounter(encounter({ status: 'cancelled' }), ctx));
    expect(cancelled.events[0]).toMatchObject({ type: 'admission.cancelled', occurredAt: ctx.now, payload: { spellId: 'SP1' } });
  });

  it('a date far ahead of the clock is refused at its element; within the limit, or with no limit, it is taken', () => {
    const limited = { ...ctx, maxAheadMs: 24 * 3_600_000 };
    // A discharge typed as 2062 on a real admission: the discharge is refused, not the admission.
    const typo = mapEncounter(encounter({ status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2062-11-20T10:00:00Z' } }), limited);
    expect(exprs(typo)).toEqual(['Encounter.period.end']);
    expect(typo.ok ? '' : typo.issues[0]!.message).toMatch(/^2062-11-20T10:00:00.000Z is 13148 days ahead of this server's clock \(2026-11-20T12:00:00.000Z\); more than 24 hours ahead is refused as a wrong date/);
    expect(exprs(mapEncounter(encounter({ period: { start: '2027-11-01T09:15:00Z' }, location: [{ location: { identifier: { value: 'OAK' } } }] }), limited))).toEqual(['Encounter.period.start']);
    // Twenty hours ahead (a sender's clock or zone off): taken.
    expect(ok(mapEncounter(encounter({ period: { start: '2026-11-21T08:00:00Z' } }), limited)).events[0]!.occurredAt).toBe(Date.parse('2026-11-21T08:00:00Z'));
    expect(ok(mapEncounter(encounter({ period: { start: '2062-11-01T09:15:00Z' } }), { ...ctx, maxAheadMs: 0 })).events).toHaveLength(1);
  });

  it('a reopened Encounter (a finished period that ended) cancels its discharge, and a later discharge is a new fact', () => {
    const finished = ok(mapEncounter(encounter({ status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2026-11-10T11:00:00Z' } }), ctx));
    const firstDischarge = finished.events.find((e) => e.type === 'patient.discharged')!;
    // The discharge was wrong: the sender puts the Encounter back in progress, the finished period closed.
    const corrected = ok(mapEncounter(encounter({
      status: 'in-progress',
      statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z', end: '2026-11-10T13:30:00Z' } }],
    }), ctx));
    expect(corrected.events.map((e) => [e.type, e.occurredAt])).toEqual([
      ['patient.admitted', Date.parse('2026-11-01T09:15:00Z')],
      ['patient.discharged', Date.parse('2026-11-10T11:00:00Z')],
      ['discharge.cancelled', Date.parse('2026-11-10T13:30:00Z')],
    ]);
    // Same id as the discharge first sent: one discharge, which the cancel pairs with.
    expect(corrected.events[1]!.eventId).toBe(firstDischarge.eventId);
    expect(corrected.events[2]!.payload).toEqual({ spellId: 'SP1', ward: 'OAK' });
    // Finished again later: a discharge with an id of its own, so it is not taken for the undone one.
    const again = ok(mapEncounter(encounter({
      status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2026-11-15T10:00:00Z' },
      statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z', end: '2026-11-10T13:30:00Z' } }],
    }), ctx));
    const ids = again.events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 3)).toEqual(corrected.events.map((e) => e.eventId));
    expect(again.events[3]).toMatchObject({ type: 'patient.discharged', occurredAt: Date.parse('2026-11-15T10:00:00Z') });
    expect(again.events[3]!.eventId).toMatch(/-dis-1$/);
  });

  it('a discharge undone after a move puts the patient back where the Encounter says they are', () => {
    const r = ok(mapEncounter(encounter({
      location: [
        { location: { identifier: { value: 'OAK' } }, period: { start: '2026-11-01T09:15:00Z', end: '2026-11-10T13:00:00Z' } },
        { location: { identifier: { value: 'ELM' } }, period: { start: '2026-11-10T13:00:00Z' } },
        { location: { identifier: { value: 'B7' } }, physicalType: { coding: [{ code: 'bd' }] }, period: { start: '2026-11-10T13:00:00Z' } },
      ],
      statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z', end: '2026-11-10T13:30:00Z' } }],
    }), ctx));
    expect(r.events.find((e) => e.type === 'discharge.cancelled')!.payload).toEqual({ spellId: 'SP1', ward: 'ELM', bed: 'B7' });
  });

  it('a finished period before another status needs its end, and an end after its start', () => {
    expect(exprs(mapEncounter(encounter({ statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z' } }] }), ctx))).toEqual(['Encounter.statusHistory[0].period.end']);
    expect(exprs(mapEncounter(encounter({ statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z', end: '2026-11-10T10:00:00Z' } }] }), ctx))).toEqual(['Encounter.statusHistory[0].period.end']);
    expect(exprs(mapEncounter(encounter({ statusHistory: [{ status: 'finished', period: { end: '2026-11-10T10:00:00Z' } }] }), ctx))).toEqual(['Encounter.statusHistory[0].period.start']);
    // The current finished period (no end) beside status finished is the discharge itself: taken.
    const current = ok(mapEncounter(encounter({ status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2026-11-10T11:00:00Z' }, statusHistory: [{ status: 'finished', period: { start: '2026-11-10T11:00:00Z' } }] }), ctx));
    expect(current.events.map((e) => e.type)).toEqual(['patient.admitted', 'patient.discharged']);
  });

  it('finished without period.end names it', () => {
    expect(exprs(mapEncounter(encounter({ status: 'finished' }), ctx))).toEqual(['Encounter.period.end']);
  });

  it('names each wrong field by its FHIRPath', () => {
    const r = mapEncounter(encounter({
      status: 'admitted',
      period: { start: 'yesterday' },
      location: [{ location: {} }],
    }), ctx);
    expect(exprs(r)).toEqual(expect.arrayContaining(['Encounter.status', 'Encounter.period.start']));
    const r2 = mapEncounter(encounter({ identifier: [], id: undefined, subject: { identifier: { system: NHS, value: '9434765918' } } }), ctx);
    expect(exprs(r2)).toEqual(expect.arrayContaining(['Encounter.subject.identifier.value', 'Encounter.identifier']));
    const r3 = mapEncounter(encounter({ location: [{ location: { display: 'Oak' } }] }), ctx);
    expect(exprs(r3)).toEqual(expect.arrayContaining(['Encounter.location[0].location', 'Encounter.location']));
    const r4 = mapEncounter(encounter({ period: { start: '2026-11-01' }, location: [{ location: { reference: 'Location/OAK' } }] }), ctx);
    expect(exprs(r4)).toEqual(['Encounter.period.start']);
  });

  it('several wards need each a period.start', () => {
    const r = mapEncounter(encounter({ location: [{ location: { reference: 'Location/OAK' } }, { location: { reference: 'Location/ELM' } }] }), ctx);
    expect(exprs(r)).toEqual(['Encounter.location[0].period.start', 'Encounter.location[1].period.start']);
  });

  it('a ward code longer than the contract allows is reported at its location', () => {
    const r = mapEncounter(encounter({ location: [{ location: { identifier: { value: 'W'.repeat(40) } } }] }), ctx);
    expect(exprs(r)).toEqual(['Encounter.location[0].location']);
  });

  it('an unmapped facility falls back to the default site with a warning', () => {
    const r = ok(mapEncounter(encounter({ serviceProvider: { identifier: { value: 'ZZZ99' } } }), ctx));
    expect(r.events[0]!.site).toBe('RXT');
    expect(r.warnings[0]).toMatchObject({ expression: 'Encounter.serviceProvider.identifier.value', severity: 'warning' });
  });

  it('a patient known only by NHS number is keyed by it', () => {
    const r = ok(mapEncounter(encounter({ subject: { identifier: { system: NHS, value: '9434765919' } } }), ctx));
    expect(r.events[0]).toMatchObject({ patientId: '9434765919', nhsNumber: '9434765919' });
  });

  it('prototype-pollution keys are inert', () => {
    const evil = JSON.parse('{"resourceType":"Encounter","__proto__":{"polluted":true},"constructor":{"prototype":{"bad":1}},"status":"in-progress"}') as unknown;
    const r = mapEncounter(evil, ctx);
    expect(r.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).bad).toBeUndefined();
  });
});

describe('ServiceRequest', () => {
  it('active -> referral.received with urgency from priority, team from performer, team type from performerType', () => {
    const r = ok(mapServiceRequest(serviceRequest(), ctx));
    expect(r.events[0]).toMatchObject({
      type: 'referral.received', patientId: '9434765919', occurredAt: Date.parse('2026-11-02T08:00:00Z'),
      payload: { referralId: 'REF-9', team: 'CRHT-N', teamType: 'crisis', urgency: 'very_urgent' },
    });
  });

  it.each([['stat', 'emergency'], ['asap', 'very_urgent'], ['urgent', 'urgent'], ['routine', 'routine'], [undefined, 'routine']])('priority %s -> %s', (priority, urgency) => {
    expect(ok(mapServiceRequest(serviceRequest({ priority }), ctx)).events[0]!.payload).toMatchObject({ urgency });
  });

  it('completed / revoked -> referral.closed', () => {
    const r = ok(mapServiceRequest(serviceRequest({ status: 'revoked' }), ctx));
    expect(r.events[0]).toMatchObject({ type: 'referral.closed', payload: { referralId: 'REF-9', reason: 'ServiceRequest.status revoked' } });
  });

  it('a site comes from an Organization performer; the team from the other performer', () => {
    const r = ok(mapServiceRequest(serviceRequest({ performer: [{ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'RXT02' } }, { identifier: { value: 'LIAISON-A' } }] }), ctx));
    expect(r.events[0]).toMatchObject({ site: 'RXT', payload: { team: 'LIAISON-A' } });
  });

  it('missing team, time or a bad priority are named', () => {
    expect(exprs(mapServiceRequest(serviceRequest({ performer: [], authoredOn: undefined }), ctx))).toEqual(['ServiceRequest.performer', 'ServiceRequest.authoredOn']);
    expect(exprs(mapServiceRequest(serviceRequest({ priority: 'whenever' }), ctx))).toEqual(['ServiceRequest.priority']);
    expect(exprs(mapServiceRequest(serviceRequest({ status: 'draft' }), ctx))).toEqual(['ServiceRequest.status']);
  });

  it('team types', () => {
    expect(teamTypeOf({ coding: [{ code: 'home-treatment' }] })).toBe('home_treatment');
    expect(teamTypeOf({ text: 'Mental health liaison (A&E)' })).toBe('liaison');
    expect(teamTypeOf(undefined)).toBe('other');
  });
});

describe('dispatch and Bundle', () => {
  it('mapResource refuses other resource types, naming resourceType', () => {
    expect(exprs(mapResource({ resourceType: 'Observation' }, ctx))).toEqual(['resourceType']);
    expect(exprs(mapResource(serviceRequest(), ctx, undefined, 'Encounter'))).toEqual(['resourceType']);
    expect(exprs(mapResource(null, ctx))).toEqual(['resourceType']);
  });

  it('maps each entry; Patient entries resolve urn:uuid subjects', () => {
    const b = mapBundle({
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:p1', resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9434765919' }, { system: 'https://trust.example/mrn', value: 'RXT1000009' }] } },
        { resource: encounter({ subject: { reference: 'urn:uuid:p1' } }) },
        { resource: { resourceType: 'ServiceRequest', status: 'active' } },
      ],
    }, ctx, 10);
    if (!b.ok) throw new Error('bundle refused');
    expect(b.entries[0]).toEqual({ index: 0, kind: 'patient' });
    const enc = b.entries[1]!;
    expect(enc.kind === 'mapped' && enc.result.ok && enc.result.events[0]).toMatchObject({ patientId: 'RXT1000009', nhsNumber: '9434765919' });
    const bad = b.entries[2]!;
    expect(bad.kind === 'mapped' && exprs(bad.result)).toEqual(expect.arrayContaining(['Bundle.entry[2].resource.subject']));
  });

  it('refuses other Bundle types, empty and oversized Bundles', () => {
    const r = mapBundle({ resourceType: 'Bundle', type: 'searchset', entry: [] }, ctx, 10);
    expect(r.ok || r.issues.map((i) => i.expression)).toEqual(['Bundle.type']);
    const empty = mapBundle({ resourceType: 'Bundle', type: 'batch' }, ctx, 10);
    expect(empty.ok || empty.issues[0]!.code).toBe('required');
    const big = mapBundle({ resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 11 }, () => ({ resource: encounter() })) }, ctx, 10);
    expect(big.ok || big.issues[0]!.code).toBe('too-costly');
  });

  it('operationOutcome carries expression per issue', () => {
    expect(operationOutcome([{ expression: 'Encounter.status', code: 'code-invalid', message: 'bad' }])).toEqual({
      resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'code-invalid', diagnostics: 'bad', expression: ['Encounter.status'] }],
    });
  });
});
