export * from './config';
export * from './consumer';
export * from './pseudonym';
export * from './rows';
export * from './schema';
export * from './warehouse';
