import type { Producer, ProducerRecord } from 'kafkajs';
import type { FlowEvent } from '@pfm/contracts';
import type { FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { Publisher, UnavailableError } from './publisher';

const logger = createLogger('test');
logger.level = 'silent';
const ev = (id: string): FlowEvent => ({ eventId: id, type: 'leave.ended', occurredAt: 1, recordedAt: 1, site: 'RXT', patientId: 'P', sourceSystem: 's', channel: 'json', payload: { spellId: 'S' } });
const codec = { encode: async (e: FlowEvent) => Buffer.from(e.eventId) } as unknown as FlowEventCodec;

/** A producer whose sends complete when the test says so. */
function fakeProducer() {
  const sends: { record: ProducerRecord; done: (err?: Error) => void }[] = [];
  const producer = {
    send: (record: ProducerRecord) => new Promise((resolve, reject) => sends.push({ record, done: (err) => (err ? reject(err) : resolve([])) })),
  } as unknown as Producer;
  return { producer, sends, ids: (i: number) => sends[i]!.record.messages.map((m) => String(m.value)) };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('Publisher group commit', () => {
  it('publishes that arrive during a send go together in the next one, in order; each resolves with its send', async () => {
    const f = fakeProducer();
    const pub = new Publisher(f.producer, codec, logger);
    const p1 = pub.publish([ev('a')]);
    await flush();
    const p2 = pub.publish([ev('b'), ev('c')]);
    const p3 = pub.publish([ev('d')]);
    await flush();
    expect(f.sends).toHaveLength(1);
    f.sends[0]!.done();
    await p1;
    await flush();
    expect(f.sends).toHaveLength(2);
    expect(f.ids(1)).toEqual(['b', 'c', 'd']);
    let settled = false;
    void p2.then(() => { settled = true; });
    await flush();
    expect(settled).toBe(false);
    f.sends[1]!.done();
    await Promise.all([p2, p3]);
  });

  it('a failed send rejects every publish in it with UnavailableError; the next group still goes', async () => {
    const f = fakeProducer();
    const pub = new Publisher(f.producer, codec, logger);
    const p1 = pub.publish([ev('a')]);
    await flush();
    const p2 = pub.publish([ev('b')]);
    f.sends[0]!.done(new Error('broker gone'));
    await expect(p1).rejects.toBeInstanceOf(UnavailableError);
    await flush();
    f.sends[1]!.done();
    await expect(p2).resolves.toBeUndefined();
  });

  it('no acknowledgement within the deadline -> UnavailableError', async () => {
    const f = fakeProducer();
    const pub = new Publisher(f.producer, codec, logger, undefined, { timeoutMs: 50 });
    await expect(pub.publish([ev('a')])).rejects.toThrow(/no acknowledgement within 50 ms/);
  });
});

describe('Publisher refusals', () => {
  it('events whose caller was refused (deadline) are not sent later', async () => {
    const f = fakeProducer();
    const pub = new Publisher(f.producer, codec, logger, undefined, { timeoutMs: 50 });
    const first = pub.publish([ev('in-flight')]);
    await flush();
    const second = pub.publish([ev('refused')]);
    await expect(second).rejects.toBeInstanceOf(UnavailableError);
    await expect(first).rejects.toBeInstanceOf(UnavailableError);
    const third = pub.publish([ev('later')]);
    f.sends[0]!.done();
    await flush();
    expect(f.sends).toHaveLength(2);
    expect(f.ids(1)).toEqual(['later']);
    f.sends[1]!.done();
    await third;
  });
});
