export * from './client';
export * from './codec';
export * from './errors';
export * from './lag';
export * from './checks';
export * from './client-errors';
export * from './ranges';
export * from './runner';
