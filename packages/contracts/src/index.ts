export * from './fields';
export * from './events';
export * from './avro';
export * from './topics';
export * from './board';
export * from './socket';
export * from './nhs-number';
export * from './crfd-reasons';
