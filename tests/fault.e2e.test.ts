// >= 100k events, the engine killed with SIGKILL at random points at least 5 times:
// the final Redis state equals that of a clean run (canonical dump).
import { runFaultTest } from './support/fault';

it('SIGKILLed engine ends in the same state as a clean run', async () => {
  const r = await runFaultTest({ events: Number(process.env.PFM_FAULT_EVENTS ?? 100_000), kills: 5, log: (m) => process.stdout.write(`[fault] ${m}\n`) });
  process.stdout.write(`[fault] ${r.kills} kills, ${r.events} events, ${r.keysCompared} keys compared, equal=${r.equal}\n`);
  expect(r.kills).toBeGreaterThanOrEqual(5);
  expect(r.keysCompared).toBeGreaterThan(1000);
  expect(r.differences).toEqual([]);
}, 900_000);
