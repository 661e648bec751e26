/** @pfm-stack redis */
// The services' Redis ACL user on the real Redis: a user made from serviceAclRules (its
// own name and key prefix, deleted afterwards; the shared default user is not touched)
// runs the store's work (the apply, batch and alert scripts, the outbox stream, reads, clean-up)
// and is refused everything else: other keys, FLUSHALL/FLUSHDB, KEYS, CONFIG, ACL, pub/sub.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { serviceAclRules } from './acl';
import { FlowStore, Keys, WardRegistry } from './index';

const registry = new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]);

describe('the services\' Redis ACL user', () => {
  const user = uniqueName('opssec-acl');
  const password = randomBytes(24).toString('hex');
  const prefix = user.replace(/-/g, '_');
  const outside = `${uniqueName('opssec-outside').replace(/-/g, '_')}:k`;
  let admin: Redis;
  let svc: Redis;
  let store: FlowStore;

  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    admin = new Redis(stackEnv().redisUrl);
    await admin.call('ACL', 'SETUSER', user, 'reset', `>${password}`, ...serviceAclRules({ prefix, sandboxes: true }));
    await admin.set(outside, 'not yours');
    const url = new URL(stackEnv().redisUrl);
    url.username = user;
    url.password = password;
    svc = new Redis(url.toString(), { maxRetriesPerRequest: 1 });
    store = new FlowStore(svc, new Keys(prefix), registry, DEFAULT_THRESHOLDS);
  });
  afterAll(async () => {
    svc?.disconnect();
    await admin?.call('ACL', 'DELUSER', user);
    await admin?.unlink(outside);
    admin?.disconnect();
  });

  it('runs the store\'s work: apply and alert scripts, the outbox stream, the board reads, clean-up', async () => {
    expect(await svc.call('ACL', 'WHOAMI').catch((e: Error) => e.message)).toMatch(/NOPERM/);
    let offset = 0;
    for (const e of [ev('patient.admitted', { spellId: 'S1', ward: 'W12', bed: 'B1' }, T0), ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(1))]) {
      const before = (await store.patient(e.site, e.patientId)) ?? emptyPatient(e.site, e.patientId);
      const r = evolve(before, e);
      await store.apply(store.planApply({ site: e.site, patientId: e.patientId, before: fold(before.events).view, after: r.view, state: r.state as PatientState, offsetField: 'pfm.flow-events.v1:0', offset: String(offset++) }));
    }
    await store.noteSite('RXT');
    expect(await store.sites()).toEqual(['RXT']);
    // The engine's path: a partition claimed, then a run of events committed in one call of
    // the batch script (which reads the server's clock, TIME).
    const epoch = await store.claimPartition('pfm.flow-events.v1', 1);
    const admitP2 = evolve(emptyPatient('RXT', 'P2'), ev('patient.admitted', { spellId: 'S2', ward: 'W12', bed: 'B2' }, T0, { patientId: 'P2' }));
    const ops = store.planApply({ site: 'RXT', patientId: 'P2', before: fold([]).view, after: admitP2.view, state: admitP2.state as PatientState, offsetField: '', offset: '0' }).changes;
    expect(await store.commitRun({ site: 'RXT', field: 'pfm.flow-events.v1:1', epoch, first: '0', last: '0', ops })).toMatchObject({ status: 'applied' });
    const [w12] = await store.wardSummaries('RXT', ['W12'], T0 + days(8));
    expect(w12).toMatchObject({ occupied: 2, crfd: 1, stranded: 2 });
    // The scanner's path: due patients read, each read with its stamp, its due clocks raised and the patient re-armed in one call.
    expect((await store.duePatients('RXT', T0 + days(8))).map((d) => d.patientId).sort()).toEqual(['P1', 'P2']);
    const [p1] = await store.loadStamped('RXT', ['P1']);
    const clock = store.derive('RXT', 'P1', fold(p1!.state!.events).view).timers.find((t) => t.rule === 'stranded')!;
    const alert = { alertId: clock.alertId, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'P1', becameTrueAt: clock.dueAt, raisedAt: clock.dueAt };
    expect(await store.raiseDue('RXT', [{ patientId: 'P1', stamp: p1!.stamp, next: T0 + days(21), legacy: [], alerts: [alert] }])).toEqual([[true]]);
    const entries = await store.readOutbox('RXT', 'acl-reader');
    expect(entries.map((e) => e.alert?.alertId)).toEqual([alert.alertId]);
    await store.ackOutbox('RXT', entries.map((e) => e.id));
    expect((await store.alerts('RXT')).map((a) => a.alertId)).toEqual([alert.alertId]);
    expect((await store.patientsOnWard('RXT', 'W12', T0 + days(8))).map((p) => p.patientId).sort()).toEqual(['P1', 'P2']);
    // The follow-up worklist's reads (the follow-up index, and a ZSCAN of the due set for members of the older form).
    expect(await store.followUpsDue('RXT', T0 + days(8))).toEqual([]);
    expect(await store.clear()).toBeGreaterThan(5);
    // A replay sandbox's keys are the user's too.
    await svc.set('sbx.acl-test:k', '1');
    expect(await svc.unlink('sbx.acl-test:k')).toBe(1);
  });

  it('is refused other keys, wiping, key listing, configuration, users and pub/sub', async () => {
    // Asked of Redis with ACL DRYRUN: nothing runs, so a wrong rule could never wipe the shared Redis.
    const allowed = async (...args: (string | number)[]) => ({ command: args.join(' '), allowed: (await admin.call('ACL', 'DRYRUN', user, ...args)) === 'OK' });
    const tries = await Promise.all([
      allowed('GET', outside), allowed('SET', outside, 'x'), allowed('DEL', outside), allowed('EVAL', "return redis.call('GET', KEYS[1])", 1, outside),
      allowed('FLUSHALL'), allowed('FLUSHDB'), allowed('KEYS', '*'), allowed('CONFIG', 'GET', 'requirepass'), allowed('ACL', 'SETUSER', 'someone-else', 'on'),
      allowed('SCRIPT', 'FLUSH'), allowed('SCRIPT', 'DEBUG', 'YES'), allowed('FUNCTION', 'FLUSH'), allowed('PUBLISH', 'anything', 'x'), allowed('SUBSCRIBE', 'anything'),
      allowed('CLIENT', 'KILL', 'ID', 1), allowed('DEBUG', 'SLEEP', 0), allowed('SHUTDOWN'), allowed('MONITOR'), allowed('SWAPDB', 0, 1),
    ]);
    expect(tries.filter((t) => t.allowed)).toEqual([]);
    // The same rules allow what the services run (the dry run is not refusing everything).
    expect(await allowed('SET', `${prefix}:{RXT}:p:P1`, 'x')).toEqual({ command: `SET ${prefix}:{RXT}:p:P1 x`, allowed: true });
    // Over the wire too: another prefix's key is NOPERM, and stays as it was.
    expect(await svc.get(outside).catch((e: Error) => e.message)).toMatch(/NOPERM/);
    expect(await admin.get(outside)).toBe('not yours');
  });
});
