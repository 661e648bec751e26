// `pfm spc FILE.csv ...`: SPC of any dated series in a CSV, for analysts (no stack
// needed). Reads the file, runs the pure rules per group, prints JSON or CSV and
// optionally writes an SVG chart. Bad input exits 1 with the line and the problem.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CsvInputError, readSeriesCsv, toCsv, type SeriesOut } from './csv';
import { IMPROVEMENTS, MIN_FIX_AFTER, isIsoDate, spc, type Improvement } from './spc';
import { renderSvg, type ChartSeries } from './svg';

interface Opts {
  json?: boolean;
  dateCol: string;
  valueCol: string;
  groupCol?: string;
  improvement: Improvement;
  target?: number;
  fixAfter?: number;
  rebase: string[];
  screenOutliers: boolean;
  svg?: string;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const number = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
};
const fixAfter = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < MIN_FIX_AFTER) throw new InvalidArgumentError(`must be a whole number >= ${MIN_FIX_AFTER} (fixed limits need a baseline of at least ${MIN_FIX_AFTER} points, as NHSRplotthedots requires)`);
  return n;
};
const rebaseDate = (v: string, prev: string[]): string[] => {
  if (!isIsoDate(v)) throw new InvalidArgumentError('must be a date, YYYY-MM-DD');
  return [...prev, v];
};

export function program(io: Io): Command {
  return new Command('pfm spc')
    .description('Statistical process control (XmR, NHS "Making Data Count" rules as NHSRplotthedots applies them) of a dated series in a CSV file')
    .argument('<file>', 'CSV file with a header line')
    .option('--json', 'print JSON (default: CSV)')
    .option('--date-col <name>', 'column holding dates, YYYY-MM-DD', 'date')
    .option('--value-col <name>', 'column holding the values', 'value')
    .option('--group-col <name>', 'column splitting the rows into separate series')
    .addOption(new Option('--improvement <direction>', 'which direction is better').choices(IMPROVEMENTS).default('increase'))
    .option('--target <n>', 'target for the assurance icon', number)
    .option('--fix-after <n>', `fix each segment's mean and limits after its first N points (N >= ${MIN_FIX_AFTER})`, fixAfter)
    .option('--rebase <date>', 'start a new segment at the first point on or after this date (repeatable)', rebaseDate, [])
    .option('--no-screen-outliers', 'keep moving ranges >= 3.267 x average in the limits (the Making Data Count Excel tool\'s way)')
    .option('--svg <out.svg>', 'also draw the chart(s) to this SVG file')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .action((file: string, o: Opts) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      let groups;
      try {
        groups = readSeriesCsv(text, { date: o.dateCol, value: o.valueCol, group: o.groupCol ?? null });
      } catch (e) {
        if (e instanceof CsvInputError) throw new UserError(`${file}:${e.line}: ${e.problem}`);
        throw e;
      }
      const options = { improvement: o.improvement, target: o.target ?? null, fixAfter: o.fixAfter ?? null, rebase: o.rebase, screenOutliers: o.screenOutliers };
      const charts: ChartSeries[] = [];
      const series: SeriesOut[] = [];
      for (const [group, rows] of groups) {
        const r = spc(rows, options);
        charts.push({ group, points: r.points, assurance: r.assurance });
        series.push({
          group,
          points: r.points.map((p) => ({ date: p.date, value: p.value, mean: p.mean, lpl: p.lpl, upl: p.upl, pointType: p.pointType })),
          assurance: r.assurance,
        });
      }
      io.out(o.json ? `${JSON.stringify({ series }, null, 2)}\n` : toCsv(series));
      if (o.svg) {
        writeFileSync(o.svg, renderSvg(charts, { improvement: o.improvement, target: o.target ?? null, title: basename(file) }));
        io.err(`SVG chart written to ${o.svg}\n`);
      }
    });
}

class UserError extends Error {}

/** Runs the command; resolves to the process exit code. */
export async function runSpc(args: readonly string[], io: Io): Promise<number> {
  try {
    await program(io).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      io.err(`pfm spc: ${e.message}\n`);
      return 1;
    }
    const ce = e as { code?: string; exitCode?: number };
    // commander has already printed its own message (unknown option, bad value, --help).
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode ?? 1;
    throw e;
  }
}
