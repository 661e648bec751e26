// Access control shared by every door: reader tokens (JWT) and sender credentials.
export * from './tokens';
export * from './senders';
