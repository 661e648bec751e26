// Access control shared by every door: reader tokens (JWT), sender credentials, and the
// keys that seal raw rejected input at rest.
export * from './tokens';
export * from './senders';
export * from './reject-seal';
