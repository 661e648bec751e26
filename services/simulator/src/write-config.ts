// Writes config/trust.json: the default trust's ward registry (contracts `Ward[]`, the
// config/wards.json shape). Run: pnpm --filter @pfm/simulator run write-config
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTrust, wardsOf } from './trust';

export const TRUST_JSON_PATH = join(__dirname, '..', 'config', 'trust.json');

export function trustJson(): string {
  return `${JSON.stringify(wardsOf(defaultTrust), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(TRUST_JSON_PATH, trustJson());
  console.log(`wrote ${TRUST_JSON_PATH}`);
}
