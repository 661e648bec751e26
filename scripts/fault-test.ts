// ./pfm fault-test [events] [kills]: the SIGKILL fault test on its own, with its figures.
import { runFaultTest } from '../tests/support/fault';

const [events, kills] = process.argv.slice(2).map(Number);
runFaultTest({ events: events || 100_000, kills: kills || 5, log: (m) => console.log(`[fault] ${m}`) })
  .then((r) => {
    console.log(`[fault] ${r.kills} SIGKILLs, ${r.events} events, ${r.keysCompared} Redis keys compared: ${r.equal ? 'IDENTICAL to the clean run' : `DIFFERENT (${r.differences.join(', ')})`}`);
    console.log(`[fault] clean run ${r.cleanMs} ms, faulty run ${r.faultyMs} ms`);
    process.exit(r.equal ? 0 : 1);
  })
  .catch((e: unknown) => { console.error(e); process.exit(1); });
