export * from './api';
export * from './context';
