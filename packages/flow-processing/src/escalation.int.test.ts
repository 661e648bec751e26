// Escalation is an event people receive: a Critical alert nobody acknowledges moves to the
// next role when its time comes with no event arriving, as a new version of the alert on
// the alerts topic, exactly once; an acknowledged one never does. Real engine, Redis and
// Kafka; time is a clock the test moves (small thresholds from config, no sleeps).
import Redis from 'ioredis';
import { Kafka, type Consumer } from 'kafkajs';
import { topicsFor, type Alert } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, type Thresholds } from '@pfm/flow-domain';
import { ev, hours } from '@pfm/flow-domain/src/testing';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { sendFlowEvents, type FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { uniqueName, waitFor } from '@pfm/testkit';
import type { Clock } from './clock';
import { closeEngineStack, openEngineStack, readJsonTopics } from './testing';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';

/** The wall clock as the engine sees it, moved by the test. */
class TestClock implements Clock {
  readonly kind = 'wall' as const;
  constructor(public t: number) {}
  now(): number { return this.t; }
  scanTime(): number { return this.t; }
  observe(): void {}
}

const MIN = 60_000;
const B = Date.parse('2026-03-02T09:00:00Z');
// Small thresholds from configuration: a Critical alert escalates every 5 minutes.
const thresholds: Thresholds = { ...DEFAULT_THRESHOLDS, escalation: { critical: { afterMinutes: 5, wardChain: ['ward', 'bed_manager', 'ops'], teamChain: ['crisis_team', 'bed_manager', 'ops'] } } };

describe('escalation of unacknowledged alerts on the real stack', () => {
  const ns = uniqueName('escalation');
  const t = topicsFor(ns);
  const topics = engineTopics(t);
  const logger = createLogger('escalation-test');
  logger.level = 'warn';
  const keys = new Keys(ns.replace(/-/g, '_'));
  const clock = new TestClock(B);
  let kafka: Kafka;
  let redis: Redis;
  let codec: FlowEventCodec;
  let producer: Awaited<ReturnType<typeof openEngineStack>>['producer'];
  let store: FlowStore;
  let engine: FlowEngine;
  let reader: Consumer;
  const published: Alert[] = [];
  const scanner = () => new Scanner({ store, engine, clock, producer, codec, flowTopic: t.flowEvents, logger, parkWaitMs: 3600_000, expireParked: false });
  const versionsOf = (alertId: string) => published.filter((a) => a.alertId === alertId).map((a) => a.version);

  beforeAll(async () => {
    ({ kafka, redis, codec, producer } = await openEngineStack(ns, t.flowEvents, 1));
    store = new FlowStore(redis, keys, new WardRegistry([{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 10 }]), thresholds);
    reader = await readJsonTopics(kafka, `${ns}-reader`, [t.alerts], (_, a) => published.push(a as Alert));
    engine = new FlowEngine({ kafka, producer, codec, store, clock, logger, groupId: `${ns}-engine`, topics, publish: true });
    await engine.start();
  }, 60_000);

  afterAll(() => closeEngineStack({ engine, reader, producer, store, redis }));

  /** A crisis referral (emergency: 4 h to respond) whose Critical response alert the scanner raises at B + 5 h. */
  async function raiseReferralAlert(patientId: string): Promise<Alert> {
    await sendFlowEvents(producer, codec, [ev('referral.received', { referralId: `R-${patientId}`, team: 'CRISIS-N', teamType: 'crisis', urgency: 'emergency' }, B, { patientId })], t.flowEvents);
    await waitFor(async () => (await store.patient('RXT', patientId)) !== null, { what: `referral of ${patientId} applied` });
    clock.t = B + hours(5);
    await scanner().scanOnce();
    return waitFor(() => published.find((a) => a.patientId === patientId && a.rule === 'referral_response'), { what: `the response alert of ${patientId}` });
  }

  it('a Critical alert left unacknowledged past afterMinutes is escalated on the alerts topic once per level, to the bed manager then ops', async () => {
    const raised = await raiseReferralAlert('PE1');
    expect(raised).toMatchObject({ severity: 'critical', team: 'CRISIS-N', version: 1, raisedAt: B + hours(5) });
    expect(raised.escalated).toBeUndefined();

    // 4 minutes on: not due.
    clock.t = raised.raisedAt + 4 * MIN;
    await scanner().scanOnce();
    // 5 minutes on: two scanners at once, and a second pass after them, write it once.
    clock.t = raised.raisedAt + 5 * MIN;
    await Promise.all([scanner().scanOnce(), scanner().scanOnce()]);
    await scanner().scanOnce();
    const up = await waitFor(() => published.find((a) => a.alertId === raised.alertId && a.version === 2), { what: 'the escalated version' });
    expect(up.escalated).toEqual({ level: 1, role: 'bed_manager', at: raised.raisedAt + 5 * MIN });
    expect(up.acknowledged).toBeUndefined();
    expect((await store.alert('RXT', raised.alertId))?.escalated?.level).toBe(1);

    clock.t = raised.raisedAt + 10 * MIN;
    await scanner().scanOnce();
    const top = await waitFor(() => published.find((a) => a.alertId === raised.alertId && a.version === 3), { what: 'the second level' });
    expect(top.escalated).toEqual({ level: 2, role: 'ops', at: raised.raisedAt + 10 * MIN });
    // The chain's end: nothing more, however long nobody acknowledges it.
    clock.t = raised.raisedAt + 120 * MIN;
    await scanner().scanOnce();
    await engine.drainOutbox('RXT');
    await new Promise((r) => setTimeout(r, 1000)); // a repeat would have landed by now
    expect(versionsOf(raised.alertId)).toEqual([1, 2, 3]);
    expect(await redis.zscore(keys.escalations('RXT'), raised.alertId)).toBeNull();
  });

  it('an acknowledged alert does not escalate (and leaves the schedule)', async () => {
    const raised = await raiseReferralAlert('PE2');
    clock.t = raised.raisedAt + 2 * MIN;
    await sendFlowEvents(producer, codec, [ev('alert.acknowledged', { alertId: raised.alertId, by: 'crisis-nurse-1' }, clock.t, { patientId: 'PE2' })], t.flowEvents);
    const acked = await waitFor(() => published.find((a) => a.alertId === raised.alertId && a.acknowledged), { what: 'the acknowledged version' });
    expect(acked.version).toBe(2);
    clock.t = raised.raisedAt + 30 * MIN;
    await scanner().scanOnce();
    await new Promise((r) => setTimeout(r, 1000));
    expect(versionsOf(raised.alertId)).toEqual([1, 2]);
    expect(published.filter((a) => a.alertId === raised.alertId && a.escalated)).toEqual([]);
    expect(await redis.zscore(keys.escalations('RXT'), raised.alertId)).toBeNull();
  });
});
