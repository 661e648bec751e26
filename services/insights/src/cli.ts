// pfm insights: the analysts' and ops' command line for the warehouse (see the README).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadThresholds, WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { loadInsightsConfig } from './config';
import { exportWarehouse, type ExportFormat } from './export';
import { loadCatalogue, loadPopulation } from './measures';
import { LocalAreas } from './pseudonym';
import { rebuildWarehouse } from './rebuild';
import { dictionaryJson, dictionaryMarkdown } from './schema';
import { Warehouse } from './warehouse';

const time = (v: string): number => {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`not a time: ${v} (ISO-8601 such as 2026-04-01 or 2026-04-01T00:00:00Z, or epoch ms)`);
  return t;
};

export function program(): Command {
  const p = new Command('pfm insights').description('Patient Flow Monitor insights warehouse');

  p.command('rebuild').description('fold the whole flow-event and alert log into a new warehouse file and swap it in (stop the service first)')
    .option('--yes', 'replace the warehouse at PFM_INSIGHTS_DB', false)
    .action(async (o: { yes: boolean }) => {
      const config = loadInsightsConfig();
      if (!o.yes) throw new Error(`this replaces ${config.PFM_INSIGHTS_DB}; run again with --yes`);
      const r = await rebuildWarehouse(config, createLogger('insights-rebuild'));
      console.log(`rebuilt ${r.path}: ${r.events} flow events and ${r.alerts} alert messages in ${(r.ms / 1000).toFixed(1)} s (${Math.round(r.events / Math.max(0.001, r.ms / 1000))} events/s)`);
    });

  p.command('export').description('write every table and the measure series as Parquet or CSV, with the data dictionary beside them (the warehouse must not be in use)')
    .addOption(new Option('--format <format>', 'file format').choices(['parquet', 'csv']).default('parquet'))
    .requiredOption('--out <dir>', 'folder to write (created when missing)')
    .option('--from <time>', 'only rows overlapping [from, to)', time)
    .option('--to <time>', 'only rows overlapping [from, to)', time)
    .option('--no-measures', 'leave out the measure series')
    .action(async (o: { format: ExportFormat; out: string; from?: number; to?: number; measures: boolean }) => {
      const config = loadInsightsConfig(process.env, { secret: false });
      if (!existsSync(config.PFM_INSIGHTS_DB)) throw new Error(`no warehouse at ${config.PFM_INSIGHTS_DB} (PFM_INSIGHTS_DB); run the insights service or ./pfm insights rebuild --yes first`);
      const registry = WardRegistry.fromFile(config.PFM_WARDS_FILE);
      const measures = o.measures ? { catalogue: loadCatalogue(config.PFM_MEASURES_FILE), population: loadPopulation(config.PFM_POPULATION_FILE, LocalAreas.fromFile(config.PFM_LOCAL_AREAS_FILE, config.PFM_INSIGHTS_AREA_LEVEL)) } : undefined;
      const w = await Warehouse.open(config.PFM_INSIGHTS_DB, { wards: registry.wards(), thresholds: loadThresholds(config.PFM_THRESHOLDS_FILE) });
      try {
        const r = await exportWarehouse(w, { format: o.format, out: o.out, from: o.from, to: o.to, measures });
        for (const f of r.files) console.log(`${f.file}: ${f.rows} rows`);
        console.log(`data dictionary: ${join(o.out, 'data-dictionary.md')} (and .json)`);
      } finally {
        w.close();
      }
    });

  p.command('dictionary').description('write docs/data-dictionary.md and docs/data-dictionary.json from the warehouse schema')
    .option('--out <dir>', 'folder', 'docs')
    .action((o: { out: string }) => {
      writeFileSync(join(o.out, 'data-dictionary.md'), dictionaryMarkdown());
      writeFileSync(join(o.out, 'data-dictionary.json'), dictionaryJson());
      console.log(`wrote ${join(o.out, 'data-dictionary.md')} and ${join(o.out, 'data-dictionary.json')}`);
    });
  return p;
}

if (require.main === module) {
  program().parseAsync(process.argv).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
