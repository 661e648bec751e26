import { Hl7Message } from '@medplum/core';
import { buildAck, buildAckMessage, newControlId } from './ack';
import { escapeHl7, unescapeHl7, DEFAULT_DELIMITERS } from './encoding';
import { applicationError, issueAt } from './issues';
import { mapAdt } from './map-adt';
import { FIXTURES } from './testing/fixtures';

const NOW = Date.parse('2026-11-01T09:30:05Z');
const opts = { now: NOW, controlId: 'ACK0001' };
const a01 = FIXTURES['a01-admit'] as string;
const lines = (ack: string): string[] => ack.split('\r').filter(Boolean);

describe('buildAck', () => {
  it('AA: swapped applications, ACK^trigger^ACK, new control id, same version, MSA with the original MSH-10', () => {
    expect(lines(buildAck(a01, 'AA', [], opts))).toEqual([
      'MSH|^~\\&|PFM|RXT|PAS|RXT|20261101093005+0000||ACK^A01^ACK|ACK0001|P|2.4',
      'MSA|AA|RXT-PAS-000101',
    ]);
  });
  it('terminates every segment with CR and nothing else', () => {
    const ack = buildAck(a01, 'AA', [], opts);
    expect(ack.endsWith('\r')).toBe(true);
    expect(ack).not.toMatch(/\n/);
  });
  it('AA never carries ERR segments, even when given issues', () => {
    expect(buildAck(a01, 'AA', [applicationError('x')], opts)).not.toContain('ERR');
  });
  it('AE: one ERR per issue with location, table 0357 code, severity and text (plus ERR-1 for v2.4)', () => {
    const bad = FIXTURES['bad-missing-pv1-3'] as string;
    const r = mapAdt(bad, { defaultSite: 'RXT' });
    if (r.ok) throw new Error('expected AE');
    const extra = issueAt({ segment: 'PID', sequence: 1, field: 3 }, 102, 'second problem');
    expect(lines(buildAck(bad, r.ack, [...r.errors, extra], opts))).toEqual([
      'MSH|^~\\&|PFM|RXT|PAS|RXT|20261101093005+0000||ACK^A01^ACK|ACK0001|P|2.4',
      'MSA|AE|RXT-PAS-000902|PV1-3 assigned patient location (point of care) is required',
      'ERR|PV1^1^3^101&Required field missing&HL70357|PV1^1^3|101^Required field missing^HL70357|E||||PV1-3 assigned patient location (point of care) is required',
      'ERR|PID^1^3^102&Data type error&HL70357|PID^1^3|102^Data type error^HL70357|E||||second problem',
    ]);
  });
  it('v2.5+ messages get ERR-2..8 only, with component-level locations', () => {
    const msg = a01.replace('|P|2.4|', '|P|2.5.1|');
    const err = issueAt({ segment: 'PV1', sequence: 2, field: 3, component: 1 }, 102, 'too long');
    expect(lines(buildAck(msg, 'AE', [err], opts))[2]).toBe('ERR||PV1^2^3^1^1|102^Data type error^HL70357|E||||too long');
  });
  it('AA with warnings: one ERR each with severity W on v2.5 and later; none on older versions, whose ERR has no severity', () => {
    const unknownFacility = a01.replace('|P|2.4|', '|P|2.5.1|').replace(/^(PV1\|(?:[^|]*\|){2}[^^|]*\^[^^|]*\^[^^|]*\^)[^^|]*/m, '$1ZZZ99');
    const r = mapAdt(unknownFacility, { defaultSite: 'RXT', siteForFacility: () => undefined });
    if (!r.ok) throw new Error('expected AA');
    expect(r.warnings.map((w) => w.path)).toContain('PV1-3.4');
    const ack = lines(buildAck(unknownFacility, 'AA', [], { ...opts, warnings: r.warnings }));
    expect(ack[1]).toBe('MSA|AA|RXT-PAS-000101');
    expect(ack.slice(2)).toContainEqual(expect.stringMatching(/^ERR\|\|PV1\^1\^3\^1\^4\|103\^[^|]*\^HL70357\|W\|\|\|\|PV1-3\.4 facility "ZZZ99" is not in the site map; default site used$/));
    expect(buildAck(a01, 'AA', [], { ...opts, warnings: r.warnings })).not.toContain('ERR');
  });
  it('AR for garbage: default delimiters, no MSA-2, ERR naming MSH', () => {
    const r = mapAdt('hello', { defaultSite: 'RXT' });
    if (r.ok) throw new Error('expected AR');
    expect(lines(buildAck('hello', r.ack, r.errors, opts))).toEqual([
      'MSH|^~\\&|||||20261101093005+0000||ACK|ACK0001|P|2.5.1',
      'MSA|AR||message does not start with an MSH segment',
      'ERR||MSH^1|100^Segment sequence error^HL70357|E||||message does not start with an MSH segment',
    ]);
  });
  it('AE after a Kafka failure uses application error 207', () => {
    const ack = buildAck(a01, 'AE', [applicationError('event log unavailable, resend later')], opts);
    expect(lines(ack)[2]).toBe('ERR|MSH^1^^207&Application internal error&HL70357|MSH^1|207^Application internal error^HL70357|E||||event log unavailable, resend later');
  });
  it('escapes delimiters and strips control characters from texts', () => {
    const err = issueAt({ segment: 'PID', sequence: 1, field: 3 }, 102, 'bad | value ^ with ~ and & and \\ and\rCR\u000bVT\u001cFS');
    const ack = buildAck(a01, 'AE', [err], opts);
    const errLine = lines(ack)[2] as string;
    expect(errLine.endsWith('bad \\F\\ value \\S\\ with \\R\\ and \\T\\ and \\E\\ and CR VT FS')).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(ack.replace(/\r/g, '')).not.toMatch(/[\u0000-\u001f]/);
  });
  it('answers in the sender\'s own delimiters', () => {
    const msg = a01.replace(/\|/g, '#').replace(/\^/g, '$');
    const ack = buildAck(msg, 'AE', [issueAt({ segment: 'PID', sequence: 1, field: 3 }, 101, 'a # b $ c')], opts);
    expect(lines(ack)[0]).toBe('MSH#$~\\&#PFM#RXT#PAS#RXT#20261101093005+0000##ACK$A01$ACK#ACK0001#P#2.4');
    expect(lines(ack)[2]?.endsWith('#a \\F\\ b \\S\\ c')).toBe(true);
  });
  it('accepts a parsed Hl7Message and round-trips through Hl7Message for Hl7Connection.send()', () => {
    const ack = buildAck(Hl7Message.parse(a01), 'AA', [], opts);
    expect(ack).toBe(buildAck(a01, 'AA', [], opts));
    const m = buildAckMessage(a01, 'AA', [], opts);
    expect(m.toString()).toBe(ack);
    expect(m.getSegment('MSA')?.getField(2)?.toString()).toBe('RXT-PAS-000101');
  });
  it('generates fresh 20-character control ids by default', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newControlId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^A[0-9A-F]{19}$/);
    expect(lines(buildAck(a01, 'AA'))[0]).toMatch(/\|ACK\^A01\^ACK\|A[0-9A-F]{19}\|P\|2\.4$/);
  });
});

describe('escaping', () => {
  it('unescape(escape(s)) gives s back', () => {
    const s = 'a|b^c~d\\e&f plain';
    expect(unescapeHl7(escapeHl7(s), DEFAULT_DELIMITERS)).toBe(s);
  });
  it('decodes hex and formatting escapes', () => {
    expect(unescapeHl7('A\\X41\\B\\.br\\C\\H\\D\\N\\', DEFAULT_DELIMITERS)).toBe('AAB CD');
    expect(unescapeHl7('lone \\ escape', DEFAULT_DELIMITERS)).toBe('lone \\ escape');
  });
});
