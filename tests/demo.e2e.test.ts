// The demo's pipeline end to end: a seeded synthetic trust (30 days of history, delivery
// faults on) sent by the simulator's senders (HL7 v2 over MLLP, FHIR ServiceRequest
// bundles, JSON) through the real ingest, flow-engine and board-gateway on the real stack,
// on event time as in ./pfm demo, each service logged in as its own Kafka and registry
// principal (acls.txt's rules, on the test's namespace). The board (REST) must show realistic numbers, and the
// engine's beds must match the model's own census for the same instant: duplicates sent
// on purpose must not count twice.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, FlowEventInput, WardSummary } from '@pfm/contracts';
import { namespaceGroups } from '@pfm/kafka-runtime';
import { freePort, logReady, startService, waitFor, type RunningService } from '@pfm/testkit';
import { createSimulation, defaultTrust, wardsOf, type Delivery } from '../services/simulator/src';
import { sendAll, TrustSender } from '../services/simulator/src/send';
import { SENDER, startProduct, type ProductUnderTest } from './support/stack';

const ADT_BED_TYPES = new Set(['patient.admitted', 'patient.transferred', 'patient.discharged', 'admission.cancelled', 'transfer.cancelled', 'discharge.cancelled']);

describe('demo: simulated trust through the real services', () => {
  let product: ProductUnderTest | undefined;
  let sender: TrustSender | undefined;
  let insights: RunningService | undefined;
  afterAll(async () => {
    await insights?.stop();
    await sender?.close();
    await product?.stop();
  });

  it('shows a realistic board whose occupied beds match the model, duplicates counted once', async () => {
    product = await startProduct({ wards: wardsOf(defaultTrust), extraEnv: { PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '1000' }, ownPrincipals: true });
    const start = Date.UTC(2026, 4, 1, 12);
    // Duplicates well above the demo's 1%, so that double counting could not hide.
    const sim = createSimulation({ seed: 'demo-e2e', start, historyDays: 30, faults: { duplicate: 0.05, late: 0.01, badNhs: 0.002, cancel: 0.01 } });
    const history: FlowEventInput[] = [...sim.history(30)];
    const deliveries: Delivery[] = [...sim.deliveries(history, start)];
    sender = new TrustSender({ ingestUrl: product.ingestUrl, mllp: { host: '127.0.0.1', port: Number(product.env.PFM_MLLP_PORT) }, trusts: [defaultTrust], senderKey: SENDER.key });
    await sendAll(sender, deliveries);
    const s = sender.stats;
    expect(s.sent).toBe(deliveries.length);
    expect(s.faults.duplicate).toBeGreaterThan(100);
    expect(s.unexpected).toEqual([]);
    expect(s.rejected).toBe(s.rejectedAsPlanned);
    expect(s.byChannel.mllp.accepted).toBeGreaterThan(500);
    expect(s.byChannel.fhir.accepted).toBeGreaterThan(1000);
    expect(s.byChannel.json.accepted).toBeGreaterThan(1000);

    // What may legitimately differ between the engine and the model at `start`:
    // - a bed-moving ADT event with a bad NHS number is rejected by ingest (as it should be)
    //   and sits in the rejects until ops re-drive it: its patient is on the wrong ward, or
    //   missing, or still there (one bed on up to two wards);
    // - a late message whose delivery time is after `start` has not been sent yet (the
    //   planner holds it), so the model has a move the engine has not seen (same effect).
    // Each such event can shift occupied beds by one on at most two wards. Nothing else
    // may: in particular the >100 duplicates must not add a single bed.
    const delivered = new Set(deliveries.map((d) => d.event.eventId));
    const held = history.filter((e) => ADT_BED_TYPES.has(e.type) && !delivered.has(e.eventId)).length;
    const rejectedMoves = deliveries.filter((d) => d.fault === 'bad_nhs' && ADT_BED_TYPES.has(d.event.type)).length;
    const tolerance = 2 * (held + rejectedMoves);

    const census = sim.census();
    const model = new Map(census.wards.map((w) => [w.ward, w]));
    const token = await product.token();
    const read = async (): Promise<WardSummary[]> => {
      const r = await fetch(`${product!.gatewayUrl}/api/v1/wards`, { headers: { authorization: `Bearer ${token}` } });
      return (await r.json()) as WardSummary[];
    };
    const local = (ws: WardSummary[]) => ws.filter((w) => model.has(w.ward));
    const drift = (ws: WardSummary[]) => local(ws).reduce((n, w) => n + Math.abs(w.occupied - model.get(w.ward)!.occupied), 0);
    // The engine has applied everything when its beds match the model (within the tolerance) and its clock reached `start`.
    // The site's clock is the earliest of its partitions' latest event times, so a partition
    // whose last event came a while before `start` holds it back: within 3 h (seen: 75 min).
    const wards = await waitFor(async () => {
      const ws = await read();
      const clock = Number(await product!.redis.get(`${product!.prefix}:{RXT}:clock`));
      return clock >= start - 3 * 3_600_000 && drift(ws) <= tolerance ? ws : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1000, what: `board beds to match the model's census (tolerance ${tolerance})` });

    const beds = local(wards).reduce((n, w) => n + w.beds - w.closed, 0);
    const occupied = local(wards).reduce((n, w) => n + w.occupied, 0);
    const modelOccupied = census.wards.reduce((n, w) => n + w.occupied, 0);
    expect(Math.abs(occupied - modelOccupied)).toBeLessThanOrEqual(tolerance);
    // No ward holds more patients than beds, beyond what the tolerated differences explain.
    for (const w of local(wards)) expect(w.occupied).toBeLessThanOrEqual(w.beds + tolerance);
    // Realistic: occupancy including leave high (domain.md: 94% adult acute; this seed and day: 89%), people stranded, CRFD, out of area, alerts.
    expect(occupied / beds).toBeGreaterThan(0.85);
    expect(occupied / beds).toBeLessThanOrEqual(1.0 + tolerance / beds);
    const sum = (f: (w: WardSummary) => number) => wards.reduce((n, w) => n + f(w), 0);
    expect(sum((w) => w.stranded)).toBeGreaterThan(0);
    expect(sum((w) => w.superStranded)).toBeGreaterThan(0);
    expect(sum((w) => w.crfd)).toBeGreaterThan(0);
    expect(sum((w) => w.onLeave)).toBeGreaterThan(0);
    expect(sum((w) => w.outOfArea)).toBeGreaterThan(0);
    const alertList = () => fetch(`${product!.gatewayUrl}/api/v1/alerts`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<Alert[]>);
    const alerts = await alertList();
    expect(alerts.length).toBeGreaterThan(0);

    // An acknowledgement on the board: the gateway writes it to the flow log (as the gateway
    // principal), the engine applies it (as the engine principal), the board shows it.
    const target = alerts.find((a) => !a.acknowledged)!;
    const socket = await product.connect(token);
    await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
    expect(await new Promise((resolve) => socket.emit('acknowledge', { alertId: target.alertId }, resolve))).toEqual({ ok: true });
    const acked = await waitFor(async () => (await alertList()).find((a) => a.alertId === target.alertId && a.acknowledged), { timeoutMs: 30_000, what: 'the acknowledgement on the board' });
    expect(acked.acknowledged).toMatchObject({ by: 'bm-test' });

    // The warehouse joins as the demo starts it: as the insights principal, in a group its live rule covers.
    const port = await freePort();
    insights = await startService('insights', {
      ...product.envOf('insights'), PFM_INSIGHTS_DB: join(mkdtempSync(join(tmpdir(), 'pfm-demo-insights-')), 'insights.duckdb'),
      PFM_INSIGHTS_SECRET: 'demo-e2e-insights-secret-0123456789abcdef', PFM_INSIGHTS_GROUP: namespaceGroups(product.ns).insights, PFM_INSIGHTS_PORT: String(port),
    }, (s) => logReady('insights running')(s) && logReady('insights caught up with the log')(s), 120_000);
    const series = await fetch(`http://127.0.0.1:${port}/api/v1/insights/series?measure=admissions&period=month`, { headers: { authorization: `Bearer ${token}` } });
    expect(series.status).toBe(200);
    const body = (await series.json()) as { segments: { points: { numerator: number }[] }[] };
    expect(body.segments.flatMap((x) => x.points).reduce((n, p) => n + p.numerator, 0)).toBeGreaterThan(100);
  });
});
