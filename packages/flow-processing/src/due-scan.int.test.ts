// The due set holds one member per patient (its earliest clock still to fire), and the
// scanner decides what to raise from the patient's own clocks, not from the member: two
// clocks of one patient due at different times raise at their own times; a clock an event
// stops between the scanner's read and its write is not raised; members of the older
// per-clock form are read, acted on from the patient's state and taken out.
import type { KafkaMessage } from 'kafkajs';
import { topicsFor, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, fold } from '@pfm/flow-domain';
import { days, ev, hours, T0 } from '@pfm/flow-domain/src/testing';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { uniqueName } from '@pfm/testkit';
import type { Clock } from './clock';
import { closeEngineStack, openEngineStack, type EngineStack } from './testing';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';

const registry = new WardRegistry([{ site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]);

/** Event time set by the test: the scanner fires up to `at`. */
class TestClock implements Clock {
  readonly kind = 'event' as const;
  at = T0;
  now(): number { return this.at; }
  scanTime(): number { return this.at; }
  observe(): void {}
}

describe('due set: one member per patient, raised from the patient\'s clocks', () => {
  const ns = uniqueName('due-scan');
  const t = topicsFor(ns);
  const logger = createLogger('due-scan-test');
  logger.level = 'error';
  const keys = new Keys(ns.replace(/-/g, '_'));
  const clock = new TestClock();
  let stack: EngineStack;
  let store: FlowStore;
  let engine: FlowEngine;
  let scanner: Scanner;
  let offset = 0;

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 1);
    store = new FlowStore(stack.redis, keys, registry, DEFAULT_THRESHOLDS);
    engine = new FlowEngine({ ...stack, store, clock, logger, groupId: `${ns}-engine`, topics: engineTopics(t), publish: false });
    scanner = new Scanner({ ...stack, store, engine, clock, flowTopic: t.flowEvents, logger, parkWaitMs: 3600_000, expireParked: false });
  });
  afterAll(() => closeEngineStack({ producer: stack?.producer, store, redis: stack?.redis }));

  /** Applies events through the engine's commit path (one batch). */
  const apply = async (events: FlowEvent[]) => {
    const messages = await Promise.all(events.map(async (e) => ({ offset: String(offset++), value: await stack.codec.encode(e), key: null, timestamp: String(e.occurredAt), attributes: 0, headers: {} }) as KafkaMessage));
    await engine.processMessages(t.flowEvents, 0, messages);
  };
  const due = async () => stack.redis.zrange(keys.due('RXT'), 0, -1, 'WITHSCORES');
  const raised = async (pid: string) => (await store.alerts('RXT', { includeResolved: true })).filter((a) => a.patientId === pid).map((a) => a.rule).sort();
  const scanAt = async (at: number) => { clock.at = at; await scanner.scanOnce(); };

  it('two clocks of one patient due at different times: one member at the earliest, each raised at its own time, never early', async () => {
    await apply([ev('patient.admitted', { spellId: 'SA', ward: 'OAK', bed: 'B1', expectedDischargeAt: T0 + days(3) }, T0, { patientId: 'PA' })]);
    // EDD passed at day 3, stranded at day 7: the patient once, at day 3.
    expect(await due()).toEqual(['PA', String(T0 + days(3))]);
    await scanAt(T0 + days(3) + hours(1));
    expect(await raised('PA')).toEqual(['edd_passed']);
    // Re-armed at the next clock, stranded at day 7: not raised before then.
    expect(await due()).toEqual(['PA', String(T0 + days(7))]);
    await scanAt(T0 + days(7) - 1);
    expect(await raised('PA')).toEqual(['edd_passed']);
    await scanAt(T0 + days(7));
    expect(await raised('PA')).toEqual(['edd_passed', 'stranded']);
    expect(await due()).toEqual(['PA', String(T0 + days(21))]);
    // Scanning again raises nothing twice.
    await scanAt(T0 + days(7) + hours(2));
    expect((await store.alerts('RXT', { includeResolved: true })).filter((a) => a.patientId === 'PA')).toHaveLength(2);
  });

  it('a clock an event stops between the scanner\'s read and its write is not raised, and the patient is re-armed from its new clocks', async () => {
    await stack.redis.zrem(keys.due('RXT'), 'PA');
    await apply([
      ev('patient.admitted', { spellId: 'SB', ward: 'OAK', bed: 'B2' }, T0 + days(10), { patientId: 'PB' }),
      ev('leave.started', { spellId: 'SB', expectedReturnAt: T0 + days(11) }, T0 + days(10) + hours(1), { patientId: 'PB' }),
    ]);
    expect(await due()).toEqual(['PB', String(T0 + days(11))]);
    // The scanner reads PB with its leave overdue; before it writes, the return (recorded late: it
    // happened before the leave ran out) is applied.
    const read = store.loadStamped.bind(store);
    let returned = false;
    store.loadStamped = async (site, ids) => {
      const out = await read(site, ids);
      if (!returned && ids.includes('PB')) {
        returned = true;
        await apply([ev('leave.ended', { spellId: 'SB' }, T0 + days(10) + hours(20), { patientId: 'PB' })]);
      }
      return out;
    };
    try {
      await scanAt(T0 + days(11) + hours(2));
    } finally {
      store.loadStamped = read;
    }
    expect(returned).toBe(true);
    expect(await raised('PB')).toEqual([]);
    // Read again and re-armed at its stranded clock (day 17).
    expect(await due()).toEqual(['PB', String(T0 + days(17))]);
  });

  it('an event after a clock fell due raises it and moves the patient\'s time on; a stopped clock moves it too', async () => {
    await stack.redis.del(keys.due('RXT'));
    await apply([ev('patient.admitted', { spellId: 'SE', ward: 'OAK', bed: 'B5', expectedDischargeAt: T0 + days(31) }, T0 + days(30), { patientId: 'PE' })]);
    expect(await due()).toEqual(['PE', String(T0 + days(31))]);
    // The next event comes after the EDD: the engine raises it and the patient's time moves to stranded (day 37).
    await apply([ev('crfd.started', { spellId: 'SE', reasonCode: '14' }, T0 + days(32), { patientId: 'PE' })]);
    expect(await raised('PE')).toEqual(['edd_passed']);
    expect(await due()).toEqual(['PE', String(T0 + days(37))]);
    // A discharge stops every clock of the spell and starts none (no follow-up on this destination): no member left.
    await apply([ev('patient.discharged', { spellId: 'SE', destination: '79', dischargeMethod: '4' }, T0 + days(33), { patientId: 'PE' })]);
    expect(await due()).toEqual([]);
  });

  it('reads the older per-clock members: acts on the patient\'s clocks, takes them out, and the follow-up worklist still lists the discharge', async () => {
    await stack.redis.del(keys.due('RXT'));
    await apply([
      ev('patient.admitted', { spellId: 'SC', ward: 'OAK', bed: 'B3' }, T0 + days(40), { patientId: 'PC' }),
      ev('patient.admitted', { spellId: 'SD', ward: 'OAK', bed: 'B4', area: 'NORTH' }, T0 + days(40), { patientId: 'PD' }),
      ev('patient.discharged', { spellId: 'SD', destination: '19' }, T0 + days(41), { patientId: 'PD' }),
    ]);
    // What an older version left: one member per running clock, no patient member, no follow-up index;
    // and a member of a clock PC no longer runs (its leave ended).
    const legacy: (string | number)[] = [];
    for (const pid of ['PC', 'PD']) {
      const view = fold((await store.patient('RXT', pid))!.events).view;
      for (const c of store.derive('RXT', pid, view).timers) legacy.push(c.dueAt, store.dueMember(pid, c.alertId));
    }
    const stale = store.dueMember('PC', `leave_overdue:RXT:PC:SC:${T0 + days(40) + hours(5)}`);
    legacy.push(T0 + days(40) + hours(5), stale);
    await stack.redis.del(keys.due('RXT'), keys.followups('RXT'));
    await stack.redis.zadd(keys.due('RXT'), ...legacy);
    const fu = await store.followUpsDue('RXT', T0 + days(42));
    expect(fu.map((f) => f.patientId)).toEqual(['PD']);

    // The stale member is due first: nothing to raise for it (PC runs no such clock); every
    // per-clock member of PC goes, and PC is re-armed at its stranded clock.
    await scanAt(T0 + days(40) + hours(6));
    expect(await raised('PC')).toEqual([]);
    const members = await due();
    expect(members.filter((m, i) => i % 2 === 0 && String(m).startsWith('PC'))).toEqual(['PC']);
    expect(await stack.redis.zscore(keys.due('RXT'), 'PC')).toBe(String(T0 + days(47)));
    // PD's follow-up clock (72 h after the discharge) fires from its older member, once.
    await scanAt(T0 + days(44) + hours(1));
    expect(await raised('PD')).toEqual(['followup_missed']);
    expect((await due()).filter((m, i) => i % 2 === 0 && String(m).startsWith('PD'))).toEqual([]);
    expect(await store.followUpsDue('RXT', T0 + days(44) + hours(1))).toEqual([]);
    await scanAt(T0 + days(47) + hours(1));
    expect(await raised('PC')).toEqual(['stranded']);
  });

  it('an event on a patient of the older form writes its patient member for the clock it starts; the clocks the older members cover still raise', async () => {
    await stack.redis.del(keys.due('RXT'));
    await apply([ev('patient.admitted', { spellId: 'SG', ward: 'OAK', bed: 'B7' }, T0 + days(60), { patientId: 'PG' })]);
    // Left by an older version: per-clock members only.
    const view = fold((await store.patient('RXT', 'PG'))!.events).view;
    const clocks = store.derive('RXT', 'PG', view).timers;
    await stack.redis.del(keys.due('RXT'));
    await stack.redis.zadd(keys.due('RXT'), ...clocks.flatMap((c) => [c.dueAt, store.dueMember('PG', c.alertId)]));
    // An EDD set now starts a clock before the others: the patient's member names it; the older members stay.
    await apply([ev('edd.set', { spellId: 'SG', expectedDischargeAt: T0 + days(62) }, T0 + days(61), { patientId: 'PG' })]);
    expect(await stack.redis.zscore(keys.due('RXT'), 'PG')).toBe(String(T0 + days(62)));
    expect(await stack.redis.zcard(keys.due('RXT'))).toBe(clocks.length + 1);
    await scanAt(T0 + days(62) + hours(1));
    expect(await raised('PG')).toEqual(['edd_passed']);
    expect(await stack.redis.zscore(keys.due('RXT'), 'PG')).toBe(String(T0 + days(67)));
    // Stranded (day 67), covered by its older member and by the re-armed patient member: raised once; the older members go.
    await scanAt(T0 + days(67) + hours(1));
    expect(await raised('PG')).toEqual(['edd_passed', 'stranded']);
    expect(await due()).toEqual(['PG', String(T0 + days(81))]);
  });

  it('the follow-up worklist lists a discharge waiting for its follow-up from the follow-up index, and drops it when the clock fires', async () => {
    await apply([
      ev('patient.admitted', { spellId: 'SF', ward: 'OAK', bed: 'B6', area: 'NORTH' }, T0 + days(50), { patientId: 'PF' }),
      ev('patient.discharged', { spellId: 'SF', destination: '19' }, T0 + days(51), { patientId: 'PF' }),
    ]);
    expect((await store.followUpsDue('RXT', T0 + days(52))).map((f) => [f.patientId, f.hoursLeft])).toEqual([['PF', 48]]);
    await scanAt(T0 + days(54) + hours(1));
    expect(await raised('PF')).toEqual(['followup_missed']);
    expect(await store.followUpsDue('RXT', T0 + days(54) + hours(1))).toEqual([]);
  });
});
