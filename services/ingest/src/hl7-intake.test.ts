import { MAPPED_TRIGGERS } from '@pfm/hl7';
import { createLogger } from '@pfm/observability';
import { Hl7Intake, decodeHl7, triggerLabel } from './hl7-intake';
import { frame } from './mllp';
import { FakeSink } from './testing/fake-sink';
import { ackCode, hl7Fixture, hl7FixtureNames, withControlId } from './testing/fixtures';

const logger = createLogger('test');
logger.level = 'silent';
const setup = (over: { processingIds?: string[] } = {}) => {
  const sink = new FakeSink();
  const intake = new Hl7Intake({ publisher: sink, logger, mapContext: { defaultSite: 'RXT', siteForFacility: (f) => (f.startsWith('RXT') ? 'RXT' : undefined) }, maxMessageBytes: 4096, ...over });
  return { sink, intake };
};
const msg = (text: string) => ({ kind: 'message' as const, data: Buffer.from(text, 'utf8') });

describe('Hl7Intake', () => {
  it.each(hl7FixtureNames())('%s gets the ACK code the mapper decides, and rejects are recorded before AE/AR', async (name) => {
    const { sink, intake } = setup();
    const out = await intake.process(msg(hl7Fixture(name)));
    if (name.startsWith('bad-')) {
      expect(out.code).toMatch(/^A[ER]$/);
      expect(sink.events).toHaveLength(0);
      expect(sink.rejects).toHaveLength(1);
      expect(sink.rejects[0]).toMatchObject({ channel: 'hl7v2', raw: hl7Fixture(name), rawEncoding: 'utf8' });
      expect(out.ack).toMatch(/\rERR\|/);
    } else {
      expect(out.code).toBe('AA');
      expect(sink.events.length).toBeGreaterThan(0);
      expect(sink.events.every((e) => e.channel === 'hl7v2' && typeof e.recordedAt === 'number')).toBe(true);
      expect(sink.rejects).toHaveLength(0);
    }
    expect(ackCode(out.ack)).toBe(out.code);
  });

  it('maps every trigger the mapper knows (fixture per trigger)', () => {
    const names = hl7FixtureNames().join(' ');
    for (const t of MAPPED_TRIGGERS) expect(names).toContain(t.toLowerCase());
  });

  it('refuses training and debugging messages with AR naming MSH-11', async () => {
    const { sink, intake } = setup();
    const training = hl7Fixture('a01-admit').replace('|P|2.4|', '|T|2.4|');
    const out = await intake.process(msg(training));
    expect(out.code).toBe('AR');
    expect(out.ack).toMatch(/MSH\^1\^11/);
    expect(out.ack).toMatch(/T \(training\) is not accepted/);
    expect(sink.rejects[0]!.errors[0]).toMatchObject({ path: 'MSH-11' });
    expect(sink.events).toHaveLength(0);
    const { intake: lenient } = setup({ processingIds: ['P', 'T'] });
    expect((await lenient.process(msg(training))).code).toBe('AA');
  });

  it('answers an oversized frame AR quoting its MSH, and keeps its head', async () => {
    const { sink, intake } = setup();
    const head = Buffer.from(hl7Fixture('a01-admit'));
    const out = await intake.process({ kind: 'oversize', head, size: 9_999_999 });
    expect(out.code).toBe('AR');
    expect(out.ack).toContain('MSA|AR|RXT-PAS-000101|message of 9999999 bytes is over the limit');
    expect(sink.rejects[0]!.reason).toMatch(/oversize/);
  });

  it('answers a broken frame AR', async () => {
    const { intake } = setup();
    const out = await intake.process({ kind: 'incomplete', data: Buffer.from('MSH|^~\\&|PAS|RXT|PFM|RXT|2026||ADT^A01|C1|P|2.4\rPID|1') });
    expect(out.code).toBe('AR');
    expect(out.ack).toContain('MSA|AR|C1|incomplete frame');
  });

  it('random bytes: AR, raw kept in base64 so nothing is lost', async () => {
    const { sink, intake } = setup();
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
    const out = await intake.process({ kind: 'message', data: bytes });
    expect(out.code).toBe('AR');
    expect(sink.rejects[0]).toMatchObject({ rawEncoding: 'base64', raw: bytes.toString('base64') });
  });

  it('counts unmapped triggers by trigger and still answers AA', async () => {
    const { Metrics } = await import('@pfm/observability');
    const metrics = new Metrics('test');
    const sink = new FakeSink();
    const intake = new Hl7Intake({ publisher: sink, logger, metrics, mapContext: { defaultSite: 'RXT' }, maxMessageBytes: 4096 });
    expect((await intake.process(msg(hl7Fixture('a31-update-person')))).code).toBe('AA');
    expect((await intake.process(msg(hl7Fixture('oru-r01-result')))).code).toBe('AA');
    const text = await metrics.registry.getSingleMetricAsString('pfm_ingest_unmapped_total');
    expect(text).toMatch(/trigger="ADT\^A31"[^\n]* 1/);
    expect(text).toMatch(/trigger="ORU\^R01"[^\n]* 1/);
  });

  it('Kafka down: no ACK, the connection is to be closed; same for a message that would be rejected', async () => {
    const { sink, intake } = setup();
    sink.down = true;
    expect(await intake.handle(msg(hl7Fixture('a01-admit')), 'peer')).toEqual({ close: 'event log unavailable' });
    expect(await intake.handle(msg(hl7Fixture('bad-nhs-number')), 'peer')).toEqual({ close: 'event log unavailable' });
  });

  it('a re-sent message maps to the same event ids (dedupe downstream by MSH-10)', async () => {
    const { sink, intake } = setup();
    const m = withControlId(hl7Fixture('a17-swap'), 'CTRL-77');
    await intake.process(msg(m));
    await intake.process(msg(m));
    expect(sink.events.map((e) => e.eventId)).toEqual(['CTRL-77-1', 'CTRL-77-2', 'CTRL-77-1', 'CTRL-77-2']);
  });

  it('reads ISO 8859-1 when MSH-18 says so, and answers in it', async () => {
    const { sink, intake } = setup();
    const text = hl7Fixture('a01-admit').replace('UNICODE UTF-8', '8859/1').replace('SYNTHETIC^ALEX', 'SYNTHÉTIC^ÁLEX');
    const data = Buffer.from(text, 'latin1');
    expect(decodeHl7(data)).toEqual({ text, latin1: true });
    const reply = await intake.handle({ kind: 'message', data }, 'peer');
    expect('reply' in reply && reply.reply.toString('latin1')).toMatch(/MSA\|AA\|RXT-PAS-000101/);
    expect(sink.events).toHaveLength(1);
    expect(frame(Buffer.from('x'))[0]).toBe(0x0b);
  });
});

describe('metric labels', () => {
  it('a sender-supplied trigger becomes a bounded label', () => {
    expect(triggerLabel('A31')).toBe('A31');
    expect(triggerLabel('ADT^A31')).toBe('ADT^A31');
    expect(triggerLabel('9434765919')).toBe('other');
    expect(triggerLabel('X'.repeat(30))).toBe('other');
  });
});
