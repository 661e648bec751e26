// pfm insights: the analysts' and ops' command line for the warehouse (see the README).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '@pfm/observability';
import { loadInsightsConfig } from './config';
import { rebuildWarehouse } from './rebuild';
import { dictionaryJson, dictionaryMarkdown } from './schema';

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
