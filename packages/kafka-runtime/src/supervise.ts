// kafkajs restarts a consumer after most errors, but gives it up for good after one it
// does not retry (the CRASH event says `restart: false`). The process then lives on, its
// health checks green, with nothing consuming: a board that freezes, alerts that never
// arrive. Every long-running consumer of the product is watched by this instead.
import type { Consumer } from 'kafkajs';
import type { Logger } from '@pfm/observability';

export interface Supervision {
  logger: Logger;
  /** What the consumer does, for the logs ("flow events", "board feed"). */
  what: string;
  /** True once the owner is shutting down: no restart then. */
  stopped: () => boolean;
  /** Disconnects what is left of the given-up consumer and starts a new one. */
  restart: () => Promise<void>;
  /** Called once per restart attempt (a counter). */
  onRestart?: () => void;
  /** First pause before starting again, doubled after each failed attempt up to a minute. Default 5 s. */
  delayMs?: number;
}

/** Starts the consumer again, with backoff, whenever kafkajs gives it up. */
export function superviseConsumer(consumer: Consumer, s: Supervision): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) { s.logger.warn({ err: payload.error }, `Kafka consumer (${s.what}) failed: kafkajs is starting it again`); return; }
    if (s.stopped()) return;
    s.logger.error({ err: payload.error }, `Kafka consumer (${s.what}) stopped on an error kafkajs does not retry: starting it again`);
    void restartUntilRunning(s);
  });
}

async function restartUntilRunning(s: Supervision): Promise<void> {
  for (let wait = s.delayMs ?? 5000; !s.stopped(); wait = Math.min(wait * 2, 60_000)) {
    await new Promise((r) => setTimeout(r, wait));
    if (s.stopped()) return;
    s.onRestart?.();
    try {
      await s.restart();
      s.logger.info(`Kafka consumer (${s.what}) started again`);
      return;
    } catch (err) {
      s.logger.error({ err }, `Kafka consumer (${s.what}) could not start again: trying later`);
    }
  }
}
