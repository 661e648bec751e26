// Makes a sender key for ingest: prints the key (hand it to the sender once; it is not
// stored) and the senders-file entry with its SHA-256 (add it to PFM_SENDERS_FILE).
//   pnpm tsx scripts/sender-key.ts <sender id> [--sites RXT,RYY] [--channels json,fhir] [--types '*']
import { Command } from 'commander';
import { newSenderKey } from '@pfm/access';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const program = new Command('sender-key')
  .argument('<id>', 'sender id: letters, digits, _ and -')
  .option('--sites <codes>', 'sites it may send for', list, ['RXT'])
  .option('--channels <names>', 'json, fhir', list, ['json', 'fhir'])
  .option('--types <types>', 'event types it may send, or *', list, ['*'])
  .action((id: string, o: { sites: string[]; channels: string[]; types: string[] }) => {
    const { key, keySha256 } = newSenderKey(id);
    process.stdout.write(`key (give to the sender; send as "Authorization: ApiKey <key>"):\n  ${key}\n`);
    process.stdout.write(`senders-file entry:\n  ${JSON.stringify({ id, keySha256, channels: o.channels, types: o.types, sites: o.sites })}\n`);
  });
program.parse();
