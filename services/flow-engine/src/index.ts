export * from './clock';
export * from './engine';
export * from './scanner';
