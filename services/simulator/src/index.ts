// @pfm/simulator: a synthetic NHS mental-health trust emitting canonical flow events.
export * from './trust';
export * from './rates';
export * from './model';
export * from './faults';
export * from './stats';
export { Rng, hash32, type Seed, type Lognormal, type Weighted } from './rng';
export { NhsNumberSource, corruptNhsNumber } from './nhs-numbers';
export * from './load';
export * from './story';
