export * from './promql';
export * from './artifacts';
