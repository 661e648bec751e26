// Senders: the simulator's deliveries to ingest over MLLP (ADT), FHIR (referrals) and JSON
// (everything else). I/O lives here, apart from the pure model in ../model.ts.
export * from './mllp-client';
export * from './http';
export * from './fhir';
export * from './sender';
export * from './feed';
