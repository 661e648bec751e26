// A small field vocabulary that yields, from ONE definition, the zod schema (runtime
// validation + inferred TypeScript type) and the Avro schema of a record, so the JSON
// contract, the TS types and the wire schema in the registry cannot drift apart.
import { z } from 'zod';

export type AvroSchema = string | Record<string, unknown> | AvroSchema[];

export interface Field<T, O extends boolean = boolean> {
  readonly zod: z.ZodType<T, unknown>;
  readonly avro: AvroSchema;
  readonly optional: O;
  /**
   * A quick test with no allocation: true only for a value the zod schema accepts
   * unchanged (no transform needed). False means "ask zod", which decides and says why:
   * it may still accept (an ISO time, a padded NHS number). Never looser than zod
   * (contracts.test.ts checks this on random and mutated events).
   */
  readonly plain: (v: unknown) => boolean;
}

const field = <T>(zod: z.ZodType<T, unknown>, avro: AvroSchema, plain: (v: unknown) => boolean): Field<T, false> => ({ zod, avro, optional: false, plain });

/** A string as zod's trim().min().max().regex() checks it. */
const plainString = (v: unknown, min: number, max: number, pattern?: RegExp): boolean => {
  if (typeof v !== 'string') return false;
  const t = v.trim();
  return t.length >= min && t.length <= max && (!pattern || (pattern.lastIndex = 0, pattern.test(t)));
};

export const f = {
  string: (opts: { min?: number; max?: number; pattern?: RegExp } = {}) => {
    const min = opts.min ?? 1;
    const max = opts.max ?? 200;
    let s = z.string().trim().min(min).max(max);
    if (opts.pattern) s = s.regex(opts.pattern);
    const pattern = opts.pattern;
    return field<string>(s, 'string', (v) => plainString(v, min, max, pattern));
  },
  int: (opts: { min?: number; max?: number } = {}) => {
    const min = opts.min ?? Number.MIN_SAFE_INTEGER;
    const max = opts.max ?? Number.MAX_SAFE_INTEGER;
    return field<number>(z.number().int().min(min).max(max), 'long', (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max);
  },
  number: (opts: { min?: number; max?: number } = {}) => {
    const min = opts.min ?? -Number.MAX_VALUE;
    const max = opts.max ?? Number.MAX_VALUE;
    return field<number>(z.number().finite().min(min).max(max), 'double', (v) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max);
  },
  bool: () => field<boolean>(z.boolean(), 'boolean', (v) => typeof v === 'boolean'),
  /** An instant. JSON input: ISO-8601 with an offset, or epoch milliseconds. Canonical form: epoch ms. */
  instant: () =>
    field<number>(
      z.union([
        z.number().int().min(0).max(8.64e15),
        z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
      ]) as unknown as z.ZodType<number, unknown>,
      { type: 'long', logicalType: 'timestamp-millis' },
      // Epoch ms as decoded from Avro; an ISO string is zod's to parse.
      (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 8.64e15,
    ),
  /** A closed set of codes, kept as a string on the wire so new codes never break old readers. */
  oneOf: <const V extends readonly [string, ...string[]]>(values: V) =>
    field<V[number]>(z.enum(values) as unknown as z.ZodType<V[number], unknown>, 'string', (v) => typeof v === 'string' && (values as readonly string[]).includes(v)),
  /** A short list of strings (codes, ids): an Avro array. */
  stringList: (opts: { max?: number; maxItems?: number } = {}) => {
    const max = opts.max ?? 200;
    const maxItems = opts.maxItems ?? 50;
    return field<string[]>(z.array(z.string().trim().min(1).max(max)).min(1).max(maxItems), { type: 'array', items: 'string' },
      (v) => Array.isArray(v) && v.length >= 1 && v.length <= maxItems && v.every((x) => plainString(x, 1, max)));
  },
  optional: <T>(inner: Field<T>): Field<T | undefined, true> => ({
    zod: inner.zod.optional() as unknown as z.ZodType<T | undefined, unknown>,
    avro: ['null', inner.avro],
    optional: true,
    plain: (v) => v === undefined || inner.plain(v),
  }),
};

/** A plain object (what Avro decoding and JSON parsing give) with no key outside `known` and every field of `shape` plain. */
export function plainRecord(v: unknown, shape: Shape, known: ReadonlySet<string>): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) if (!known.has(k)) return false;
  for (const k in shape) if (!shape[k]!.plain((v as Record<string, unknown>)[k])) return false;
  return true;
}

export type Shape = Record<string, Field<unknown, boolean>>;
type Req<S extends Shape> = { [K in keyof S as S[K]['optional'] extends true ? never : K]: S[K] extends Field<infer T> ? T : never };
type Opt<S extends Shape> = { [K in keyof S as S[K]['optional'] extends true ? K : never]?: S[K] extends Field<infer T> ? Exclude<T, undefined> : never };
export type Infer<S extends Shape> = Req<S> & Opt<S> extends infer O ? { [K in keyof O]: O[K] } : never;

export interface RecordDef<S extends Shape> {
  readonly name: string;
  readonly shape: S;
  readonly zod: z.ZodType<Infer<S>, unknown>;
  readonly avro: { type: 'record'; name: string; fields: { name: string; type: AvroSchema; default?: null }[] };
  /** True only for a value `zod` accepts unchanged (see Field.plain). */
  readonly plain: (v: unknown) => boolean;
}

export function record<S extends Shape>(name: string, shape: S): RecordDef<S> {
  const zshape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(shape)) zshape[k] = v.zod as z.ZodType;
  const known = new Set(Object.keys(shape));
  return {
    name,
    shape,
    zod: z.strictObject(zshape) as unknown as z.ZodType<Infer<S>, unknown>,
    avro: {
      type: 'record',
      name,
      fields: Object.entries(shape).map(([k, v]) => (v.optional ? { name: k, type: v.avro, default: null } : { name: k, type: v.avro })),
    },
    plain: (v) => plainRecord(v, shape, known),
  };
}
