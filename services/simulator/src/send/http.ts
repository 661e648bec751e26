// HTTP to ingest: POST with retries (network errors and 503 "Kafka unavailable", with
// backoff and jitter; a 4xx is an answer, never retried), and a batcher that groups
// items into one request per batch (by size, or after a short linger).

export interface HttpAnswer {
  status: number;
  body: unknown;
}

export class HttpClosedError extends Error {}

export interface PostOptions {
  headers?: Record<string, string>;
  /** Give up (throw) when this returns true, e.g. the sender is closing. */
  stopped?: () => boolean;
  onRetry?: (detail: string) => void;
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POSTs JSON until ingest answers something other than 503 (or stopped). */
export async function postJson(url: string, body: unknown, o: PostOptions = {}): Promise<HttpAnswer> {
  const text = JSON.stringify(body);
  for (let attempt = 0; ; attempt++) {
    if (o.stopped?.()) throw new HttpClosedError(`stopped before ${url} answered`);
    let detail: string;
    try {
      const r = await fetch(url, {
        method: 'POST', body: text, headers: { 'content-type': 'application/json', ...o.headers },
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      const raw = await r.text();
      if (r.status !== 503 && r.status !== 502 && r.status !== 504) {
        let parsed: unknown = raw;
        try { parsed = JSON.parse(raw); } catch { /* not JSON: keep the text */ }
        return { status: r.status, body: parsed };
      }
      detail = `${url} answered ${r.status}`;
    } catch (e) {
      detail = `${url}: ${(e as Error).message}`;
    }
    o.onRetry?.(detail);
    await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
  }
}

interface Item<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

/**
 * Collects items and hands them to `flush` in batches of at most `maxBatch`, after at most
 * `lingerMs`; at most `concurrency` flushes run at once. Each item's promise settles with
 * its own result from the batch.
 */
export class Batcher<T, R> {
  private items: Item<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private readonly waiting: Item<T, R>[][] = [];

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly o: { maxBatch: number; lingerMs: number; concurrency: number },
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      if (this.items.length >= this.o.maxBatch) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.o.lingerMs);
    });
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.items.length) return;
    this.waiting.push(this.items);
    this.items = [];
    this.next();
  }

  private next(): void {
    while (this.running < this.o.concurrency && this.waiting.length) {
      const batch = this.waiting.shift()!;
      this.running += 1;
      this.flush(batch.map((b) => b.item))
        .then((results) => batch.forEach((b, i) => b.resolve(results[i] as R)))
        .catch((e: unknown) => batch.forEach((b) => b.reject(e instanceof Error ? e : new Error(String(e)))))
        .finally(() => { this.running -= 1; this.next(); });
    }
  }
}
