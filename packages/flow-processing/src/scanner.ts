// The scanner makes time move with no event: it fires due clocks (stranded at day 7 at
// 03:00 on a quiet ward, referral response breaches, missed 72h follow-ups), raises
// each crossing's alert exactly once (deterministic id, SET NX), refreshes the boards
// of the wards concerned, and expires parked events by writing a park.expired control
// event into the patient's own partition. It also escalates unacknowledged alerts whose
// next level fell due (escalation schedule, pure rule escalationStep): each step is a new
// version of the alert in the outbox, written once, so the role now responsible is told.
// Clock: wall clock live, event time in replay.
import type { Producer } from 'kafkajs';
import type { Alert, FlowEvent } from '@pfm/contracts';
import { alertFor, escalationStep, fold, type PatientState, type PatientView } from '@pfm/flow-domain';
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
   * Raise a page of due clocks with one script call after reading the page's patients at
   * once (store.raiseAlerts), instead of reading each patient just before its own raise.
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
      for (;;) {
        const due = await store.dueClocks(site, now);
        if (!due.length) break;
        if (this.d.pagedRaise) { await this.raisePage(site, due, now, wards); continue; }
        // An on-demand sandbox: the page's patients and alerts copied in at once (a no-op
        // elsewhere). Each patient is still read just before its alert is raised: live,
        // the engine may change it meanwhile (a page read at once raised alerts of clocks
        // the engine had just stopped).
        await store.need(due.flatMap((c) => [store.keys.patient(site, c.patientId), store.keys.alert(site, c.alertId)]));
        for (const c of due) {
          const patient = await store.patient(site, c.patientId);
          const alert = this.alertOf(site, c, patient, patient ? fold(patient.events).view : undefined, now);
          if (!alert) { await store.dropClock(site, c.member); continue; }
          // Guarded by the scan time: an event that stopped this clock since it was read wins.
          if (await store.raiseAlert(alert, c.member, now)) this.raised?.inc({ rule: alert.rule });
          if (alert.ward) wards.add(alert.ward);
        }
      }
      if (wards.size) await this.d.engine.publishBoards(new Map([[site, wards]]));
      await this.escalate(site, now);
      await this.d.engine.recoverOutbox(site);
      await this.d.engine.drainOutbox(site);
      if (this.d.expireParked !== false) await this.expireParked(site, now);
    }
  }

  /** The alert a due clock raises now, decided from the patient's current view; null when the clock no longer holds. */
  private alertOf(site: string, c: { patientId: string; alertId: string; dueAt: number }, patient: PatientState | null, view: PatientView | undefined, now: number): Alert | null {
    const timer = { alertId: c.alertId, rule: 'stranded' as const, dueAt: c.dueAt, threshold: { value: 0, unit: 'days' as const } };
    return patient && view ? alertFor(site, c.patientId, patient.nhsNumber, view, this.d.store.ctxFor(site), timer, now) : null;
  }

  /**
   * One page of due clocks raised with one script call: the page's patients read with one
   * call (store.loadPatients), each folded once, each clock's alert decided as the one-by-one path decides it,
   * clocks with no alert dropped with one ZREM, the rest raised in page order by
   * raiseAlerts-1.lua (each once, guarded by the scan time): the state the one-by-one
   * path leaves when nothing changes the patients meanwhile (see pagedRaise).
   */
  private async raisePage(site: string, due: Awaited<ReturnType<FlowStore['dueClocks']>>, now: number, wards: Set<string>): Promise<void> {
    const { store } = this.d;
    const ids = [...new Set(due.map((c) => c.patientId))];
    await store.need(due.map((c) => store.keys.alert(site, c.alertId)));
    const states = await store.loadPatients(ids.map((patientId) => ({ site, patientId })));
    const patients = new Map(ids.map((id, i) => [id, states[i] ?? null]));
    const views = new Map<string, ReturnType<typeof fold>['view'] | undefined>();
    const drops: string[] = [];
    const items: { alert: Alert; dueMember: string }[] = [];
    for (const c of due) {
      const patient = patients.get(c.patientId) ?? null;
      let view = views.get(c.patientId);
      if (patient && !views.has(c.patientId)) { view = fold(patient.events).view; views.set(c.patientId, view); }
      const alert = this.alertOf(site, c, patient, view, now);
      if (!alert) { drops.push(c.member); continue; }
      items.push({ alert, dueMember: c.member });
      if (alert.ward) wards.add(alert.ward);
    }
    await store.dropClocks(site, drops);
    const raised = await store.raiseAlerts(site, items, now);
    raised.forEach((r, i) => { if (r) this.raised?.inc({ rule: items[i]!.alert.rule }); });
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
