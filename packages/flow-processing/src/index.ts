export * from './clock';
export * from './engine';
export * from './scanner';
export * from './replay';
export * from './analysis';
export * from './snapshots';
export * from './pager';
export * from './board-window';
