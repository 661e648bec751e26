/** @pfm-stack none */
// `pfm spc` as an analyst runs it: the real command spawned on temporary CSV files
// (no stack needed). Checks the JSON shape, CSV output, options, every bad-input
// error with its line number, and the SVG file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { XMLValidator } from 'fast-xml-parser';

const ROOT = resolve(__dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'packages/spc/src/cli.ts');

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pfm-spc-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const file = (text: string): string => {
  const p = join(dir, `in-${++n}.csv`);
  writeFileSync(p, text);
  return p;
};
const run = (args: string[], cwd = dir) => {
  const r = spawnSync(TSX, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

// The reference's "deviations" vignette series (see spc.test.ts for the arithmetic).
const VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1];
const day = (i: number) => new Date(Date.UTC(2021, 2, 22 + i)).toISOString().slice(0, 10);

interface Out {
  series: { group: string | null; points: Record<string, unknown>[]; assurance: string | null }[];
}

describe('pfm spc', () => {
  it('--json: the documented shape, rows sorted by date within each group', () => {
    // Two wards, rows shuffled; ward B reversed.
    const rows = VIGNETTE.flatMap((v, i) => [`A,${day(i)},${v}`, `B,${day(17 - i)},${VIGNETTE[17 - i]! * 2}`]);
    const csv = file(`ward,day,count\n${rows.reverse().join('\n')}\n`);
    const r = run([csv, '--json', '--group-col', 'ward', '--date-col', 'day', '--value-col', 'count', '--target', '-1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Out;
    expect(Object.keys(out)).toEqual(['series']);
    expect(out.series.map((s) => s.group)).toEqual(['A', 'B']);
    for (const s of out.series) {
      expect(Object.keys(s)).toEqual(['group', 'points', 'assurance']);
      expect(s.points.map((p) => p.date)).toEqual(VIGNETTE.map((_, i) => day(i)));
      for (const p of s.points) expect(Object.keys(p)).toEqual(['date', 'value', 'mean', 'lpl', 'upl', 'pointType']);
    }
    const a = out.series[0]!;
    expect(a.points.map((p) => p.value)).toEqual(VIGNETTE);
    expect(a.points[0]).toMatchObject({ date: '2021-03-22', value: 1, pointType: 'common_cause' });
    expect((a.points[0]!.mean as number).toFixed(2)).toBe('1.94');
    expect((a.points[0]!.upl as number).toFixed(2)).toBe('4.60');
    expect((a.points[0]!.lpl as number).toFixed(2)).toBe('-0.72');
    expect(a.points[4]!.pointType).toBe('special_cause_improvement');
    // Target -1 is below the LPL (-0.72): always met when higher is better.
    expect(a.assurance).toBe('consistent_pass');
    // Ward B is twice ward A: LPL -1.43, so a target of -1 may or may not be met.
    expect((out.series[1]!.points[0]!.lpl as number).toFixed(2)).toBe('-1.43');
    expect(out.series[1]!.assurance).toBe('inconsistent');
  });

  it('--no-screen-outliers, --improvement, no group: group null, assurance null without a target', () => {
    const csv = file(`date,value\n${VIGNETTE.map((v, i) => `${day(i)},${v}`).join('\n')}\n`);
    const out = JSON.parse(run([csv, '--json', '--no-screen-outliers', '--improvement', 'decrease']).out) as Out;
    expect(out.series).toHaveLength(1);
    expect(out.series[0]!.group).toBeNull();
    expect(out.series[0]!.assurance).toBeNull();
    expect((out.series[0]!.points[0]!.upl as number).toFixed(2)).toBe('6.95');
    expect(out.series[0]!.points[4]!.pointType).toBe('special_cause_concern');
  });

  it('--rebase (repeated, every group, first point on or after the date) and --fix-after', () => {
    // Three segments of 13 points: 12 alternating mean -/+ 1, then a point 50 higher that
    // would move the mean if the limits were not fixed after 12.
    const seg = (m: number) => [...Array.from({ length: 12 }, (_, i) => (i % 2 ? m + 1 : m - 1)), m + 50];
    const vals = [...seg(10), ...seg(20), ...seg(30)];
    // Daily from 2026-01-01, but no point on 2026-01-14: the first rebase starts at 01-15.
    const d = (i: number) => new Date(Date.UTC(2026, 0, i < 13 ? i + 1 : i + 2)).toISOString().slice(0, 10);
    const rows = vals.flatMap((v, i) => [`a,${d(i)},${v}`, `b,${d(i)},${v * 10}`]);
    const csv = file(`g,date,value\n${rows.join('\n')}\n`);
    const out = JSON.parse(run([csv, '--json', '--group-col', 'g', '--fix-after', '12', '--rebase', '2026-01-14', '--rebase', d(26)]).out) as Out;
    const means = (k: number) => out.series[k]!.points.map((p) => p.mean);
    expect(means(0)).toEqual([...Array(13).fill(10), ...Array(13).fill(20), ...Array(13).fill(30)]);
    expect(means(1)).toEqual([...Array(13).fill(100), ...Array(13).fill(200), ...Array(13).fill(300)]);
    expect(out.series[0]!.points[12]!.pointType).toBe('special_cause_improvement');
  });

  it('without --json prints the same as CSV', () => {
    const csv = file(`g,date,value\nx,2026-01-02,2\nx,2026-01-01,1\ny,2026-01-01,5\ny,2026-01-02,5\n`);
    const r = run([csv, '--group-col', 'g', '--target', '3']);
    expect(r.code).toBe(0);
    const rows = parse(r.out, { columns: true }) as Record<string, string>[];
    const json = JSON.parse(run([csv, '--group-col', 'g', '--target', '3', '--json']).out) as Out;
    expect(Object.keys(rows[0]!)).toEqual(['group', 'date', 'value', 'mean', 'lpl', 'upl', 'pointType', 'assurance']);
    expect(rows).toEqual(json.series.flatMap((s) => s.points.map((p) => ({
      group: s.group ?? '', date: p.date, value: String(p.value), mean: String(p.mean), lpl: String(p.lpl ?? ''), upl: String(p.upl ?? ''), pointType: p.pointType, assurance: s.assurance ?? '',
    }))));
    // Group y is flat: screening leaves no moving range, so no limits: empty cells, null in JSON.
    expect(rows[2]).toMatchObject({ group: 'y', lpl: '', upl: '', assurance: 'inconsistent' });
    expect(json.series[1]!.points[0]).toMatchObject({ lpl: null, upl: null });
    expect(rows.map((x) => `${x.group} ${x.date}`)).toEqual(['x 2026-01-01', 'x 2026-01-02', 'y 2026-01-01', 'y 2026-01-02']);
  });

  it.each([
    ['a missing column', 'day,value\n2026-01-01,1\n', [], ':1: missing column "date"'],
    ['a missing group column', 'date,value\n2026-01-01,1\n', ['--group-col', 'ward'], ':1: missing column "ward"'],
    ['a non-number', 'date,value\n2026-01-01,1\n2026-01-02,1\n2026-01-03,n/a\n', [], ':4: "n/a" in column "value" is not a number'],
    ['a bad date', 'date,value\n2026-01-01,1\n2026-13-01,2\n', [], ':3: "2026-13-01" in column "date" is not a date'],
    ['an empty file', '', [], ':1: the file is empty'],
    ['a header and no rows', 'date,value\n', [], ':2: no data rows'],
    ['a repeated date', 'date,value\n2026-01-01,1\n2026-01-01,2\n', [], ':3: date 2026-01-01 appears twice (also on line 2)'],
    ['a ragged row', 'date,value\n2026-01-01,1,3\n', [], ':2: not readable as CSV'],
  ])('%s: exits 1 naming the line and the problem', (_name, text, extra, message) => {
    const csv = file(text);
    const r = run([csv, '--json', ...extra]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    // One line: "pfm spc: FILE:LINE: problem".
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err.startsWith(`pfm spc: ${csv}${message}`)).toBe(true);
  });

  it.each([
    [['--fix-after', '11'], /--fix-after.*whole number >= 12/],
    [['--improvement', 'up'], /Allowed choices are increase, decrease, neutral/],
    [['--rebase', '2026-01-08T'], /--rebase.*YYYY-MM-DD/],
    [['--target', 'ten'], /--target.*must be a number/],
  ])('bad option %j: exits non-zero with the reason', (args, reason) => {
    const csv = file('date,value\n2026-01-01,1\n');
    const r = run([csv, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(reason);
  });

  it('a file that does not exist', () => {
    const r = run([join(dir, 'nope.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read .*nope\.csv: ENOENT/);
  });

  it('--svg writes a well-formed chart beside the JSON', () => {
    const csv = file(`g,date,value\n${VIGNETTE.map((v, i) => `a,${day(i)},${v}\nb,${day(i)},${-v}`).join('\n')}\n`);
    const svgPath = join(dir, 'chart.svg');
    const r = run([csv, '--json', '--group-col', 'g', '--target', '3', '--svg', svgPath]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveProperty('series');
    expect(existsSync(svgPath)).toBe(true);
    const svg = readFileSync(svgPath, 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.match(/class="panel"/g)).toHaveLength(2);
    expect(svg.match(/class="point /g)).toHaveLength(2 * VIGNETTE.length);
    expect(svg).toContain('class="icon assurance"');
  });

  it('./pfm spc runs from any folder with paths relative to it', () => {
    writeFileSync(join(dir, 'rel.csv'), 'date,value\n2026-01-02,2\n2026-01-01,4\n2026-01-03,3\n');
    const r = spawnSync(join(ROOT, 'pfm'), ['spc', 'rel.csv', '--json', '--svg', 'rel.svg'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Out;
    expect(out.series[0]!.points.map((p) => [p.date, p.value, p.mean])).toEqual([['2026-01-01', 4, 3], ['2026-01-02', 2, 3], ['2026-01-03', 3, 3]]);
    expect(existsSync(join(dir, 'rel.svg'))).toBe(true);
  });
});
