// ./pfm fault-test [events] [kills]: the SIGKILL fault test on its own, with its figures.
import { runFaultTest } from '../tests/support/fault';

const [events, kills] = process.argv.slice(2).map(Number);
runFaultTest({ events: events || 100_000, kills: kills || 5, log: (m) => console.log(`[fault] ${m}`) })
  .then((r) => {
    console.log(`[fault] ${r.kills} SIGKILLs, ${r.events} events, ${r.keysCompared} Redis keys compared: ${r.equal ? 'IDENTICAL to the clean run' : `DIFFERENT (${r.differences.join(', ')})`}`);
    const alertsOk = r.alerts.differences.length === 0 && r.alerts.cleanRepeats === 0 && r.alerts.outboxLeft === 0;
    console.log(`[fault] alerts topic: ${r.alerts.clean} alert changes in the clean run, ${r.alerts.faulty} after the kills (${r.alerts.faultyRepeats} repeated): ${alertsOk ? 'SAME changes' : `DIFFERENT (${r.alerts.differences.join(', ')}; outbox left ${r.alerts.outboxLeft})`}`);
    const scaledOk = !r.scaleOut || (r.scaleOut.differences.length === 0 && r.scaleOut.alertDifferences.length === 0);
    if (r.scaleOut) console.log(`[fault] two engines in one group: ${scaledOk ? 'SAME state and alerts as the clean run' : `DIFFERENT (${[...r.scaleOut.differences, ...r.scaleOut.alertDifferences].join(', ')})`}, ${r.scaleOut.ms} ms`);
    console.log(`[fault] clean run ${r.cleanMs} ms, faulty run ${r.faultyMs} ms`);
    process.exit(r.equal && alertsOk && scaledOk ? 0 : 1);
  })
  .catch((e: unknown) => { console.error(e); process.exit(1); });
