// Writes src/testing/fixtures.ts's messages to packages/hl7/fixtures/*.hl7 (CR-separated).
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './fixtures';

const dir = join(__dirname, '..', '..', 'fixtures');
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.hl7') && !(f.slice(0, -4) in FIXTURES)) unlinkSync(join(dir, f));
for (const [name, text] of Object.entries(FIXTURES)) writeFileSync(join(dir, `${name}.hl7`), text);
console.log(`wrote ${Object.keys(FIXTURES).length} fixtures to ${dir}`);
