// Reading analysts' CSV files: columns, line numbers in every error, groups, and CSV out.
import { parse } from 'csv-parse/sync';
import { CsvInputError, readSeriesCsv, toCsv } from './csv';

const cols = { date: 'date', value: 'value' };
const lineOf = (fn: () => unknown): [number, string] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CsvInputError) return [e.line, e.problem];
    throw e;
  }
  throw new Error('expected a CsvInputError');
};

describe('readSeriesCsv', () => {
  it('reads dates and values, with a BOM, CRLF line ends, spaces and blank lines', () => {
    const g = readSeriesCsv('\uFEFFdate,value,other\r\n2026-01-02, 3.5 ,x\r\n\r\n2026-01-01,-2,y\r\n', cols);
    expect([...g.entries()]).toEqual([[null, [{ date: '2026-01-02', value: 3.5, line: 2 }, { date: '2026-01-01', value: -2, line: 4 }]]]);
  });

  it('splits by a group column, groups in sorted order', () => {
    const g = readSeriesCsv('ward,date,value\nW2,2026-01-01,1\nW1,2026-01-01,2\nW2,2026-01-02,3\n', { ...cols, group: 'ward' });
    expect([...g.keys()]).toEqual(['W1', 'W2']);
    expect(g.get('W2')!.map((r) => r.value)).toEqual([1, 3]);
  });

  it('the same date in two groups is fine; twice in one group is not, naming both lines', () => {
    expect(() => readSeriesCsv('g,date,value\na,2026-01-01,1\nb,2026-01-01,2\n', { ...cols, group: 'g' })).not.toThrow();
    expect(lineOf(() => readSeriesCsv('g,date,value\na,2026-01-01,1\nb,2026-01-02,2\na,2026-01-01,2\n', { ...cols, group: 'g' }))).toEqual([4, 'date 2026-01-01 appears twice in group "a" (also on line 2)']);
  });

  it('names the missing column on line 1', () => {
    expect(lineOf(() => readSeriesCsv('day,value\n2026-01-01,1\n', cols))).toEqual([1, 'missing column "date" (the header has "day", "value")']);
    expect(lineOf(() => readSeriesCsv('date,value\n2026-01-01,1\n', { ...cols, group: 'ward' }))[1]).toMatch(/missing column "ward"/);
  });

  it('a value that is not a number, with its line (blank lines and quoted line breaks counted)', () => {
    expect(lineOf(() => readSeriesCsv('date,value\n2026-01-01,1\n\n2026-01-03,abc\n', cols))).toEqual([4, '"abc" in column "value" is not a number']);
    expect(lineOf(() => readSeriesCsv('date,value,note\n2026-01-01,1,"two\nlines"\n2026-01-02,,x\n', cols))).toEqual([4, '"" in column "value" is not a number']);
    for (const bad of ['0x10', 'Infinity', '1,5', '12%', 'NaN']) {
      expect(lineOf(() => readSeriesCsv(`date,value\n2026-01-01,"${bad}"\n`, cols))[0]).toBe(2);
    }
  });

  it('a bad date, with its line', () => {
    expect(lineOf(() => readSeriesCsv('date,value\n2026-01-01,1\n2026-02-30,2\n', cols))).toEqual([3, '"2026-02-30" in column "date" is not a date (expected YYYY-MM-DD, e.g. 2026-04-01)']);
    expect(lineOf(() => readSeriesCsv('date,value\n01/02/2026,2\n', cols))[0]).toBe(2);
  });

  it('an empty file, a header with no rows, and a ragged row', () => {
    expect(lineOf(() => readSeriesCsv('', cols))).toEqual([1, 'the file is empty (expected a header line naming the columns date, value)']);
    expect(lineOf(() => readSeriesCsv(' \n\n', cols))[0]).toBe(1);
    expect(lineOf(() => readSeriesCsv('date,value\n', cols))).toEqual([2, 'no data rows under the header']);
    const [line, problem] = lineOf(() => readSeriesCsv('date,value\n2026-01-01,1\n2026-01-02,1,9\n', cols));
    expect(line).toBe(3);
    expect(problem).toMatch(/^not readable as CSV/);
  });
});

describe('toCsv', () => {
  it('one line per point, nulls empty, group names quoted when they need it', () => {
    const text = toCsv([
      { group: 'Ward "A", north', points: [{ date: '2026-01-01', value: 1, mean: 1, lpl: null, upl: null, pointType: 'common_cause' }], assurance: 'inconsistent' },
      { group: null, points: [{ date: '2026-01-02', value: 2.5, mean: 2, lpl: -1, upl: 5, pointType: 'special_cause_concern' }], assurance: null },
    ]);
    expect(parse(text, { columns: true })).toEqual([
      { group: 'Ward "A", north', date: '2026-01-01', value: '1', mean: '1', lpl: '', upl: '', pointType: 'common_cause', assurance: 'inconsistent' },
      { group: '', date: '2026-01-02', value: '2.5', mean: '2', lpl: '-1', upl: '5', pointType: 'special_cause_concern', assurance: '' },
    ]);
  });
});
