// A small field vocabulary that yields, from ONE definition, the zod schema (runtime
// validation + inferred TypeScript type) and the Avro schema of a record, so the JSON
// contract, the TS types and the wire schema in the registry cannot drift apart.
import { z } from 'zod';

export type AvroSchema = string | Record<string, unknown> | AvroSchema[];

export interface Field<T, O extends boolean = boolean> {
  readonly zod: z.ZodType<T, unknown>;
  readonly avro: AvroSchema;
  readonly optional: O;
}

const field = <T>(zod: z.ZodType<T, unknown>, avro: AvroSchema): Field<T, false> => ({ zod, avro, optional: false });

export const f = {
  string: (opts: { min?: number; max?: number; pattern?: RegExp } = {}) => {
    let s = z.string().trim().min(opts.min ?? 1).max(opts.max ?? 200);
    if (opts.pattern) s = s.regex(opts.pattern);
    return field<string>(s, 'string');
  },
  int: (opts: { min?: number; max?: number } = {}) =>
    field<number>(z.number().int().min(opts.min ?? Number.MIN_SAFE_INTEGER).max(opts.max ?? Number.MAX_SAFE_INTEGER), 'long'),
  number: (opts: { min?: number; max?: number } = {}) =>
    field<number>(z.number().finite().min(opts.min ?? -Number.MAX_VALUE).max(opts.max ?? Number.MAX_VALUE), 'double'),
  bool: () => field<boolean>(z.boolean(), 'boolean'),
  /** An instant. JSON input: ISO-8601 with an offset, or epoch milliseconds. Canonical form: epoch ms. */
  instant: () =>
    field<number>(
      z.union([
        z.number().int().min(0).max(8.64e15),
        z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
      ]) as unknown as z.ZodType<number, unknown>,
      { type: 'long', logicalType: 'timestamp-millis' },
    ),
  /** A closed set of codes, kept as a string on the wire so new codes never break old readers. */
  oneOf: <const V extends readonly [string, ...string[]]>(values: V) =>
    field<V[number]>(z.enum(values) as unknown as z.ZodType<V[number], unknown>, 'string'),
  /** A short list of strings (codes, ids): an Avro array. */
  stringList: (opts: { max?: number; maxItems?: number } = {}) =>
    field<string[]>(z.array(z.string().trim().min(1).max(opts.max ?? 200)).min(1).max(opts.maxItems ?? 50), { type: 'array', items: 'string' }),
  optional: <T>(inner: Field<T>): Field<T | undefined, true> => ({
    zod: inner.zod.optional() as unknown as z.ZodType<T | undefined, unknown>,
    avro: ['null', inner.avro],
    optional: true,
  }),
};

export type Shape = Record<string, Field<unknown, boolean>>;
type Req<S extends Shape> = { [K in keyof S as S[K]['optional'] extends true ? never : K]: S[K] extends Field<infer T> ? T : never };
type Opt<S extends Shape> = { [K in keyof S as S[K]['optional'] extends true ? K : never]?: S[K] extends Field<infer T> ? Exclude<T, undefined> : never };
export type Infer<S extends Shape> = Req<S> & Opt<S> extends infer O ? { [K in keyof O]: O[K] } : never;

export interface RecordDef<S extends Shape> {
  readonly name: string;
  readonly shape: S;
  readonly zod: z.ZodType<Infer<S>, unknown>;
  readonly avro: { type: 'record'; name: string; fields: { name: string; type: AvroSchema; default?: null }[] };
}

export function record<S extends Shape>(name: string, shape: S): RecordDef<S> {
  const zshape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(shape)) zshape[k] = v.zod as z.ZodType;
  return {
    name,
    shape,
    zod: z.strictObject(zshape) as unknown as z.ZodType<Infer<S>, unknown>,
    avro: {
      type: 'record',
      name,
      fields: Object.entries(shape).map(([k, v]) => (v.optional ? { name: k, type: v.avro, default: null } : { name: k, type: v.avro })),
    },
  };
}
