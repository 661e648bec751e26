// Fan-out benchmark: the product on the real stack (ingest, engine, one board-gateway as
// processes), N socket.io clients (websocket) spread over W ward rooms, then E admissions
// sent one by one through HTTP ingest. Latency per delivery = the client's receipt of the
// `update` whose change.eventId is the event, minus the moment ingest answered 202 for it
// (same process, same monotonic clock). Memory per connection = the gateway process's
// VmRSS after connecting and joining, minus before, over N.
//   pnpm tsx scripts/bench-fanout.ts [--clients 1000] [--wards 10] [--events 500] [--rate 20] [--board-window MS] [--per-request N] [--baseline] [--write]
// --baseline runs the same events with one client per ward first; --write puts the
// figures in docs/benchmarks.md (its "Fan-out" section only).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BoardUpdate, ClientToServerEvents, ServerToClientEvents, Ward } from '@pfm/contracts';
import { repoRoot, waitFor } from '@pfm/testkit';
import { postAccepted } from '../tests/support/feed';
import { cpuSeconds, io, rssKiB, serviceProcess, type Socket } from '../tests/support/socket';
import { startProduct } from '../tests/support/stack';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface FanoutOptions {
  /** socket.io clients (default 1000). */
  clients?: number;
  /** Ward rooms the clients are spread over (default 10). */
  wards?: number;
  /** Admissions sent (default 500), spread over the wards. */
  events?: number;
  /** Events per second sent (default 20); one HTTP request per event. */
  rate?: number;
  /** Events per HTTP request (default 1); several let one sending process reach high rates. */
  perRequest?: number;
  /** The engine's board window (PFM_BOARD_WINDOW_MS); unset: the engine's default. */
  boardWindowMs?: number;
  log?: (m: string) => void;
}

