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

const NETWORK = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|EPIPE|socket hang up|timed? ?out/i;

/**
 * Whether a failure to decode a flow event may pass on retry: the schema registry was
 * unreachable, overloaded, refused our credentials or is mis-addressed (then nothing
 * decodes, and setting every event aside would be wrong). A message without the magic
 * byte, a schema id the registry answers it does not know, or a body that does not fit
 * its schema will never decode: those are the message's fault.
 */
export function isRetriableDecodeError(err: unknown): boolean {
  const e = err as { name?: string; message?: string; status?: number } | null;
  if (!e || typeof e !== 'object') return false;
  const message = String(e.message ?? '');
  if (e.name === 'ConfluentSchemaRegistryArgumentError') return false;
  if (e.name === 'ResponseError' || typeof e.status === 'number') {
    if (/Schema \d+ not found/i.test(message)) return false;
    return true;
  }
  return NETWORK.test(message);
}
