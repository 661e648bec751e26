// 16k events in CI (the five kills land in the first ~4k; more events only lengthen each run) (`./pfm fault-test` runs 100k; PFM_FAULT_EVENTS sets it), the engine killed with SIGKILL at random points at least 5 times:
// the final Redis state equals that of a clean run (canonical dump), and the alerts topic
// holds the same alert changes (none lost; repeats after a kill are allowed).
import { runFaultTest } from './support/fault';

it('SIGKILLed engine ends in the same state as a clean run', async () => {
  const r = await runFaultTest({ events: Number(process.env.PFM_FAULT_EVENTS ?? 16_000), kills: 5, log: (m) => process.stdout.write(`[fault] ${m}\n`) });
  process.stdout.write(`[fault] ${r.kills} kills, ${r.events} events, ${r.keysCompared} keys compared, equal=${r.equal}\n`);
  expect(r.kills).toBeGreaterThanOrEqual(5);
  expect(r.keysCompared).toBeGreaterThan(1000);
  expect(r.differences).toEqual([]);
  process.stdout.write(`[fault] alerts: clean ${r.alerts.clean}, faulty ${r.alerts.faulty} (${r.alerts.faultyRepeats} repeats), outbox left ${r.alerts.outboxLeft}\n`);
  expect(r.alerts.clean).toBeGreaterThan(100);
  expect(r.alerts.cleanRepeats).toBe(0);
  expect(r.alerts.differences).toEqual([]);
  expect(r.alerts.faulty).toBe(r.alerts.clean);
  expect(r.alerts.outboxLeft).toBe(0);
  process.stdout.write(`[fault] two engines in one group: ${r.scaleOut?.ms} ms vs one engine ${r.cleanMs} ms\n`);
  expect(r.scaleOut?.differences).toEqual([]);
  expect(r.scaleOut?.alertDifferences).toEqual([]);
}, 900_000);
