// The scripts as Redis gets them: the shared alert fragment stands in place of each
// include line, once, and nothing is left to include.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRIPTS, scriptSource } from './store';

const fragment = readFileSync(join(__dirname, 'lua', 'alerts.lua'), 'utf8').trimEnd();

describe('scriptSource', () => {
  it.each(Object.values(SCRIPTS).map((s) => s.file))('%s holds the alert fragment once and no include line', (file) => {
    const text = scriptSource(file);
    expect(text).not.toMatch(/^--#include/m);
    expect(text.split(fragment)).toHaveLength(2);
    expect(text.match(/^local function raiseAlert\(/gm)).toHaveLength(1);
    // Same files, same text: the SHA Redis caches the script under is stable.
    expect(scriptSource(file)).toBe(text);
  });
});