export interface FanoutResult {
  clients: number;
  wards: number;
  events: number;
  /** Events per second sent. */
  rate: number;
  /** Events whose own update reached the clients (the engine may fold two events of one ward into one update). */
  eventsMeasured: number;
  deliveries: number;
  expectedDeliveries: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; min: number };
  /**
   * Every event, whether or not it had an update of its own: from its request's start to the first
   * update at a client of its ward whose count of occupied beds includes it (the k-th
   * admission of a ward is visible once a client sees occupied >= k), over every client.
   */
  visibleMs: { p50: number; p90: number; p99: number; max: number };
  /** (event, client) pairs that became visible, of those expected. */
  visible: { seen: number; expected: number };
  /** Events per second the sender reached (all answered), against `rate` asked. */
  rateReached: number;
  /** Board updates received by all clients (socket messages). */
  updatesReceived: number;
  boardWindowMs?: number;
  connectSeconds: number;
  gatewayRssMiB: { before: number; after: number };
  kibPerConnection: number;
  machine: string;
  /** 1-minute load average before and after: other work on the machine shows here. */
  load: { before: number; after: number };
  /** CPU seconds used while the events were sent and delivered: the gateway process, and this process (the clients). */
  cpuSeconds: { gateway: number; clients: number; wallSeconds: number };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export function machine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} vCPU (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

export async function benchFanout(opts: FanoutOptions = {}): Promise<FanoutResult> {
  const nClients = opts.clients ?? 1000;
  const nWards = opts.wards ?? 10;
  const nEvents = opts.events ?? 500;
  const rate = opts.rate ?? 20;
  const perRequest = opts.perRequest ?? 1;
  const log = opts.log ?? ((m: string) => process.stdout.write(`[bench-fanout] ${m}\n`));
  const wards: Ward[] = Array.from({ length: nWards }, (_, i) => ({ site: 'RXT', code: `BW${String(i + 1).padStart(2, '0')}`, name: `Bench Ward ${i + 1}`, type: 'adult_acute', beds: Math.ceil(nEvents / nWards) + 10 }));
  const loadBefore = loadavg()[0]!;
  // Every client from this one address, each 20 under one reader (the gateway's caps per address and per user).
  const extraEnv: Record<string, string> = { PFM_GATEWAY_MAX_SOCKETS_PER_ADDRESS: String(nClients + 10) };
  if (opts.boardWindowMs !== undefined) extraEnv.PFM_BOARD_WINDOW_MS = String(opts.boardWindowMs);
  const p = await startProduct({ wards, extraEnv });
  const clients: Client[] = [];
  try {
    const gatewayPid = serviceProcess(p.services.gateway!.child.pid!);
    const tokens: string[] = [];
    for (let u = 0; u * 20 < nClients; u++) tokens.push(await p.token({ sub: `bench-${u}` }));
    const arrivals = new Map<string, number[]>(); // eventId -> receipt times
    // Per client: firstAt[k] = when it first saw its ward with at least k beds occupied.
    const firstAt: number[][] = [];
    let updatesReceived = 0;
    const connectOne = async (i: number): Promise<void> => {
      const ward = wards[i % nWards]!.code;
      const reached: number[] = [];
      firstAt[i] = reached;
      // forceNew: one connection per client (socket.io-client shares one per URL otherwise).
      const s: Client = io(p.gatewayUrl, { auth: { token: tokens[Math.floor(i / 20)]! }, transports: ['websocket'], reconnection: false, forceNew: true });
      clients.push(s);
      s.on('update', (u: BoardUpdate) => {
        const t = performance.now();
        updatesReceived += 1;
        for (let k = reached.length; k <= u.summary.occupied; k++) reached[k] = t;
        if (!u.change) return;
        const list = arrivals.get(u.change.eventId);
        if (list) list.push(t); else arrivals.set(u.change.eventId, [t]);
      });
      await new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('connect_error', reject); });
      const r = await new Promise<{ ok: boolean }>((resolve) => s.emit('join', { kind: 'ward', site: 'RXT', ward }, resolve));
      if (!r.ok) throw new Error(`join ${ward} refused`);
    };

    // One client first, so the socket.io code paths are loaded before the baseline.
    await connectOne(0);
    await waitFor(() => p.services.gateway!.running, { what: 'the gateway' });
    const before = rssKiB(gatewayPid);
    const t0 = performance.now();
    for (let i = 1; i < nClients; i += 100) await Promise.all(Array.from({ length: Math.min(100, nClients - i) }, (_, k) => connectOne(i + k)));
    const connectSeconds = (performance.now() - t0) / 1000;
    const after = rssKiB(gatewayPid);
    const kibPerConnection = (after - before) / (nClients - 1);
    log(`${nClients} clients connected and joined in ${connectSeconds.toFixed(1)} s; gateway RSS ${(before / 1024).toFixed(1)} -> ${(after / 1024).toFixed(1)} MiB (${kibPerConnection.toFixed(1)} KiB per connection)`);

    const accepted = new Map<string, number>();
    const acceptedAt: number[] = [];
    const cpu0 = { gateway: cpuSeconds(gatewayPid), clients: process.cpuUsage() };
    const start = performance.now();
    const runId = Date.now().toString(36);
    // Open loop: each event is sent at its due time whether or not earlier answers are in
    // (up to 256 in flight), so a slow answer does not lower the rate asked. Concurrent
    // requests may land out of order within a ward (see visibleMs).
    const inFlight = new Set<Promise<void>>();
    const sentAt: number[] = [];
    for (let i = 0; i < nEvents; i += perRequest) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      while (inFlight.size >= 256) await Promise.race(inFlight);
      const ids: [number, string][] = [];
      const events = [];
      for (let j = i; j < Math.min(nEvents, i + perRequest); j++) {
        const eventId = `fanout-${runId}-${j}`;
        ids.push([j, eventId]);
        sentAt[j] = performance.now();
        events.push({
          eventId, type: 'patient.admitted', occurredAt: new Date(Date.now() - 3_600_000).toISOString(), site: 'RXT', patientId: `FP${j}`,
          payload: { spellId: `FS${j}`, ward: wards[j % nWards]!.code, bed: `B${j}`, initials: 'ZZ' },
        });
      }
      const sent = postAccepted(p.ingestUrl, events).then(() => {
        const at = performance.now();
        for (const [j, eventId] of ids) { accepted.set(eventId, at); acceptedAt[j] = at; }
      });
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    await Promise.all(inFlight);
    const sendSeconds = (performance.now() - start) / 1000;
    const perWard = nClients / nWards;
    // Done when every client has seen its ward with all of its admissions (the newest
    // change of a ward need not be the last event sent: requests in flight can overtake).
    const finalCount = (c: number) => Math.floor((nEvents - 1 - (c % nWards)) / nWards) + 1;
    const behind = () => { let n = 0; for (let c = 0; c < nClients; c++) if ((firstAt[c]?.length ?? 0) - 1 < finalCount(c)) n += 1; return n; };
    await waitFor(() => behind() === 0, { timeoutMs: 120_000, what: 'every client to see its ward with all its admissions' })
      .catch((e: Error) => { throw new Error(`${e.message}: ${behind()} of ${nClients} clients behind`); });

    const clientCpu = process.cpuUsage(cpu0.clients);
    const cpu = { gateway: round(cpuSeconds(gatewayPid) - cpu0.gateway), clients: round((clientCpu.user + clientCpu.system) / 1e6), wallSeconds: round((performance.now() - start) / 1000) };
    const latencies: number[] = [];
    let measured = 0;
    for (const [id, at] of accepted) {
      const got = arrivals.get(id);
      if (!got?.length) continue;
      measured += 1;
      for (const t of got) latencies.push(t - at);
    }
    latencies.sort((a, b) => a - b);
    // Event i is the (floor(i / nWards) + 1)-th admission of ward i % nWards (wards start empty).
    const visibleAfter: number[] = [];
    for (let i = 0; i < nEvents; i++) {
      const k = Math.floor(i / nWards) + 1;
      for (let c = i % nWards; c < nClients; c += nWards) {
        const t = firstAt[c]?.[k];
        if (t !== undefined) visibleAfter.push(t - sentAt[i]!);
      }
    }
    visibleAfter.sort((a, b) => a - b);
    const result: FanoutResult = {
      clients: nClients, wards: nWards, events: nEvents, rate, eventsMeasured: measured, deliveries: latencies.length,
      expectedDeliveries: Math.round(measured * perWard),
      latencyMs: { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1)!), min: round(latencies[0]!) },
      visibleMs: { p50: round(percentile(visibleAfter, 50)), p90: round(percentile(visibleAfter, 90)), p99: round(percentile(visibleAfter, 99)), max: round(visibleAfter.at(-1)!) },
      visible: { seen: visibleAfter.length, expected: nEvents * perWard }, updatesReceived, boardWindowMs: opts.boardWindowMs, rateReached: round(nEvents / sendSeconds),
      connectSeconds: round(connectSeconds), gatewayRssMiB: { before: round(before / 1024), after: round(after / 1024) }, kibPerConnection: round(kibPerConnection),
      cpuSeconds: cpu, machine: machine(), load: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    for (const s of clients) s.disconnect();
    await p.stop();
  }
}

