// The scanner makes time move with no event: it fires due clocks (stranded at day 7 at
// 03:00 on a quiet ward, referral response breaches, missed 72h follow-ups), raises
// each crossing's alert exactly once (deterministic id, SET NX), refreshes the boards
// of the wards concerned, and expires parked events by writing a park.expired control
// event into the patient's own partition. Clock: wall clock live, event time in replay.
import type { Producer } from 'kafkajs';
import type { FlowEvent } from '@pfm/contracts';
import { alertFor, fold } from '@pfm/flow-domain';
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
}

export class Scanner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly raised;
  constructor(private readonly d: ScannerDeps) {
    this.raised = d.metrics?.counter('pfm_alerts_raised_total', 'Alerts raised by rule', ['rule']);
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
        // An on-demand sandbox: the page's patients and alerts copied in at once (a no-op
        // elsewhere). Each patient is still read just before its alert is raised: live,
        // the engine may change it meanwhile (a page read at once raised alerts of clocks
        // the engine had just stopped).
        await store.need(due.flatMap((c) => [store.keys.patient(site, c.patientId), store.keys.alert(site, c.alertId)]));
        for (const c of due) {
          const patient = await store.patient(site, c.patientId);
          const view = patient ? fold(patient.events).view : undefined;
          const timer = { alertId: c.alertId, rule: 'stranded' as const, dueAt: c.dueAt, threshold: { value: 0, unit: 'days' as const } };
          const alert = patient && view ? alertFor(site, c.patientId, patient.nhsNumber, view, store.ctxFor(site), timer, now) : null;
          if (!alert) { await store.dropClock(site, c.member); continue; }
          if (await store.raiseAlert(alert, c.member)) this.raised?.inc({ rule: alert.rule });
          if (alert.ward) wards.add(alert.ward);
        }
      }
      if (wards.size) await this.d.engine.publishBoards(new Map([[site, wards]]));
      await this.d.engine.recoverOutbox(site);
      await this.d.engine.drainOutbox(site);
      if (this.d.expireParked !== false) await this.expireParked(site, now);
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
