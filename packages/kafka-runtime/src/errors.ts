// Errors carry whether retrying can help. Bad data never retries (it goes to rejects
// and the partition moves on); infrastructure faults back off and retry.
export class PfmError extends Error {
  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
export class InfrastructureError extends PfmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}
