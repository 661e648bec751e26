export * from './thresholds';
export * from './pathway';
export * from './patient';
export * from './facts';
export * from './occupancy';
export * from './calendar';
export * from './escalation';
