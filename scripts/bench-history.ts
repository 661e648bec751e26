// pnpm -s tsx scripts/bench-history.ts [history lengths...] (default 5 50 200 1000): the cost of
// one more event for a patient whose history already holds N events, as the engine commits
// it (planApply with the previous state, one batch script call per event): Node time to plan
// the change and encode the call, the bytes of the call's arguments, the script's own time
// in Redis, the call's round trip, and the patient's Redis memory with n events (MEMORY USAGE of
// its keys).
// Runs against REDIS_URL under a scratch prefix, deleted at the end. Figures: docs/benchmarks.md.
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { ev, T0 } from '@pfm/flow-domain/src/testing';
import type { FlowEvent } from '@pfm/contracts';
import { encodeRun, FlowStore, Keys, WardRegistry, type KeyedOp } from '@pfm/flow-store';
import { stackEnv, uniqueName } from '@pfm/testkit';

const ROUNDS = 100;
const HOUR = 3_600_000;

async function main(): Promise<void> {
  const lengths = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const redis = new Redis(stackEnv().redisUrl);
  const store = new FlowStore(redis, new Keys(uniqueName('histbench').replace(/-/g, '_')), new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 50 }]), DEFAULT_THRESHOLDS);
  let offset = 0;
  const commit = (ops: KeyedOp[]) => store.commitRun({ site: 'RXT', field: 'histbench:0', first: String(offset), last: String(offset++), epoch: 1, ops });
  try {
    await store.noteSite('RXT');
    for (const n of lengths.length ? lengths : [5, 50, 200, 1000]) {
      const pid = `H${n}`;
      // Admitted, then on and back from leave in turn: a history of n events.
      const next = (i: number): FlowEvent => (i === 0
        ? ev('patient.admitted', { spellId: `S-${pid}`, ward: 'W12', bed: pid }, T0, { patientId: pid })
        : ev(i % 2 === 1 ? 'leave.started' : 'leave.ended', { spellId: `S-${pid}` }, T0 + i * HOUR, { patientId: pid }));
      let state: PatientState = emptyPatient('RXT', pid);
      for (let i = 0; i < n; i++) state = evolve(state, next(i)).state;
      const built = store.planApply({ site: 'RXT', patientId: pid, before: fold([]).view, after: fold(state.events).view, state, offsetField: '', offset: '0' });
      const first = await commit(built.changes);
      if (first.status !== 'applied') throw new Error(`setting up ${pid}: ${first.status}`);
      // The patient's keys with a history of n events (a version without the list has one key).
      let memory = 0;
      for (const key of [store.keys.patient('RXT', pid), (store.keys as Keys & { history?: (s: string, p: string) => string }).history?.('RXT', pid)]) {
        if (key) memory += Number((await redis.memory('USAGE', key)) ?? 0);
      }
      let nodeNs = 0n;
      let bytes = 0;
      let scriptUs = 0;
      let callNs = 0n;
      for (let r = 0; r < ROUNDS; r++) {
        const e = next(n + r);
        const ev1 = evolve(state, e);
        // The views' facts and clocks are the engine's cache: derived outside the timing.
        const before = store.derive('RXT', pid, fold(state.events).view);
        const after = store.derive('RXT', pid, ev1.view);
        const t0 = process.hrtime.bigint();
        const plan = store.planApply({ site: 'RXT', patientId: pid, before, after, state: ev1.state, prior: state, offsetField: '', offset: '0' } as Parameters<FlowStore['planApply']>[0]);
        const { argv } = encodeRun({ offsetsKey: 'o', fenceKey: 'f', field: 'histbench:0', first: '0', last: '0', epoch: 1, ops: plan.changes });
        nodeNs += process.hrtime.bigint() - t0;
        for (const a of argv) bytes += Buffer.byteLength(a);
        const t1 = process.hrtime.bigint();
        const out = await commit(plan.changes);
        callNs += process.hrtime.bigint() - t1;
        if (out.status !== 'applied') throw new Error(`${pid}: ${out.status}`);
        scriptUs += out.micros;
        state = ev1.state;
      }
      const check = await store.patient('RXT', pid);
      if (JSON.stringify(check) !== JSON.stringify(state)) throw new Error(`${pid}: the stored state differs from the planned one`);
      const per = (x: number) => (x / ROUNDS).toFixed(1);
      console.log(JSON.stringify({ history: n, rounds: ROUNDS, planAndEncodeUs: per(Number(nodeNs) / 1000), argBytes: Math.round(bytes / ROUNDS), scriptUs: per(scriptUs), roundTripUs: per(Number(callNs) / 1000), patientBytes: memory, finalEvents: state.events.length }));
    }
  } finally {
    await store.clear();
    redis.disconnect();
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
