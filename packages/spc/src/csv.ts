// Reading an analyst's CSV into dated series (one per group) and writing SPC results as
// CSV. Every problem names the line it is on, counted from 1 with the header as line 1.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { isIsoDate, type Assurance, type SpcPoint } from './spc';

export class CsvInputError extends Error {
  override readonly name = 'CsvInputError';
  constructor(readonly line: number, readonly problem: string) {
    super(`line ${line}: ${problem}`);
  }
}

export interface Columns {
  date: string;
  value: string;
  group?: string | null;
}

export interface Row {
  date: string;
  value: number;
  /** Line of the file the row starts on. */
  line: number;
}

/** Series by group (null when no group column), groups in sorted order. */
export type Grouped = Map<string | null, Row[]>;

// A plain decimal, optionally signed, with an optional exponent: "12", "-0.5", "1e3".
// Number() alone would also accept "", "0x1F", "Infinity" and " ".
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

interface Parsed {
  record: Record<string, string>;
  info: { lines: number; raw?: string };
}

const newlines = (s: string): number => (s.match(/\r\n|\r|\n/g) ?? []).length;

export function readSeriesCsv(text: string, cols: Columns): Grouped {
  if (text.replace(/^\uFEFF/, '').trim() === '') throw new CsvInputError(1, `the file is empty (expected a header line naming the columns ${[cols.date, cols.value].join(', ')})`);
  let header: string[] = [];
  let records: Parsed[];
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
      raw: true,
      columns: (h: string[]) => {
        header = h;
        return h;
      },
    }) as unknown as Parsed[];
  } catch (e) {
    const err = e as { message?: string; lines?: number };
    throw new CsvInputError(err.lines ?? 1, `not readable as CSV: ${err.message ?? String(e)}`);
  }
  const wanted = [cols.date, cols.value, ...(cols.group ? [cols.group] : [])];
  const missing = wanted.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new CsvInputError(1, `missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} (the header has ${header.map((c) => `"${c}"`).join(', ')})`);
  }
  if (records.length === 0) throw new CsvInputError(2, 'no data rows under the header');

  const groups = new Map<string | null, Row[]>();
  const seen = new Map<string, number>();
  for (const { record, info } of records) {
    // info.lines is the line a record ends on (a quoted field may span lines); its raw
    // text also carries the blank lines skipped before it and its own line ending.
    const line = info.lines - newlines((info.raw ?? '').replace(/^[\r\n]+|[\r\n]+$/g, ''));
    const date = record[cols.date] ?? '';
    const rawValue = record[cols.value] ?? '';
    const group = cols.group ? (record[cols.group] ?? '') : null;
    if (!isIsoDate(date)) throw new CsvInputError(line, `"${date}" in column "${cols.date}" is not a date (expected YYYY-MM-DD, e.g. 2026-04-01)`);
    if (!DECIMAL.test(rawValue)) throw new CsvInputError(line, `"${rawValue}" in column "${cols.value}" is not a number`);
    const value = Number(rawValue);
    if (!Number.isFinite(value)) throw new CsvInputError(line, `"${rawValue}" in column "${cols.value}" is too large`);
    const key = JSON.stringify([group, date]);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new CsvInputError(line, `date ${date} appears twice${group !== null ? ` in group "${group}"` : ''} (also on line ${earlier})`);
    }
    seen.set(key, line);
    const rows = groups.get(group) ?? [];
    rows.push({ date, value, line });
    groups.set(group, rows);
  }
  const order = [...groups.keys()].sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));
  return new Map(order.map((g) => [g, groups.get(g)!]));
}

export interface SeriesOut {
  group: string | null;
  points: Pick<SpcPoint, 'date' | 'value' | 'mean' | 'lpl' | 'upl' | 'pointType'>[];
  assurance: Assurance | null;
}

export const CSV_COLUMNS = ['group', 'date', 'value', 'mean', 'lpl', 'upl', 'pointType', 'assurance'] as const;

/** One line per point; the series' assurance repeated on each of its lines; empty cells for nulls. */
export function toCsv(series: readonly SeriesOut[]): string {
  const rows = series.flatMap((s) => s.points.map((p) => [s.group ?? '', p.date, p.value, p.mean, p.lpl ?? '', p.upl ?? '', p.pointType, s.assurance ?? '']));
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS] });
}
