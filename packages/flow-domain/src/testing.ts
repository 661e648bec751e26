// Builders for canonical events in tests and benchmarks (pure; no I/O).
import type { FlowEvent, FlowEventType, PayloadOf } from '@pfm/contracts';

let counter = 0;
export const T0 = Date.parse('2026-10-01T08:00:00Z');
export const days = (n: number): number => n * 24 * 3600 * 1000;
export const hours = (n: number): number => n * 3600 * 1000;

export function ev<T extends FlowEventType>(type: T, payload: PayloadOf<T>, at: number, over: Partial<FlowEvent> = {}): FlowEvent {
  counter += 1;
  return {
    eventId: `E${counter}`, type, payload, occurredAt: at, recordedAt: at, site: 'RXT', patientId: 'P1',
    sourceSystem: 'TEST', channel: 'json', ...over,
  } as FlowEvent;
}
