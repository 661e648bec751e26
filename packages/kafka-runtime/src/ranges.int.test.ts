/** @pfm-stack kafka */
// The range reader on the real broker: several ranges per partition, in order, clipped to
// the log; a failure of the caller ends the read with that error.
import type { Kafka } from 'kafkajs';
import { numbered, openScratchTopic, uniqueName, type ScratchTopic } from '@pfm/testkit';
import { fetchBytesFor, normaliseRanges, partitionBounds, readRanges } from './ranges';
import { kafkaClientConfig } from './client';

describe('readRanges on the real broker', () => {
  let kafka: Kafka;
  let scratch: ScratchTopic | undefined;
  const topic = uniqueName('ranges');

  beforeAll(async () => {
    scratch = await openScratchTopic(topic, 2, [{ partition: 0, values: numbered('a', 50) }, { partition: 1, values: numbered('b', 8) }], kafkaClientConfig);
    ({ kafka } = scratch);
  });

  afterAll(async () => {
    await scratch?.close();
  });

  it('reads each range of each partition once, in offset order, and stops', async () => {
    const seen: Record<number, string[]> = { 0: [], 1: [] };
    const r = await readRanges(kafka, topic, new Map([
      [0, [{ from: 40n, to: 45n }, { from: 3n, to: 6n }, { from: 5n, to: 8n }]],
      [1, [{ from: 6n, to: 100n }]],
    ]), async (p, msgs) => { seen[p]!.push(...msgs.map((m) => m.value!.toString())); }, { groupPrefix: topic });
    expect(seen[0]).toEqual(['a3', 'a4', 'a5', 'a6', 'a7', 'a40', 'a41', 'a42', 'a43', 'a44']);
    expect(seen[1]).toEqual(['b6', 'b7']);
    expect(r.messages).toBe(12);
  });

  it('reads the end of one partition only, with the bounds given and a fetch bound smaller than a message', async () => {
    const seen: string[] = [];
    const bounds = await partitionBounds(kafka, topic);
    const r = await readRanges(kafka, topic, new Map([[0, [{ from: 47n, to: 50n }]]]), async (p, msgs) => { seen.push(...msgs.map((m) => `${p}:${m.value!.toString()}`)); }, { groupPrefix: topic, bounds, maxBytesPerPartition: 1 });
    expect(seen).toEqual(['0:a47', '0:a48', '0:a49']);
    expect(r.messages).toBe(3);
  });

  it('reads nothing for ranges outside the log, and ends with the caller\'s error', async () => {
    expect((await readRanges(kafka, topic, new Map([[1, [{ from: 8n, to: 20n }]], [7, [{ from: 0n, to: 5n }]]]), async () => { throw new Error('never called'); }, { groupPrefix: topic })).messages).toBe(0);
    await expect(readRanges(kafka, topic, new Map([[0, [{ from: 0n, to: 50n }]]]), async () => { throw new Error('refused'); }, { groupPrefix: topic })).rejects.toThrow('refused');
  });

  it('bounds a fetch by the longest range, 64 KiB to 1 MiB (pure)', () => {
    expect(fetchBytesFor(new Map([[0, [{ from: 0n, to: 10n }]]]))).toBe(64 * 1024);
    expect(fetchBytesFor(new Map([[0, [{ from: 0n, to: 10n }]], [1, [{ from: 100n, to: 400n }]]]))).toBe(300 * 1024);
    expect(fetchBytesFor(new Map([[0, [{ from: 0n, to: 90_000n }]]]))).toBe(1024 * 1024);
  });

  it('clips and merges ranges (pure)', () => {
    const bounds = new Map([[0, { low: 10n, high: 100n }]]);
    expect(normaliseRanges(new Map([[0, [{ from: 50n, to: 200n }, { from: 0n, to: 20n }, { from: 20n, to: 30n }, { from: 60n, to: 60n }]], [3, [{ from: 0n, to: 1n }]]]), bounds))
      .toEqual(new Map([[0, [{ from: 10n, to: 30n }, { from: 50n, to: 100n }]]]));
  });
});

describe('readRanges with seeks between ranges while other partitions are slow', () => {
  let scratch: ScratchTopic | undefined;
  const topic = uniqueName('ranges-seek');
  // Record batches of 5 messages (one send each), 40 per partition.
  const sends = [0, 1].flatMap((partition) => Array.from({ length: 40 }, (_, i) => ({ partition, values: numbered(`${'ab'[partition]}${i}-`, 5) })));

  beforeAll(async () => {
    scratch = await openScratchTopic(topic, 2, sends, kafkaClientConfig);
  });

  afterAll(async () => {
    await scratch?.close();
  });

  it('reads every range once: a batch fetched before a seek is never taken for the range after it', async () => {
    // Partition 1: two messages of every other record batch (a seek after each range: the
    // consumer has fetched on meanwhile); partition 0, read whole, is slow to apply, so
    // partition 1's fetched batches wait behind it.
    const ranges = Array.from({ length: 20 }, (_, k) => ({ from: BigInt(k * 10), to: BigInt(k * 10 + 2) }));
    const seen: string[] = [];
    const r = await readRanges(scratch!.kafka, topic, new Map([[0, [{ from: 0n, to: 200n }]], [1, ranges]]), async (p, msgs) => {
      if (p === 0) await new Promise((res) => setTimeout(res, 30));
      else seen.push(...msgs.map((m) => m.offset));
    }, { groupPrefix: topic, maxBytesPerPartition: 1 });
    expect(seen).toEqual(ranges.flatMap((x) => [String(x.from), String(x.from + 1n)]));
    expect(r.messages).toBe(200 + 40);
  }, 60_000);
});

describe('readRanges across a rejoin of its group', () => {
  let scratch: ScratchTopic | undefined;
  const topic = uniqueName('ranges-rejoin');
  // 30 record batches of 5 messages on one partition.
  const sends = Array.from({ length: 30 }, (_, i) => ({ partition: 0, values: numbered(`r${i}-`, 5) }));

  beforeAll(async () => {
    scratch = await openScratchTopic(topic, 1, sends, kafkaClientConfig);
  });

  afterAll(async () => {
    await scratch?.close();
  });

  it('hands every message over once when a slow caller outlasts the session and the group rejoins', async () => {
    // The first hand-over takes longer than the session timeout: the broker drops the
    // member, the consumer joins again, and its uncommitted group would start it again
    // from the start of the log.
    const seen: string[] = [];
    let first = true;
    const r = await readRanges(scratch!.kafka, topic, new Map([[0, [{ from: 20n, to: 140n }]]]), async (_p, msgs) => {
      seen.push(...msgs.map((m) => m.offset));
      if (first) { first = false; await new Promise((res) => setTimeout(res, 9_000)); }
    }, { groupPrefix: topic, maxBytesPerPartition: 1, sessionTimeoutMs: 6_000 });
    expect(r.joins).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => String(20 + i)));
    expect(r.messages).toBe(120);
  }, 90_000);
});
