export * from './replay';
export * from './analysis';
