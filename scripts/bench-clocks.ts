// Cost of the Mental Health Act clocks' calendar work (flow-domain calendar.ts) on the
// engine's path: timers() of one patient by legal status, the period lookup with and
// without its memo, and the day start with a cached formatter against one built per call.
//   pnpm -s tsx scripts/bench-clocks.ts
import { cpus, loadavg } from 'node:os';
import { dayStartIn, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, period, timers, type DomainContext } from '@pfm/flow-domain';

/** Mean µs per call of the second of two passes (the first warms the JIT). */
function time(name: string, n: number, f: (i: number) => unknown): void {
  for (let pass = 0; pass < 2; pass++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    if (pass === 1) console.log(`${name}: ${(Number(process.hrtime.bigint() - t) / n / 1000).toFixed(2)} µs`);
  }
}

const T = Date.parse('2026-10-01T08:00:00Z');
time('Intl.DateTimeFormat built per call (dayStartIn before 8eff100)', 5_000, (i) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(T + i * 1000));
time('dayStartIn', 50_000, (i) => dayStartIn(T + i * 1000));
let fresh = 0;
time('period, a start not seen before', 20_000, () => period(T + 1e9 + ++fresh * 1000, { months: 6 }));
time('period, a start seen before (memo)', 200_000, (i) => period(T + (i % 100) * 1000, { months: 6 }));

const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute' };
for (const legalStatus of ['01', '05', '02', '03']) {
  const admitted = evolve(emptyPatient('RXT', 'P1'), {
    site: 'RXT', patientId: 'P1', sourceSystem: 'SYN', channel: 'simulator', eventId: 'e1', type: 'patient.admitted', occurredAt: T, recordedAt: T,
    payload: { spellId: 'S1', ward: 'W1', legalStatus },
  }).state;
  const view = fold(admitted.events).view;
  time(`timers() of one admitted patient, legal status ${legalStatus}`, 50_000, () => timers('RXT', 'P1', view, ctx));
}
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
