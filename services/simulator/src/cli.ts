// Runs the simulator alone: prints a history window as NDJSON (one canonical event, or
// one delivery with --faults, per line), or its flow measures with --stats.
//   pnpm --filter @pfm/simulator run events -- --days 7 --seed 42 > events.ndjson
//   pnpm --filter @pfm/simulator run events -- --days 365 --stats
import { createSimulation, DAY_MS } from './model';
import { flowStats } from './stats';
import { defaultTrust } from './trust';

interface Args {
  seed: string;
  days: number;
  start: number;
  faults: boolean;
  stats: boolean;
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seed: '42', days: 7, start: Date.UTC(2026, 0, 1), faults: false, stats: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seed') args.seed = value();
    else if (a === '--days') args.days = Number(value());
    else if (a === '--start') args.start = Date.parse(value());
    else if (a === '--faults') args.faults = true;
    else if (a === '--stats') args.stats = true;
    else if (a !== '--') throw new Error(`unknown option ${a} (use --seed, --days, --start ISO, --faults, --stats)`);
  }
  if (!(args.days >= 0) || !Number.isFinite(args.start)) throw new Error('--days must be >= 0 and --start an ISO date-time');
  return args;
}

function main(): void {
  // A closed pipe (| head) ends the run quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const a = parseArgs(process.argv.slice(2));
  const sim = createSimulation({ seed: a.seed, start: a.start, historyDays: Math.max(a.days, 1), faults: a.faults });
  const events = sim.history(a.days);
  if (a.stats) {
    const all = [...events];
    console.log(JSON.stringify(flowStats(all, { trust: defaultTrust, from: a.start - a.days * DAY_MS, to: a.start }), null, 2));
    return;
  }
  const write = (line: string): void => void process.stdout.write(`${line}\n`);
  if (a.faults) for (const d of sim.deliveries(events, a.start)) write(JSON.stringify(d));
  else for (const e of events) write(JSON.stringify(e));
}

if (require.main === module) main();
