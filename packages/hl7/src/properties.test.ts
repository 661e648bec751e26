// Property tests: whatever arrives on the wire, mapAdt and buildAck return a result
// (never throw), and every event they call ok passes the canonical input schema.
import fc from 'fast-check';
import { flowEventInputSchema } from '@pfm/contracts';
import { buildAck } from './ack';
import { formatDtm, localToEpochMs, parseDtm, zoneOffsetMs } from './dtm';
import { DEFAULT_DELIMITERS, escapeHl7, unescapeHl7 } from './encoding';
import { HL7_ERROR_CODES, issueAt, type Hl7ErrorCode } from './issues';
import { mapAdt, MAPPED_TRIGGERS, type MapContext, type MapResult } from './map-adt';
import { parseHl7 } from './parse';
import { FIXTURES, msg, seg } from './testing/fixtures';

const ctx: MapContext = { defaultSite: 'RXT', siteForFacility: (f) => (f === 'RXT01' ? 'RXT' : undefined) };
const runs = { numRuns: 300 };

function checkResult(r: MapResult, controlId?: string): void {
  if (r.ok) {
    expect(r.events.length).toBeGreaterThan(0);
    for (const e of r.events) {
      const v = flowEventInputSchema.safeParse(e);
      if (!v.success) throw new Error(`event fails the contract: ${JSON.stringify(v.error.issues)}`);
      if (controlId !== undefined) expect(e.eventId?.startsWith(controlId)).toBe(true);
    }
  } else {
    expect(['AE', 'AR']).toContain(r.ack);
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(e.segment).toMatch(/^[A-Z][A-Z0-9]{2}$/);
      expect(e.message.length).toBeGreaterThan(0);
      expect(HL7_ERROR_CODES[e.code]).toBeDefined();
    }
  }
}

function checkAck(ack: string): void {
  expect(ack.startsWith('MSH')).toBe(true);
  // eslint-disable-next-line no-control-regex
  expect(ack.replace(/\r/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
  const parsed = parseHl7(ack);
  expect(parsed.ok).toBe(true);
  if (parsed.ok) expect(parsed.parsed.segments.map((s) => s.name).slice(0, 2)).toEqual(['MSH', 'MSA']);
}

const delimiterChars = fc.constantFrom('|', '^', '~', '\\', '&', '\r', '\n', '"', ' ', '\u000b', '\u001c');
const noisyText = fc.string({ unit: fc.oneof(fc.constantFrom('|', '^', '~', '\\', '&', '\r'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 300 });
const fixtureText = fc.constantFrom(...Object.values(FIXTURES));

/** A fixture damaged the way real feeds damage messages. */
const mutated = fc.oneof(
  fc.tuple(fixtureText, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))),
  fc.tuple(fixtureText, fc.nat(), fc.array(delimiterChars, { maxLength: 8 })).map(([t, n, cs]) => {
    const i = n % (t.length + 1);
    return t.slice(0, i) + cs.join('') + t.slice(i);
  }),
  fc.tuple(fixtureText, fc.nat(), fc.nat({ max: 40 })).map(([t, n, len]) => {
    const i = n % (t.length + 1);
    return t.slice(0, i) + t.slice(i + len);
  }),
  fc.tuple(fixtureText, fc.nat(), noisyText).map(([t, n, junk]) => {
    const i = n % (t.length + 1);
    return t.slice(0, i) + junk + t.slice(i);
  }),
  fc.tuple(fixtureText, fc.integer({ min: 2, max: 20 })).map(([t, k]) => {
    const segs = t.split('\r').filter(Boolean);
    return segs.concat(segs.slice(1).flatMap((s) => Array.from({ length: k % 3 }, () => s))).join('\r');
  }),
);

/** Structurally valid ADT messages with random field contents, to reach deep into the mapping. */
const field = fc.oneof(
  fc.constant(''),
  fc.constant('""'),
  fc.stringMatching(/^[A-Z0-9]{1,12}$/),
  fc.string({ maxLength: 80 }),
  fc.stringMatching(/^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d)([01]\d|2[0-3])[0-5]\d([+-](0\d|1[0-4])[0-5]\d)?$/),
);
const nhs = fc.constantFrom('9434765919', '9990000018', '9434765918', '1234567890', '', '943 476 5919');
const randomAdt = fc
  .record({
    trigger: fc.oneof(fc.constantFrom(...MAPPED_TRIGGERS), fc.constantFrom('A31', 'A20', 'A28', 'ZZZ')),
    control: fc.stringMatching(/^[A-Z0-9-]{1,30}$/),
    msh7: field,
    evn2: field,
    evn6: field,
    local: fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Z0-9]{1,70}$/)),
    nhs,
    name: field,
    dob: fc.oneof(field, fc.stringMatching(/^(19|20)\d{6}$/)),
    sex: fc.oneof(field, fc.constantFrom('M', 'F', 'U', 'O')),
    cls: fc.constantFrom('I', 'E', 'O', 'P', ''),
    ward: fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Z0-9]{1,40}$/)),
    bed: field,
    facility: fc.constantFrom('RXT01', 'ZZZ99', ''),
    spell: fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Z0-9]{1,70}$/)),
    codes: fc.array(field, { minLength: 4, maxLength: 4 }),
    admitAt: field,
    edd: fc.oneof(field, fc.stringMatching(/^20\d\d(0[1-9]|1[0-2])(0[1-9]|1\d)$/)),
    second: fc.boolean(),
    mrg: fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Z0-9]{1,20}$/)),
  })
  .map((r) => {
    const pid = (local: string) => seg('PID', { 1: '1', 3: [local && `${local}^^^RXT^PI`, r.nhs && `${r.nhs}^^^NHS^NH`].filter(Boolean).join('~'), 5: r.name, 7: r.dob, 8: r.sex });
    const pv1 = seg('PV1', { 2: r.cls, 3: `${r.ward}^^${r.bed}^${r.facility}`, 4: r.codes[0] ?? '', 14: r.codes[1] ?? '', 19: r.spell, 36: r.codes[2] ?? '', 37: r.codes[3] ?? '', 44: r.admitAt, 45: r.admitAt });
    const segments = [
      seg('MSH', { 3: 'PAS', 7: r.msh7, 9: `ADT^${r.trigger}`, 10: r.control, 12: '2.4' }),
      seg('EVN', { 1: r.trigger, 2: r.evn2, 6: r.evn6 }),
      pid(r.local),
      pv1,
      seg('PV2', { 9: r.edd, 47: r.admitAt }),
      ...(r.mrg ? [seg('MRG', { 1: `${r.mrg}^^^RXT^PI` })] : []),
      ...(r.second ? [pid(`${r.local}2`), pv1] : []),
    ];
    return { text: msg(...segments), control: r.control };
  });

