// Entry point of `./pfm spc` (see README).
import { runSpc } from './command';

runSpc(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { console.error(e); process.exitCode = 2; },
);