/** The "Fan-out" section of docs/benchmarks.md, replaced in place or appended. */
export function writeFanoutSection(r: FanoutResult, command: string, baseline?: FanoutResult): void {
  const file = join(repoRoot, 'docs', 'benchmarks.md');
  const col = (f: (x: FanoutResult) => string | number) => `| ${f(r)} |${baseline ? ` ${f(baseline)} |` : ''}`;
  const section = [
    '## Fan-out',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${r.machine}, with the stack (Kafka, registry, Redis) and ingest, engine and one board-gateway all on the same machine, and the clients in the benchmark's own Node process. The machine was shared with other test runs (1-minute load average ${r.load.before} before, ${r.load.after} after, on ${cpus().length} vCPUs), so the tail latencies include waiting for a CPU.`,
    '',
    '```',
    command,
    '```',
    '',
    `${r.clients} socket.io clients (websocket, one connection each), ${r.clients / r.wards} in each of ${r.wards} ward rooms; ${r.events} admissions at ${r.rate}/s, one HTTP request each, spread over the wards. Latency: from ingest's 202 for an event to a client's receipt of the \`update\` carrying that event id, over every delivery. The engine folds events of one ward processed in one batch into one update, so events without an update of their own are not counted. A negative minimum means the update overtook the HTTP answer (both are read on the same event loop).${baseline ? ' The baseline runs the same events with one client per ward.' : ''}`,
    '',
    `| measure | ${r.clients} clients |${baseline ? ` baseline: ${baseline.clients} clients |` : ''}`,
    `| --- | --- |${baseline ? ' --- |' : ''}`,
    `| events with their own update | ${r.eventsMeasured} of ${r.events} |${baseline ? ` ${baseline.eventsMeasured} of ${baseline.events} |` : ''}`,
    `| deliveries (received / expected) | ${r.deliveries} / ${r.expectedDeliveries} |${baseline ? ` ${baseline.deliveries} / ${baseline.expectedDeliveries} |` : ''}`,
    `| latency p50 ${col((x) => `${x.latencyMs.p50} ms`)}`,
    `| latency p90 ${col((x) => `${x.latencyMs.p90} ms`)}`,
    `| latency p99 ${col((x) => `${x.latencyMs.p99} ms`)}`,
    `| latency min / max ${col((x) => `${x.latencyMs.min} / ${x.latencyMs.max} ms`)}`,
    `| every event: request sent -> visible at a client, p50 / p99 ${col((x) => `${x.visibleMs.p50} / ${x.visibleMs.p99} ms (${x.visible.seen} of ${x.visible.expected})`)}`,
    `| board updates received / rate reached ${col((x) => `${x.updatesReceived} / ${x.rateReached} events/s`)}`,
    `| connect + join all clients ${col((x) => `${x.connectSeconds} s`)}`,
    `| gateway RSS before / after connecting ${col((x) => `${x.gatewayRssMiB.before} / ${x.gatewayRssMiB.after} MiB`)}`,
    `| memory per connection (RSS difference / clients) | **${r.kibPerConnection} KiB** |${baseline ? ' (too few to measure) |' : ''}`,
    `| CPU while sending: gateway / clients (wall) ${col((x) => `${x.cpuSeconds.gateway} s / ${x.cpuSeconds.clients} s (${x.cpuSeconds.wallSeconds} s)`)}`,
    '',
  ].join('\n');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const at = doc.search(/^## Fan-out\s*$/m);
  if (at >= 0) {
    const rest = doc.slice(at + 1);
    const next = rest.search(/^## /m);
    doc = doc.slice(0, at) + section + (next >= 0 ? `\n${rest.slice(next)}` : '');
  } else {
    doc = `${doc.trimEnd()}\n\n${section}`;
  }
  writeFileSync(file, doc.endsWith('\n') ? doc : `${doc}\n`);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const num = (name: string): number | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : undefined; };
  const opts: FanoutOptions = { clients: num('clients'), wards: num('wards'), events: num('events'), rate: num('rate'), boardWindowMs: num('board-window'), perRequest: num('per-request') };
  const run = async () => {
    // --baseline: the same events with one client per ward first, for comparison.
    const baseline = args.includes('--baseline') ? await benchFanout({ ...opts, clients: opts.wards ?? 10 }) : undefined;
    const r = await benchFanout(opts);
    if (args.includes('--write')) writeFanoutSection(r, `source .stack/stack.env && pnpm tsx scripts/bench-fanout.ts ${args.filter((a) => a !== '--write').join(' ')}`.trim(), baseline);
  };
  run()
    .then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
}