describe('mapAdt never throws', () => {
  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (s) => checkResult(mapAdt(s, ctx))), runs);
  });
  it('on arbitrary text that starts like a message', () => {
    fc.assert(fc.property(noisyText, (s) => checkResult(mapAdt(`MSH|^~\\&|${s}`, ctx))), runs);
  });
  it('on truncated, spliced and duplicated fixtures', () => {
    fc.assert(fc.property(mutated, (s) => checkResult(mapAdt(s, ctx))), { numRuns: 1000 });
  });
  it('on well-formed ADT messages with random contents; ok events carry the control id', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(randomAdt, ({ text, control }) => {
      const r = mapAdt(text, ctx);
      checkResult(r, control);
      if (r.ok) for (const e of r.events) seen.add(e.type);
    }), { numRuns: 1000, seed: 20261202 });
    // The generator must reach the mapping, not only its error paths. The run is seeded:
    // unseeded, the number of event types reached varied from 3 to 9 and a fixed floor
    // failed now and then (seen on a fresh clone); seeded, it is the same on every run.
    expect(seen.size).toBeGreaterThanOrEqual(6);
  });
  it('on oversized input (rejected with AR, quickly)', () => {
    const huge = `${FIXTURES['a01-admit']}NTE|1||${'x'.repeat(1_100_000)}\r`;
    const t0 = Date.now();
    const r = mapAdt(huge, ctx);
    expect(r.ok ? 'ok' : r.ack).toBe('AR');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
  it('on a large but allowed message (many segments)', () => {
    const big = (FIXTURES['a01-admit'] as string) + Array.from({ length: 5000 }, (_, i) => `NTE|${i}||note ${i}\r`).join('');
    checkResult(mapAdt(big, ctx));
    expect(mapAdt(big, ctx).ok).toBe(true);
  });
});

describe('buildAck never throws and always yields a parseable ACK', () => {
  const issue = fc.record({
    segment: fc.stringMatching(/^[A-Z][A-Z0-9]{2}$/),
    sequence: fc.integer({ min: 1, max: 5 }),
    field: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    code: fc.constantFrom(...(Object.keys(HL7_ERROR_CODES).map(Number) as Hl7ErrorCode[])),
    message: fc.string({ unit: 'binary', maxLength: 200 }),
  }).map((i) => issueAt(i.field === undefined ? { segment: i.segment, sequence: i.sequence } : i, i.code, i.message));
  it('for any input, code and issues', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated, fixtureText), fc.constantFrom('AA', 'AE', 'AR' as const), fc.array(issue, { maxLength: 5 }), (raw, code, issues) => {
        const ack = buildAck(raw, code, issues, { now: 0, controlId: 'X' });
        checkAck(ack);
        const errs = ack.split('\r').filter((l) => l.startsWith('ERR'));
        expect(errs).toHaveLength(code === 'AA' ? 0 : issues.length);
      }),
      runs,
    );
  });
});

describe('encoding and time properties', () => {
  it('unescape(escape(s)) === s for text without control characters', () => {
    // eslint-disable-next-line no-control-regex
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => { const clean = s.replace(/[\u0000-\u001f\u007f]+/g, ' '); expect(unescapeHl7(escapeHl7(clean), DEFAULT_DELIMITERS)).toBe(clean); }), runs);
  });
  it('formatDtm then parseDtm gives the same instant (to the second)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800 }), (sec) => {
      expect(parseDtm(formatDtm(sec * 1000))?.epochMs).toBe(sec * 1000);
    }), runs);
  });
  it('London wall-clock time maps back to its instant, except in the repeated autumn hour (earliest wins)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800 }), (sec) => {
      const t = sec * 1000;
      const local = new Date(t + zoneOffsetMs(t));
      const back = localToEpochMs({ year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds() });
      if (back !== t) {
        expect(back).toBe(t - 3_600_000);
        expect(zoneOffsetMs(back)).toBe(3_600_000);
        expect(zoneOffsetMs(t)).toBe(0);
      }
    }), runs);
  });
});
