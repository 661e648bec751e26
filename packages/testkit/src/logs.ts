// A service started in-process by a test logs into memory, so that a start that fails or
// hangs can say what the service was doing (its last lines) instead of timing out silently.

/** A pino destination (anything with write) keeping the last `max` lines; `echo` also prints them. */
export class LogTail {
  readonly lines: string[] = [];
  constructor(private readonly max = 500, private readonly echo?: (line: string) => void) {}
  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      this.lines.push(line);
      this.echo?.(line);
    }
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  tail(n = 40): string { return this.lines.slice(-n).join('\n'); }
}

/** The start-up deadline of services tests start (PFM_TEST_START_TIMEOUT_MS), below the 120 s hook timeout of integration tests. */
export const testStartTimeoutMs = (): number => Number(process.env.PFM_TEST_START_TIMEOUT_MS ?? 90_000);

/**
 * Waits for `start` at most `timeoutMs`. When it fails or takes longer, throws an error
 * naming `what` with `tail()` (the service's last log lines) in it; a start that
 * completes after the deadline is handed to `late` (to close what it opened).
 */
export async function startWithin<T>(what: string, start: Promise<T>, o: { tail: () => string; timeoutMs?: number; late?: (v: T) => Promise<void> }): Promise<T> {
  const timeoutMs = o.timeoutMs ?? testStartTimeoutMs();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([start, deadline]);
  } catch (e) {
    start.then((v) => o.late?.(v), () => undefined).catch(() => undefined);
    const lines = o.tail();
    throw new Error(`${(e as Error).message}\n--- ${what} log (last lines) ---\n${lines || '(nothing logged)'}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}
