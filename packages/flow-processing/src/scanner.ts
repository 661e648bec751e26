// The scanner makes time move with no event: it fires due clocks (stranded at day 7 at
// 03:00 on a quiet ward, referral response breaches, missed 72h follow-ups). The due set
// names each patient once, at its earliest clock still to fire; for a due patient the
// scanner reads its state, works out from it which of its clocks are due (the pure rules),
// raises each crossing's alert exactly once (deterministic id, SET NX) only if the
// patient is still as it read it, re-arms the patient at its next clock, refreshes the boards
// of the wards concerned, and expires parked events by writing a park.expired control
// event into the patient's own partition. It also escalates unacknowledged alerts whose
// next level fell due (escalation schedule, pure rule escalationStep): each step is a new
// version of the alert in the outbox, written once, so the role now responsible is told.
// Clock: wall clock live, event time in replay.
import type { Producer } from 'kafkajs';
import type { Alert, FlowEvent } from '@pfm/contracts';
import { alertFor, escalationStep, fold, timers, type PatientState } from '@pfm/flow-domain';
import type { FlowStore } from '@pfm/flow-store';
import { sendFlowEvents, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';
import type { Clock } from './clock';
import type { FlowEngine } from './engine';

export interface ScannerDeps {
  store: FlowStore;
  engine: FlowEngine;
  clock: Clock;
  producer: Producer;
  codec: FlowEventCodec;
  flowTopic: string;
  logger: Logger;
  metrics?: Metrics;
  parkWaitMs: number;
  /** Write park.expired control events (live); false in sandboxes that must not write to the log. */
  expireParked?: boolean;
  /**
   * Handle a page of due patients with one script call after reading them at once
   * (store.raiseDue), instead of reading each patient just before its own raise.
   * Only where nothing changes the patients during a pass: a replay's final scan, after
   * its engine has stopped. Live (default false), an event applied between the page's
   * read and its raise could move a patient whose clock runs on (a transfer keeps the
   * clock's due time) and the alert would name the ward it left.
   */
  pagedRaise?: boolean;
}

export class Scanner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly raised;
  private readonly escalated;
  /** Sites whose alerts raised before the escalation schedule existed were put on it (once per process). */
  private readonly enrolled = new Set<string>();
  constructor(private readonly d: ScannerDeps) {
    this.raised = d.metrics?.counter('pfm_alerts_raised_total', 'Alerts raised by rule', ['rule']);
    this.escalated = d.metrics?.counter('pfm_alerts_escalated_total', 'Unacknowledged alerts escalated to the next role, by rule and the role now responsible', ['rule', 'role']);
  }

  /** Runs every intervalMs on the wall clock until stop(). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => { void this.scanOnce(); }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every site; overlapping calls share the pass in progress. */
  scanOnce(): Promise<void> {
    this.running ??= this.pass().catch((err: unknown) => this.d.logger.error({ err }, 'scan failed; next pass will retry')).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async pass(): Promise<void> {
    const { store } = this.d;
    for (const site of await store.sites()) {
      const now = this.d.clock.scanTime();
      await store.setClock(site, now);
      const wards = new Set<string>();
      // Patients left due this pass (they kept changing under the scanner): the next pass retries them.
      const left = new Set<string>();
      for (;;) {
        const due = (await store.duePatients(site, now)).filter((p) => !left.has(p.patientId));
        if (!due.length) break;
        if (this.d.pagedRaise) { for (const id of await this.raisePage(site, due, now, wards)) left.add(id); continue; }
        // An on-demand sandbox: the page's patients copied in at once (a no-op elsewhere).
        // Each patient is still read just before its own raise: live, the engine may change
        // it meanwhile, and the raise then writes nothing and the patient is read again.
        await store.need(due.flatMap((p) => [store.keys.patient(site, p.patientId), store.keys.history(site, p.patientId)]));
        for (const p of due) if (!(await this.raiseOne(site, p, now, wards))) left.add(p.patientId);
      }
      if (wards.size) await this.d.engine.publishBoards(new Map([[site, wards]]));
      await this.escalate(site, now);
      await this.d.engine.recoverOutbox(site);
      await this.d.engine.drainOutbox(site);
      if (this.d.expireParked !== false) await this.expireParked(site, now);
    }
  }

  /**
   * What the scanner writes for a due patient, decided from the patient's own state as
   * read (the pure rules of @pfm/flow-domain): the alerts of its clocks due by `now`
   * (each raised once however often this runs: SET NX), its next due time (the earliest
   * of its clocks after `now`; none when none runs on), and the per-clock members of the
   * due set's older form to take out (those read, and one per clock it runs).
   */
  private decide(site: string, due: { patientId: string; members: readonly string[] }, state: PatientState | null, now: number): { alerts: Alert[]; next: number | undefined; legacy: string[] } {
    const { store } = this.d;
    const legacy = due.members.filter((m) => m !== due.patientId);
    if (!state) return { alerts: [], next: undefined, legacy };
    const view = fold(state.events).view;
    const ctx = store.ctxFor(site);
    const running = timers(site, due.patientId, view, ctx);
    const alerts: Alert[] = [];
    let next: number | undefined;
    for (let i = 0; i < running.length; i++) {
      const t = running[i]!;
      // With a repeated id the last one counts (as the store's clock diff reads them).
      if (running.findLastIndex((x) => x.alertId === t.alertId) !== i) continue;
      if (t.dueAt > now) { if (next === undefined || t.dueAt < next) next = t.dueAt; continue; }
      const alert = alertFor(site, due.patientId, state.nhsNumber, view, ctx, t, now, running);
      if (alert) alerts.push(alert);
    }
    // Members of the older form name one clock each; the re-armed member covers every clock.
    if (due.members.some((m) => m !== due.patientId)) for (const t of running) { const m = store.dueMember(due.patientId, t.alertId); if (!legacy.includes(m)) legacy.push(m); }
    return { alerts, next, legacy };
  }

  /** One due patient read and handled; false when it kept changing under the scanner (left due for the next pass). */
  private async raiseOne(site: string, due: { patientId: string; members: readonly string[] }, now: number, wards: Set<string>): Promise<boolean> {
    const { store } = this.d;
    for (let attempt = 0; attempt < 5; attempt++) {
      const [read] = await store.loadStamped(site, [due.patientId]);
      const work = this.decide(site, due, read!.state, now);
      await store.need(work.alerts.map((a) => store.keys.alert(site, a.alertId)));
      const [raised] = await store.raiseDue(site, [{ patientId: due.patientId, stamp: read!.stamp, ...work }]);
      // Changed since it was read (an event applied meanwhile): nothing written; read it again.
      if (!raised) continue;
      this.count(work.alerts, raised, wards);
      return true;
    }
    this.d.logger.warn({ site, patientId: due.patientId }, 'a due patient kept changing while the scanner read it: left for the next pass');
    return false;
  }

  private count(alerts: readonly Alert[], raised: readonly boolean[], wards: Set<string>): void {
    alerts.forEach((a, i) => {
      if (raised[i]) this.raised?.inc({ rule: a.rule });
      if (a.ward) wards.add(a.ward);
    });
  }

  /**
   * A page of due patients handled with one read and one script call: the page's patients
   * read at once (store.loadStamped), each decided as the one-by-one path decides it, and
   * written by one raiseDue call (each patient's part only if it is unchanged). Where
   * nothing changes the patients during a pass (see pagedRaise) that is the state the
   * one-by-one path leaves; a patient that did change is handled one by one. Returns the
   * patients left due (they kept changing).
   */
  private async raisePage(site: string, due: Awaited<ReturnType<FlowStore['duePatients']>>, now: number, wards: Set<string>): Promise<string[]> {
    const { store } = this.d;
    const reads = await store.loadStamped(site, due.map((p) => p.patientId));
    const items = due.map((p, i) => ({ patientId: p.patientId, stamp: reads[i]!.stamp, ...this.decide(site, p, reads[i]!.state, now) }));
    await store.need(items.flatMap((it) => it.alerts.map((a) => store.keys.alert(site, a.alertId))));
    const out = await store.raiseDue(site, items);
    const left: string[] = [];
    for (const [i, raised] of out.entries()) {
      if (raised) this.count(items[i]!.alerts, raised, wards);
      else if (!(await this.raiseOne(site, due[i]!, now, wards))) left.push(due[i]!.patientId);
    }
    return left;
  }

  /**
   * Writes every escalation step due by `now`: the alert's next level (a new version in the
   * outbox, once), a later look, or off the schedule. The level's time is when it fell due
   * on event time (a replay writes what live wrote) and the moment of writing on the wall clock.
   */
  private async escalate(site: string, now: number): Promise<void> {
    const { store } = this.d;
    if (!this.enrolled.has(site)) {
      const n = await store.enrolEscalations(site);
      if (n) this.d.logger.info({ site, count: n }, 'alerts raised before the escalation schedule existed put on it');
      this.enrolled.add(site);
    }
    const policy = store.ctxFor(site).thresholds.escalation;
    const seen = new Set<string>();
    for (;;) {
      const ids = (await store.dueEscalations(site, now)).filter((id) => !seen.has(id));
      if (!ids.length) return;
      const alerts = await store.alertsById(site, ids);
      for (const [i, id] of ids.entries()) {
        seen.add(id);
        const a = alerts[i];
        if (!a) { await store.scheduleEscalation(site, id); continue; }
        const step = escalationStep(a, now, policy);
        if (step.kind === 'drop') await store.scheduleEscalation(site, id);
        else if (step.kind === 'wait') await store.scheduleEscalation(site, id, step.nextAt);
        else if (await store.escalateAlert(site, id, { level: step.level, role: step.role, at: this.d.clock.kind === 'event' ? step.dueAt : now }, step.nextAt)) {
          this.escalated?.inc({ rule: a.rule, role: step.role });
        }
      }
    }
  }

  private async expireParked(site: string, now: number): Promise<void> {
    const patients = await this.d.store.parkedDue(site, now - this.d.parkWaitMs);
    const controls: FlowEvent[] = [];
    for (const patientId of patients) {
      const p = await this.d.store.patient(site, patientId);
      for (const parked of p?.parked ?? []) {
        if (now - parked.parkedAt < this.d.parkWaitMs) continue;
        controls.push({
          eventId: `park-expired:${parked.event.eventId}`, type: 'park.expired', occurredAt: now, recordedAt: now, site, patientId,
          sourceSystem: 'pfm-flow-engine', channel: 'redrive', payload: { parkedEventId: parked.event.eventId },
        });
      }
    }
    if (controls.length) {
      this.d.logger.info({ site, count: controls.length }, 'parked events waited too long: sending them to rejects');
      await sendFlowEvents(this.d.producer, this.d.codec, controls, this.d.flowTopic);
    }
  }
}
