// @pfm/spc: Making Data Count SPC (pure rules, CSV in/out, SVG chart).
export * from './spc';
export * from './change';
export { readSeriesCsv, toCsv, CsvInputError, CSV_COLUMNS, type Columns, type Row, type Grouped, type SeriesOut } from './csv';
export { renderSvg, COLOURS, POINT_COLOURS, type ChartSeries, type ChartOptions } from './svg';
export * from './funnel';
