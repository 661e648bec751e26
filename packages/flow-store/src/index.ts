export * from './keys';
export * from './registry';
export * from './store';
export * from './settings';
export * from './batch';
