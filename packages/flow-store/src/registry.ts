// The ward registry: a config file a trust edits (site, ward code as the PAS sends it
// in PV1-3, name, type, bed count). Events naming an unregistered ward are still
// applied; the ward shows as type "unknown" until the trust completes the registry.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { wardSchema, type Ward, type WardType } from '@pfm/contracts';

export class WardRegistry {
  private readonly byKey = new Map<string, Ward>();
  constructor(wards: Ward[]) {
    for (const w of wards) this.byKey.set(`${w.site}/${w.code}`, w);
  }
  static fromFile(path: string): WardRegistry {
    const parsed = z.array(wardSchema).safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) {
      throw new Error(`ward registry ${path} is invalid:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
    }
    return new WardRegistry(parsed.data);
  }
  get(site: string, code: string): Ward | undefined { return this.byKey.get(`${site}/${code}`); }
  /** The registered ward, or a placeholder of type "unknown" for ops to complete. */
  resolve(site: string, code: string): Ward {
    return this.get(site, code) ?? { site, code, name: `${code} (not in registry)`, type: 'unknown', beds: 0 };
  }
  typeOf(site: string, code: string): WardType { return this.get(site, code)?.type ?? 'unknown'; }
  /** true: a unit outside the trust (out-of-area placement); false: a local ward; undefined: not in the registry. */
  external(site: string, code: string): boolean | undefined {
    const w = this.get(site, code);
    return w ? w.external === true : undefined;
  }
  wards(site?: string): Ward[] { return [...this.byKey.values()].filter((w) => !site || w.site === site); }
  sites(): string[] { return [...new Set([...this.byKey.values()].map((w) => w.site))]; }
}
