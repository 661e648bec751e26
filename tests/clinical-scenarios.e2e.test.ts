// Clinical scenarios a safety reviewer would put to the product, written from
// shared/domain.md (not from the product's own fixtures): HL7 v2 ADT over MLLP as a PAS
// sends it (MSH/EVN/PID/PV1/PV2 and the ZMH segment), canonical JSON where HL7 has no
// trigger (CRFD, follow-up contacts), and the answers read back from the board's REST API
// and the ops rejects list. Real processes on the shared stack; every person is invented.
import { connect, type Socket } from 'node:net';
import type { Alert, PatientRow, WardSummary } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { waitFor } from '@pfm/testkit';
import { postEvents, SENDER_HEADER, startProduct, type ProductUnderTest } from './support/stack';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const MIN = 60_000;

// ---- a minimal PAS: MLLP framing and ADT messages ---------------------------------

class Pas {
  private buf = Buffer.alloc(0);
  private waiting: ((s: string) => void)[] = [];
  private ready: string[] = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let end = this.buf.indexOf(0x1c); end >= 0; end = this.buf.indexOf(0x1c)) {
        const start = this.buf.indexOf(0x0b);
        const text = this.buf.subarray(start + 1, end).toString('utf8');
        this.buf = this.buf.subarray(end + 2);
        const w = this.waiting.shift();
        if (w) w(text);
        else this.ready.push(text);
      }
    });
  }
  static open(port: number): Promise<Pas> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Pas(s)));
      s.once('error', reject);
    });
  }
  send(message: string | Buffer): Promise<string> {
    const body = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
    this.socket.write(Buffer.concat([Buffer.from([0x0b]), body, Buffer.from([0x1c, 0x0d])]));
    const r = this.ready.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no ACK within 20 s')), 20000);
      this.waiting.push((s) => { clearTimeout(t); resolve(s); });
    });
  }
  close(): void { this.socket.end(); }
}

const msa = (ack: string) => ack.split('\r').find((s) => s.startsWith('MSA|'))?.split('|') ?? [];
const errs = (ack: string) => ack.split('\r').filter((s) => s.startsWith('ERR|'));

/** HL7 DTM in UTC with its offset (a PAS on GMT would send the same). */
const dtm = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
const dateOnly = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');

interface Adt {
  ctl: string;
  pid: string;
  nhs?: string;
  dob?: number;
  sex?: string;
  ward?: string;
  bed?: string;
  spell?: string;
  at: number;
  recorded?: number;
  dischargeMethod?: string;
  destination?: string;
  edd?: string;
  expectedReturn?: number;
  zmh?: { legal?: string; oap?: 'Y' | 'N'; oapReason?: string; km?: number; area?: string; leaveType?: string };
  mrg?: string;
  /** Replaces the whole PID-3 (e.g. '' for a message with no identifier). */
  pid3?: string;
}

const STRUCT: Record<string, string> = { A01: 'ADT_A01', A02: 'ADT_A02', A03: 'ADT_A03', A08: 'ADT_A01', A11: 'ADT_A09', A12: 'ADT_A12', A13: 'ADT_A01', A21: 'ADT_A21', A22: 'ADT_A21', A52: 'ADT_A52', A40: 'ADT_A39' };

/** One ADT message as a PAS would send it (CR-separated segments). */
function adt(trigger: string, m: Adt): string {
  const rec = m.recorded ?? m.at;
  const pid3 = m.pid3 ?? [`${m.pid}^^^RXT^PI`, ...(m.nhs ? [`${m.nhs}^^^NHS^NH`] : [])].join('~');
  const pv1 = Array<string>(46).fill('');
  pv1[0] = 'PV1'; pv1[1] = '1'; pv1[2] = 'I';
  pv1[3] = m.ward ? `${m.ward}^^${m.bed ?? ''}^RXT01` : '';
  pv1[4] = trigger === 'A01' ? '21' : '';
  pv1[19] = m.spell ? `${m.spell}^^^RXT^VN` : '';
  if (m.dischargeMethod) pv1[36] = m.dischargeMethod;
  if (m.destination) pv1[37] = m.destination;
  if (trigger === 'A01') pv1[44] = dtm(m.at);
  if (trigger === 'A03') pv1[45] = dtm(m.at);
  const segs = [
    `MSH|^~\\&|PAS|RXT01|PFM|RXT|${dtm(rec)}||ADT^${trigger}^${STRUCT[trigger] ?? 'ADT_A01'}|${m.ctl}|P|2.4|||AL|NE|GBR`,
    `EVN|${trigger}|${dtm(rec)}|||C0042^ZZCLERK^PAT|${dtm(m.at)}`,
    `PID|1||${pid3}||INVENTED^TEST^^^MX^^L||${m.dob ? dateOnly(m.dob) : '19800101'}|${m.sex ?? 'F'}`,
  ];
  if (m.mrg) segs.push(`MRG|${m.mrg}^^^RXT^PI`);
  if (trigger !== 'A40') segs.push(pv1.join('|'));
  if (m.edd || m.expectedReturn) {
    const pv2 = Array<string>(48).fill('');
    pv2[0] = 'PV2';
    if (m.edd) pv2[9] = m.edd;
    if (m.expectedReturn) pv2[47] = dtm(m.expectedReturn);
    segs.push(pv2.join('|'));
  }
  if (m.zmh) {
    const z = m.zmh;
    segs.push(['ZMH', z.legal ?? '', z.oap ?? '', z.oapReason ?? '', z.km ?? '', z.area ?? '', '', z.leaveType ?? ''].join('|'));
  }
  return segs.join('\r') + '\r';
}

// ---- the product and what it answers ------------------------------------------------

const WARDS = [
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute' as const, beds: 10 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu' as const, beds: 6 },
  { site: 'RXT', code: 'BIRCH', name: 'Birch Ward', type: 'adult_acute' as const, beds: 4 },
  { site: 'RXT', code: 'CEDAR', name: 'Cedar Ward', type: 'adult_acute' as const, beds: 10 },
  { site: 'RXT', code: 'S136', name: 'Place of Safety', type: 'place_of_safety' as const, beds: 2 },
  { site: 'RXT', code: 'INDEP', name: 'Independent unit (out of area)', type: 'adult_acute' as const, beds: 0, external: true },
];

describe('clinical scenarios from domain.md, through the real product', () => {
  let p: ProductUnderTest;
  let pas: Pas;
  let token: string;
  let store: FlowStore;
  const now = Date.now();
  let seq = 0;
  const ctl = (tag: string) => `CS${now.toString(36)}${tag}${++seq}`.slice(0, 40);

  beforeAll(async () => {
    p = await startProduct({ wards: WARDS });
    pas = await Pas.open(Number(p.env.PFM_MLLP_PORT));
    token = await p.token();
    store = new FlowStore(p.redis, new Keys(p.prefix), new WardRegistry(WARDS), DEFAULT_THRESHOLDS);
  });
  afterAll(async () => {
    pas?.close();
    await p?.stop();
  });

  const get = async <T>(path: string, t = token): Promise<T> => {
    const r = await fetch(`${p.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${t}` } });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const ward = (code: string) => get<{ summary: WardSummary; patients: PatientRow[] }>(`/api/v1/wards/${code}`);
  const alerts = () => get<Alert[]>('/api/v1/alerts');
  const followups = () => get<{ patientId: string; spellId: string; ward: string; hoursLeft: number }[]>('/api/v1/followups');
  /** Sends and expects AA. */
  const send = async (trigger: string, m: Omit<Adt, 'ctl'> & { ctl?: string }): Promise<string> => {
    const ack = await pas.send(adt(trigger, { ctl: ctl(trigger), ...m }));
    expect(msa(ack)[1]).toBe('AA');
    return ack;
  };
  /** Waits until the engine holds an event with this id for the patient: applied (in the history), or also parked when `orParked`. */
  const applied = (pid: string, eventId: string, orParked = false) => waitFor(async () => {
    const st = await store.patient('RXT', pid);
    return !!st && [...st.events, ...(orParked ? st.parked.map((x) => x.event) : [])].some((e) => e.eventId === eventId || e.eventId.startsWith(`${eventId}-`));
  }, { timeoutMs: 30000, what: `event ${eventId} of ${pid} applied` });
  /** Waits until `fn` gives something other than false/undefined, and gives it. */
  const until = async <T>(what: string, fn: () => Promise<T | false | undefined>): Promise<T> => (await waitFor(fn, { timeoutMs: 30000, what })) as T;
  const rowOf = async (code: string, pid: string) => (await ward(code)).patients.find((r) => r.patientId === pid);
  const engineRejects = async () => {
    const ops = await p.token({ role: 'ops', sub: 'ops-test' });
    const r = await fetch(`${p.ingestUrl}/v1/rejects?stage=engine&limit=200`, { headers: { authorization: `Bearer ${ops}` } });
    return ((await r.json()) as { rejects: { eventId?: string; reason: string }[] }).rejects;
  };
  const activeAlert = (list: Alert[], pid: string, rule: Alert['rule']) => list.find((a) => a.patientId === pid && a.rule === rule && a.resolvedAt === undefined);

  it('out of order: a discharge that arrives before the transfer that preceded it still closes the spell and frees both wards', async () => {
    await send('A01', { pid: 'OOO1', spell: 'SP-OOO1', ward: 'CEDAR', bed: 'C1', at: now - 10 * DAY });
    const dis = ctl('A03');
    await send('A03', { ctl: dis, pid: 'OOO1', spell: 'SP-OOO1', ward: 'ELM', bed: 'E1', at: now - 1 * HOUR, destination: '19' });
    const tr = ctl('A02');
    await send('A02', { ctl: tr, pid: 'OOO1', spell: 'SP-OOO1', ward: 'ELM', bed: 'E1', at: now - 2 * DAY });
    await applied('OOO1', tr);
    expect(await rowOf('CEDAR', 'OOO1')).toBeUndefined();
    expect(await rowOf('ELM', 'OOO1')).toBeUndefined();
    // The discharge from ELM (PICU) to home starts a 72 h follow-up clock.
    const f = await until('follow-up worklist entry', async () => (await followups()).find((x) => x.patientId === 'OOO1'));
    // Discharged from ELM, where the late transfer had put them.
    expect(f).toMatchObject({ spellId: 'SP-OOO1', ward: 'ELM' });
  });

  it('two clocks: an A03 stamped 10 minutes before the A02 the ward sent first still discharges the patient and frees the bed they are in; a later A08 repeating PV2-9 is no reject', async () => {
    await send('A01', { pid: 'SKEW1', spell: 'SP-SKEW1', ward: 'OAK', bed: 'O20', at: now - 5 * DAY });
    const tr = ctl('A02');
    await send('A02', { ctl: tr, pid: 'SKEW1', spell: 'SP-SKEW1', ward: 'BIRCH', bed: 'B2', at: now - 2 * HOUR });
    await applied('SKEW1', tr);
    expect(await rowOf('BIRCH', 'SKEW1')).toBeDefined();
    const dis = ctl('A03');
    await send('A03', { ctl: dis, pid: 'SKEW1', spell: 'SP-SKEW1', ward: 'BIRCH', bed: 'B2', at: now - 2 * HOUR - 10 * MIN, recorded: now, destination: '19' });
    await applied('SKEW1', dis);
    expect(await rowOf('BIRCH', 'SKEW1')).toBeUndefined();
    expect(await rowOf('OAK', 'SKEW1')).toBeUndefined();
    const f = await until('follow-up worklist entry', async () => (await followups()).find((x) => x.patientId === 'SKEW1'));
    expect(f).toMatchObject({ spellId: 'SP-SKEW1', ward: 'BIRCH' });
    expect((await engineRejects()).filter((x) => x.eventId?.startsWith(dis))).toEqual([]);
    // The PAS's next A08 repeats PV2-9 after the discharge: taken, changes nothing, no reject.
    const upd = ctl('A08');
    await send('A08', { ctl: upd, pid: 'SKEW1', spell: 'SP-SKEW1', ward: 'BIRCH', bed: 'B2', at: now - 30 * MIN, edd: dateOnly(now + 3 * DAY) });
    await applied('SKEW1', `${upd}-2`);
    expect((await engineRejects()).filter((x) => x.eventId?.startsWith(upd))).toEqual([]);
    expect(await rowOf('BIRCH', 'SKEW1')).toBeUndefined();
  });

  it('A13 cancel discharge: the patient is back in the bed, counted, with no follow-up clock', async () => {
    await send('A01', { pid: 'CD1', spell: 'SP-CD1', ward: 'OAK', bed: 'O3', at: now - 3 * DAY });
    const a03 = ctl('A03');
    await send('A03', { ctl: a03, pid: 'CD1', spell: 'SP-CD1', ward: 'OAK', bed: 'O3', at: now - 2 * HOUR, destination: '19' });
    await applied('CD1', a03);
    await until('discharge applied', async () => (await rowOf('OAK', 'CD1')) === undefined || false);
    const a13 = ctl('A13');
    await send('A13', { ctl: a13, pid: 'CD1', spell: 'SP-CD1', ward: 'OAK', bed: 'O3', at: now - 1 * HOUR });
    const row = await until('patient back on OAK', () => rowOf('OAK', 'CD1'));
    expect(row).toMatchObject({ bed: 'O3', status: 'admitted', losDays: 3 });
    expect((await followups()).find((x) => x.patientId === 'CD1')).toBeUndefined();
  });

  it('A12 cancel transfer: the patient is back on the ward they came from', async () => {
    await send('A01', { pid: 'CT1', spell: 'SP-CT1', ward: 'OAK', bed: 'O4', at: now - 2 * DAY });
    await send('A02', { pid: 'CT1', spell: 'SP-CT1', ward: 'ELM', bed: 'E2', at: now - 5 * HOUR });
    await until('on ELM', () => rowOf('ELM', 'CT1'));
    await send('A12', { pid: 'CT1', spell: 'SP-CT1', ward: 'OAK', bed: 'O4', at: now - 4 * HOUR });
    const row = await until('back on OAK', () => rowOf('OAK', 'CT1'));
    expect(row.bed).toBe('O4');
    expect(await rowOf('ELM', 'CT1')).toBeUndefined();
  });

  it('A11 cancel admit after a later transfer: the spell never happened, no ward counts it', async () => {
    await send('A01', { pid: 'CA1', spell: 'SP-CA1', ward: 'OAK', bed: 'O5', at: now - 6 * HOUR });
    await send('A02', { pid: 'CA1', spell: 'SP-CA1', ward: 'ELM', bed: 'E3', at: now - 5 * HOUR });
    await until('on ELM', () => rowOf('ELM', 'CA1'));
    const a11 = ctl('A11');
    await send('A11', { ctl: a11, pid: 'CA1', spell: 'SP-CA1', ward: 'OAK', at: now - 4 * HOUR });
    await until('gone from ELM', async () => (await rowOf('ELM', 'CA1')) === undefined);
    expect(await rowOf('OAK', 'CA1')).toBeUndefined();
    // A fresh admission of the same person afterwards is accepted.
    await send('A01', { pid: 'CA1', spell: 'SP-CA1b', ward: 'OAK', bed: 'O5', at: now - 3 * HOUR });
    await until('re-admitted on OAK', () => rowOf('OAK', 'CA1'));
  });

  it('a PAS re-sending the same message (same MSH-10) is answered AA and counted once', async () => {
    const before = (await ward('BIRCH')).summary.occupied;
    const id = ctl('DUP');
    const msg = adt('A01', { ctl: id, pid: 'DUP1', spell: 'SP-DUP1', ward: 'BIRCH', bed: 'B1', at: now - 1 * DAY });
    expect(msa(await pas.send(msg))[1]).toBe('AA');
    expect(msa(await pas.send(msg))[1]).toBe('AA');
    await applied('DUP1', id);
    // A later event for another patient as a barrier: by then both copies were consumed.
    const barrier = ctl('A01');
    await send('A01', { ctl: barrier, pid: 'DUP2', spell: 'SP-DUP2', ward: 'BIRCH', bed: 'B2', at: now - 1 * DAY });
    await applied('DUP2', barrier);
    expect((await ward('BIRCH')).summary.occupied).toBe(before + 2);
  });

  it('leave: A21 keeps the bed (occupied incl. leave vs physically present), an overdue return alerts, A22 resolves it', async () => {
    // BIRCH has 4 beds: DUP1 and DUP2 are in (previous scenario); LV1 goes on leave.
    await send('A01', { pid: 'LV1', spell: 'SP-LV1', ward: 'BIRCH', bed: 'B3', at: now - 4 * DAY, zmh: { legal: '03' } });
    await send('A21', { pid: 'LV1', spell: 'SP-LV1', ward: 'BIRCH', bed: 'B3', at: now - 5 * HOUR, expectedReturn: now - 1 * HOUR, zmh: { leaveType: 'S17' } });
    const s = await until('on leave', async () => { const w = await ward('BIRCH'); return w.summary.onLeave === 1 && w; });
    expect(s.summary).toMatchObject({ occupied: 3, onLeave: 1, present: 2, occupancyPct: 50, occupancyInclLeavePct: 75 });
    expect(s.patients.find((r) => r.patientId === 'LV1')).toMatchObject({ bed: 'B3', status: 'on_leave' });
    const al = await until('leave overdue alert', async () => activeAlert(await alerts(), 'LV1', 'leave_overdue'));
    expect(al.ward).toBe('BIRCH');
    expect(al.source).toMatch(/s17/);
    await send('A22', { pid: 'LV1', spell: 'SP-LV1', ward: 'BIRCH', bed: 'B3', at: now - 10 * MIN });
    await until('overdue alert resolved', async () => !activeAlert(await alerts(), 'LV1', 'leave_overdue'));
    expect((await ward('BIRCH')).summary).toMatchObject({ occupied: 3, onLeave: 0, present: 3 });
  });

  it('AWOL recorded on an A21 (ZMH-7) raises a critical alert at once; A52 cancel of a leave puts the patient back present', async () => {
    await send('A01', { pid: 'AW1', spell: 'SP-AW1', ward: 'OAK', bed: 'O6', at: now - 2 * DAY, zmh: { legal: '02' } });
    await send('A21', { pid: 'AW1', spell: 'SP-AW1', ward: 'OAK', bed: 'O6', at: now - 30 * MIN, zmh: { leaveType: 'AWOL' } });
    const al = await until('AWOL alert', async () => activeAlert(await alerts(), 'AW1', 'awol'));
    expect(al.severity).toBe('critical');

    await send('A01', { pid: 'LC1', spell: 'SP-LC1', ward: 'OAK', bed: 'O7', at: now - 2 * DAY });
    await send('A21', { pid: 'LC1', spell: 'SP-LC1', ward: 'OAK', bed: 'O7', at: now - 3 * HOUR, expectedReturn: now + 5 * HOUR });
    await until('LC1 on leave', async () => (await rowOf('OAK', 'LC1'))?.status === 'on_leave');
    await send('A52', { pid: 'LC1', spell: 'SP-LC1', ward: 'OAK', bed: 'O7', at: now - 2 * HOUR });
    await until('LC1 present again', async () => (await rowOf('OAK', 'LC1'))?.status === 'admitted');
  });

  it('out-of-area: a move to an external unit is an OAP outside local occupancy; the move home ends it, LOS runs from the first admission', async () => {
    await send('A01', { pid: 'OAP1', spell: 'SP-OAP1', ward: 'OAK', bed: 'O8', at: now - 9 * DAY, zmh: { area: 'E38000001' } });
    await send('A02', { pid: 'OAP1', spell: 'SP-OAP1', ward: 'INDEP', at: now - 8 * DAY });
    const placed = await until('OAP flagged', async () => (await get<PatientRow[]>('/api/v1/patients?flag=oap')).find((r) => r.patientId === 'OAP1'));
    expect(placed).toMatchObject({ ward: 'INDEP', outOfArea: true, losDays: 9, oapSince: now - 8 * DAY - ((now - 8 * DAY) % 1000) });
    const site = await get<{ totals: { outOfArea: number; beds: number }; outOfArea: { placements: number; bedDays: number } }>('/api/v1/site');
    expect(site.outOfArea.placements).toBeGreaterThanOrEqual(1);
    expect(site.outOfArea.bedDays).toBeGreaterThanOrEqual(8);
    expect(await rowOf('OAK', 'OAP1')).toBeUndefined();
    await send('A02', { pid: 'OAP1', spell: 'SP-OAP1', ward: 'OAK', bed: 'O8', at: now - 1 * DAY });
    const home = await until('back on OAK', () => rowOf('OAK', 'OAP1'));
    expect(home).toMatchObject({ outOfArea: false, losDays: 9 });
    expect(home.flags).toEqual(expect.arrayContaining(['stranded']));
    expect(home.flags).not.toContain('oap');
  });

  it('stranded and super-stranded count from the spell start (a transfer does not reset LOS); each alert names its threshold and source', async () => {
    await send('A01', { pid: 'ST1', spell: 'SP-ST1', ward: 'OAK', bed: 'O9', at: now - 8 * DAY });
    await send('A02', { pid: 'ST1', spell: 'SP-ST1', ward: 'CEDAR', bed: 'C2', at: now - 2 * DAY });
    await send('A01', { pid: 'SS1', spell: 'SP-SS1', ward: 'CEDAR', bed: 'C3', at: now - 22 * DAY });
    await send('A01', { pid: 'LS1', spell: 'SP-LS1', ward: 'CEDAR', bed: 'C4', at: now - 61 * DAY });
    const list = await until('LOS alerts', async () => { const a = await alerts(); return activeAlert(a, 'ST1', 'stranded') && activeAlert(a, 'SS1', 'super_stranded') && activeAlert(a, 'LS1', 'long_stay') && a; });
    expect(activeAlert(list, 'ST1', 'stranded')).toMatchObject({ threshold: { value: 7, unit: 'days' }, source: expect.stringMatching(/7 days/) });
    expect(activeAlert(list, 'ST1', 'super_stranded')).toBeUndefined();
    expect(activeAlert(list, 'SS1', 'super_stranded')).toMatchObject({ threshold: { value: 21, unit: 'days' } });
    expect(activeAlert(list, 'LS1', 'long_stay')).toMatchObject({ threshold: { value: 60, unit: 'days' } });
    const stranded = await get<PatientRow[]>('/api/v1/patients?flag=stranded');
    expect(stranded.find((r) => r.patientId === 'ST1')).toMatchObject({ ward: 'CEDAR', losDays: 8 });
    expect((await get<PatientRow[]>('/api/v1/patients?flag=super_stranded')).map((r) => r.patientId)).toEqual(expect.arrayContaining(['SS1', 'LS1']));
    expect((await get<PatientRow[]>('/api/v1/patients?flag=super_stranded')).map((r) => r.patientId)).not.toContain('ST1');
  });

  it('EDD from PV2-9 (a date) passes after that day, not at its start', async () => {
    const yesterday = dateOnly(now - DAY);
    const tomorrow = dateOnly(now + DAY);
    await send('A01', { pid: 'ED1', spell: 'SP-ED1', ward: 'OAK', bed: 'O10', at: now - 5 * DAY, edd: yesterday });
    await send('A01', { pid: 'ED2', spell: 'SP-ED2', ward: 'BIRCH', bed: 'B4', at: now - 5 * DAY, edd: tomorrow });
    const r = await until('EDD passed flag', async () => (await get<PatientRow[]>('/api/v1/patients?flag=edd_passed')).find((x) => x.patientId === 'ED1'));
    expect(r.flags).toContain('edd_passed');
    const r2 = await until('ED2 on board', () => rowOf('BIRCH', 'ED2'));
    expect(r2.flags).not.toContain('edd_passed');
  });

  it('CRFD with a reason change mid-period: one period, the current reason counted, delay days split by reason', async () => {
    await send('A01', { pid: 'CR1', spell: 'SP-CR1', ward: 'CEDAR', bed: 'C5', at: now - 20 * DAY });
    await until('CR1 admitted', () => rowOf('CEDAR', 'CR1'));
    const r = await postEvents(p.ingestUrl, [
      { eventId: `${ctl('J')}-crfd1`, type: 'crfd.started', occurredAt: new Date(now - 6 * DAY).toISOString(), site: 'RXT', patientId: 'CR1', payload: { spellId: 'SP-CR1', reasonCode: '11' } },
      { eventId: `${ctl('J')}-crfd2`, type: 'crfd.started', occurredAt: new Date(now - 2 * DAY).toISOString(), site: 'RXT', patientId: 'CR1', payload: { spellId: 'SP-CR1', reasonCode: '15' } },
    ]);
    expect(r.status).toBe(202);
    const w = await until('CRFD reason 15 counted', async () => { const x = await ward('CEDAR'); return x.summary.crfdReasons['15'] === 1 && x; });
    expect(w.summary.crfd).toBe(1);
    expect(w.summary.crfdReasons['11'] ?? 0).toBe(0);
    const row = (await get<PatientRow[]>('/api/v1/patients?flag=crfd')).find((x) => x.patientId === 'CR1');
    expect(row).toMatchObject({ crfdReason: '15' });
    expect(row!.crfdDays).toBeCloseTo(6, 0);
    // Deterioration ends the period: no longer counted as CRFD.
    expect((await postEvents(p.ingestUrl, { eventId: `${ctl('J')}-crfd3`, type: 'crfd.ended', occurredAt: new Date(now - 1 * DAY).toISOString(), site: 'RXT', patientId: 'CR1', payload: { spellId: 'SP-CR1' } })).status).toBe(202);
    await until('CRFD ended', async () => (await ward('CEDAR')).summary.crfd === 0);
  });

  it('72 h follow-up: home at exactly 72 h is missed; prison, death, another psychiatric unit and Wales are exempt; 71 h is still due', async () => {
    const discharge = async (pid: string, hoursAgo: number, d: { destination?: string; dischargeMethod?: string; area?: string }) => {
      await send('A01', { pid, spell: `SP-${pid}`, ward: 'OAK', bed: `F${pid}`, at: now - 10 * DAY, ...(d.area ? { zmh: { area: d.area } } : {}) });
      await send('A03', { pid, spell: `SP-${pid}`, ward: 'OAK', bed: `F${pid}`, at: now - hoursAgo * HOUR, destination: d.destination, dischargeMethod: d.dischargeMethod });
    };
    await discharge('FU-HOME72', 72, { destination: '19' });
    await discharge('FU-HOME71', 71, { destination: '19' });
    await discharge('FU-PRISON', 73, { destination: '37' });
    await discharge('FU-DIED', 73, { destination: '79', dischargeMethod: '4' });
    await discharge('FU-PSYCH', 73, { destination: '49' });
    await discharge('FU-WALES', 73, { destination: '19', area: 'W92000004' });
    const list = await until('follow-up missed at 72 h', async () => { const a = await alerts(); return activeAlert(a, 'FU-HOME72', 'followup_missed') && a; });
    expect(activeAlert(list, 'FU-HOME72', 'followup_missed')).toMatchObject({ severity: 'critical', threshold: { value: 72, unit: 'hours' } });
    for (const pid of ['FU-HOME71', 'FU-PRISON', 'FU-DIED', 'FU-PSYCH', 'FU-WALES']) expect(activeAlert(list, pid, 'followup_missed')).toBeUndefined();
    const due = await followups();
    expect(due.find((x) => x.patientId === 'FU-HOME71')).toMatchObject({ hoursLeft: 0 });
    for (const pid of ['FU-PRISON', 'FU-DIED', 'FU-PSYCH', 'FU-WALES']) expect(due.find((x) => x.patientId === pid)).toBeUndefined();
    // A follow-up contact (recorded late) resolves the missed alert and leaves the worklist.
    expect((await postEvents(p.ingestUrl, { eventId: `${ctl('J')}-fu`, type: 'followup.made', occurredAt: new Date(now - 1 * HOUR).toISOString(), site: 'RXT', patientId: 'FU-HOME71', payload: { spellId: 'SP-FU-HOME71' } })).status).toBe(202);
    await until('FU-HOME71 off the worklist', async () => !(await followups()).some((x) => x.patientId === 'FU-HOME71'));
  });

  it('s136: 24 h from arrival alerts; an extension (20X) made in time runs to 36 h; one recorded after expiry extends nothing', async () => {
    await send('A01', { pid: 'PS1', spell: 'SP-PS1', ward: 'S136', at: now - 24 * HOUR - 2 * MIN, zmh: { legal: '20' } });
    // The extension's A08 reaches ingest before the A01 (arrival out of order): the fold puts
    // it after the admission, so the 24 h clock never runs. (Sent the other way round, a scan
    // can raise the 24 h alert just as the A08 stops its clock and leave it active: see the
    // scanner/raise race in the helper's report; not asserted here, it is timing-dependent.)
    await send('A08', { pid: 'PS2', spell: 'SP-PS2', ward: 'S136', at: now - 2 * HOUR, zmh: { legal: '20X' } });
    await send('A01', { pid: 'PS2', spell: 'SP-PS2', ward: 'S136', at: now - 25 * HOUR, zmh: { legal: '20' } });
    await send('A01', { pid: 'PS3', spell: 'SP-PS3', ward: 'S136', at: now - 26 * HOUR, zmh: { legal: '20' } });
    await send('A08', { pid: 'PS3', spell: 'SP-PS3', ward: 'S136', at: now - 1 * HOUR, zmh: { legal: '20X' } });
    const list = await until('s136 expiry alerts', async () => { const a = await alerts(); return activeAlert(a, 'PS1', 'mha_expiry') && activeAlert(a, 'PS3', 'mha_expiry') && a; });
    expect(activeAlert(list, 'PS1', 'mha_expiry')).toMatchObject({ severity: 'critical', threshold: { value: 24, unit: 'hours' } });
    expect(activeAlert(list, 'PS3', 'mha_expiry')?.threshold.value).toBe(24);
    // PS2's 36 h run ends 11 h from now: nothing active.
    const ps2 = await until('PS2 applied', async () => (await rowOf('S136', 'PS2')));
    expect(ps2.legalStatus).toBe('20X');
    expect(activeAlert(await alerts(), 'PS2', 'mha_expiry')).toBeUndefined();
    // The suite is shown as spaces in site pressure, never as inpatient beds.
    expect((await ward('S136')).summary).toMatchObject({ wardType: 'place_of_safety', occupied: 3 });
    const site = await get<{ pressure: { reasons: string[] } }>('/api/v1/site');
    expect(site.pressure.reasons).toContain('s136 suites full (3/2)');
  });

  it('s5(2): the 72 h holding power alerts at expiry, counted from when it began (not from admission)', async () => {
    await send('A01', { pid: 'H52a', spell: 'SP-H52a', ward: 'OAK', bed: 'O11', at: now - 5 * DAY, zmh: { legal: '01' } });
    await send('A08', { pid: 'H52a', spell: 'SP-H52a', ward: 'OAK', at: now - 72 * HOUR - 5 * MIN, zmh: { legal: '05' } });
    await send('A01', { pid: 'H52b', spell: 'SP-H52b', ward: 'OAK', bed: 'O12', at: now - 5 * DAY, zmh: { legal: '01' } });
    await send('A08', { pid: 'H52b', spell: 'SP-H52b', ward: 'OAK', at: now - 71 * HOUR, zmh: { legal: '05' } });
    const list = await until('s5(2) expiry', async () => { const a = await alerts(); return activeAlert(a, 'H52a', 'mha_expiry') && a; });
    expect(activeAlert(list, 'H52a', 'mha_expiry')).toMatchObject({ threshold: { value: 72, unit: 'hours' }, message: expect.stringMatching(/5\(2\)/) });
    expect(activeAlert(list, 'H52b', 'mha_expiry')).toBeUndefined();
    expect((await rowOf('OAK', 'H52b'))?.legalStatus).toBe('05');
  });

  it('a 17-year-old on an adult ward: CQC notification alert after 48 h, not before; an 18-year-old never', async () => {
    const dob17 = now - (17 * 365 + 100) * DAY;
    const dob18 = now - (18 * 365 + 100) * DAY;
    await send('A01', { pid: 'U18a', spell: 'SP-U18a', ward: 'CEDAR', bed: 'C6', at: now - 49 * HOUR, dob: dob17 });
    await send('A01', { pid: 'U18b', spell: 'SP-U18b', ward: 'CEDAR', bed: 'C7', at: now - 47 * HOUR, dob: dob17 });
    await send('A01', { pid: 'U18c', spell: 'SP-U18c', ward: 'CEDAR', bed: 'C8', at: now - 49 * HOUR, dob: dob18 });
    const list = await until('under-18 alert', async () => { const a = await alerts(); return activeAlert(a, 'U18a', 'under18_adult_ward') && a; });
    expect(activeAlert(list, 'U18a', 'under18_adult_ward')).toMatchObject({ severity: 'critical', threshold: { value: 48, unit: 'hours' }, source: expect.stringMatching(/CQC/) });
    expect(activeAlert(list, 'U18b', 'under18_adult_ward')).toBeUndefined();
    expect(activeAlert(list, 'U18c', 'under18_adult_ward')).toBeUndefined();
  });

  it('A40 merge: the duplicate record\'s open spell moves to the surviving record, counted once; later events on the retired id are refused', async () => {
    const before = (await ward('ELM')).summary.occupied;
    await send('A01', { pid: 'MRG-DUP', spell: 'SP-MRG', ward: 'ELM', bed: 'E4', at: now - 3 * DAY });
    await until('admitted under the duplicate record', () => rowOf('ELM', 'MRG-DUP'));
    const a40 = ctl('A40');
    await send('A40', { ctl: a40, pid: 'MRG-KEEP', nhs: '9434765919', mrg: 'MRG-DUP', at: now - 1 * HOUR });
    const row = await until('spell under the survivor', () => rowOf('ELM', 'MRG-KEEP'));
    expect(row).toMatchObject({ spellId: 'SP-MRG', nhsNumber: '9434765919', losDays: 3 });
    expect(await rowOf('ELM', 'MRG-DUP')).toBeUndefined();
    expect((await ward('ELM')).summary.occupied).toBe(before + 1);
    // The PAS still sends an update under the retired id: refused by the engine, naming the survivor.
    const late = ctl('A08');
    await send('A08', { ctl: late, pid: 'MRG-DUP', spell: 'SP-MRG', ward: 'ELM', at: now - 20 * MIN, zmh: { legal: '03' } });
    const refused = await until('engine reject for the retired id', async () => (await engineRejects()).find((r) => r.eventId === late));
    expect(refused.reason).toMatch(/MRG-KEEP/);
    expect((await rowOf('ELM', 'MRG-KEEP'))?.legalStatus).toBeUndefined();
    // The survivor's discharge closes the moved spell.
    await send('A03', { pid: 'MRG-KEEP', nhs: '9434765919', spell: 'SP-MRG', ward: 'ELM', bed: 'E4', at: now - 30 * MIN, destination: '19' });
    await until('survivor discharged', async () => (await rowOf('ELM', 'MRG-KEEP')) === undefined);
    expect((await ward('ELM')).summary.occupied).toBe(before);
  });

  it('bad HL7: no PID-3 -> AE naming PID-3, bad NHS number -> AE, garbage -> AR; each kept as a reject with its reason; an unknown ward is applied, not dropped', async () => {
    const noId = await pas.send(adt('A01', { ctl: ctl('BAD'), pid: 'X', pid3: '', spell: 'SP-BAD1', ward: 'OAK', at: now - HOUR }));
    expect(msa(noId)[1]).toBe('AE');
    expect(errs(noId).join('\n')).toMatch(/PID\^1\^3/);
    const badNhs = await pas.send(adt('A01', { ctl: ctl('BAD'), pid: 'BAD2', nhs: '9434765918', spell: 'SP-BAD2', ward: 'OAK', at: now - HOUR }));
    expect(msa(badNhs)[1]).toBe('AE');
    expect(errs(badNhs).length).toBeGreaterThan(0);
    const garbage = await pas.send('this is not an HL7 message\rat all\r');
    expect(msa(garbage)[1]).toBe('AR');
    expect(errs(garbage).length).toBeGreaterThan(0);
    const noSpell = await pas.send(adt('A03', { ctl: ctl('BAD'), pid: 'BAD3', ward: 'OAK', at: now - HOUR }));
    expect(msa(noSpell)[1]).toBe('AE');
    expect(errs(noSpell).join('\n')).toMatch(/PV1\^1\^19/);

    const ops = await p.token({ role: 'ops', sub: 'ops-test' });
    const rejects = await until('three HL7 rejects listed', async () => {
      const r = await fetch(`${p.ingestUrl}/v1/rejects?channel=hl7v2&limit=100`, { headers: { authorization: `Bearer ${ops}` } });
      const body = (await r.json()) as { rejects: { reason: string; errors: { path: string }[] }[] };
      return body.rejects.length >= 4 && body.rejects;
    });
    expect(rejects.every((x) => x.reason.length > 0)).toBe(true);
    expect(rejects.some((x) => x.errors.some((e) => e.path.startsWith('PID-3')))).toBe(true);
    expect(rejects.some((x) => x.errors.some((e) => e.path.startsWith('PV1-19')))).toBe(true);

    // A ward the registry does not know yet: applied and shown as type unknown.
    await send('A01', { pid: 'UNK1', spell: 'SP-UNK1', ward: 'NEWWARD', bed: 'N1', at: now - 2 * HOUR });
    const w = await until('unknown ward shown', async () => (await get<WardSummary[]>('/api/v1/wards')).find((x) => x.ward === 'NEWWARD'));
    expect(w).toMatchObject({ wardType: 'unknown', occupied: 1 });
  });

  it('a transfer dated after the discharge (a discharged patient moved) is refused and puts nobody back in a bed', async () => {
    await send('A01', { pid: 'TD1', spell: 'SP-TD1', ward: 'OAK', bed: 'O13', at: now - 4 * DAY });
    await send('A03', { pid: 'TD1', spell: 'SP-TD1', ward: 'OAK', bed: 'O13', at: now - 3 * HOUR, destination: '19' });
    const a02 = ctl('A02');
    await send('A02', { ctl: a02, pid: 'TD1', spell: 'SP-TD1', ward: 'ELM', bed: 'E5', at: now - 1 * HOUR });
    const r = await until('engine reject for the late transfer', async () => (await engineRejects()).find((x) => x.eventId === a02));
    expect(r.reason).toMatch(/discharged/);
    expect(await rowOf('ELM', 'TD1')).toBeUndefined();
    expect(await rowOf('OAK', 'TD1')).toBeUndefined();
  });

  it('A11 after a discharge: no spell, so no 72 h follow-up clock either', async () => {
    await send('A01', { pid: 'CX1', spell: 'SP-CX1', ward: 'OAK', bed: 'O14', at: now - 5 * DAY });
    await send('A03', { pid: 'CX1', spell: 'SP-CX1', ward: 'OAK', bed: 'O14', at: now - 10 * HOUR, destination: '19' });
    // The clock runs (on the worklist, not yet due)...
    await until('CX1 on the follow-up worklist', async () => (await followups()).find((x) => x.patientId === 'CX1'));
    await send('A11', { pid: 'CX1', spell: 'SP-CX1', ward: 'OAK', at: now - 1 * HOUR });
    // ...until the admission is cancelled.
    await until('CX1 off the worklist', async () => !(await followups()).some((x) => x.patientId === 'CX1'));
  });

  it('a missed follow-up alert resolved by an A13, then a real discharge whose 72 h also run out: alerted again', async () => {
    await send('A01', { pid: 'FX1', spell: 'SP-FX1', ward: 'OAK', bed: 'O26', at: now - 10 * DAY });
    await send('A03', { pid: 'FX1', spell: 'SP-FX1', ward: 'OAK', bed: 'O26', at: now - 80 * HOUR, destination: '19' });
    await until('first missed follow-up', async () => activeAlert(await alerts(), 'FX1', 'followup_missed'));
    // The discharge was entered in error: cancelled (time of the correction as the PAS dates it), then done for real.
    await send('A13', { pid: 'FX1', spell: 'SP-FX1', ward: 'OAK', bed: 'O26', at: now - 79 * HOUR });
    await until('first alert resolved', async () => !activeAlert(await alerts(), 'FX1', 'followup_missed'));
    await send('A03', { pid: 'FX1', spell: 'SP-FX1', ward: 'OAK', bed: 'O26', at: now - 78 * HOUR, destination: '19' });
    const a = await until('second missed follow-up', async () => activeAlert(await alerts(), 'FX1', 'followup_missed'));
    expect(a.becameTrueAt).toBe(now - 78 * HOUR + 72 * HOUR - ((now - 78 * HOUR) % 1000));
  });

  it('A12 after two transfers undoes only the latest one', async () => {
    await send('A01', { pid: 'TT1', spell: 'SP-TT1', ward: 'OAK', bed: 'O16', at: now - 3 * DAY });
    await send('A02', { pid: 'TT1', spell: 'SP-TT1', ward: 'ELM', bed: 'E6', at: now - 2 * DAY });
    await send('A02', { pid: 'TT1', spell: 'SP-TT1', ward: 'CEDAR', bed: 'C9', at: now - 1 * DAY });
    await until('on CEDAR', () => rowOf('CEDAR', 'TT1'));
    await send('A12', { pid: 'TT1', spell: 'SP-TT1', ward: 'ELM', bed: 'E6', at: now - 20 * HOUR });
    const row = await until('back on ELM', () => rowOf('ELM', 'TT1'));
    expect(row.bed).toBe('E6');
    expect(await rowOf('CEDAR', 'TT1')).toBeUndefined();
    expect(await rowOf('OAK', 'TT1')).toBeUndefined();
  });

  it('A53 cancel leave return: back on leave; a discharge from leave frees the bed and clears the overdue alert', async () => {
    await send('A01', { pid: 'LR1', spell: 'SP-LR1', ward: 'CEDAR', bed: 'C10', at: now - 4 * DAY });
    await send('A21', { pid: 'LR1', spell: 'SP-LR1', ward: 'CEDAR', bed: 'C10', at: now - 10 * HOUR, expectedReturn: now - 2 * HOUR, zmh: { leaveType: 'S17' } });
    await send('A22', { pid: 'LR1', spell: 'SP-LR1', ward: 'CEDAR', bed: 'C10', at: now - 3 * HOUR });
    await until('LR1 back', async () => (await rowOf('CEDAR', 'LR1'))?.status === 'admitted');
    await send('A53', { pid: 'LR1', spell: 'SP-LR1', ward: 'CEDAR', bed: 'C10', at: now - 90 * MIN });
    await until('LR1 on leave again', async () => (await rowOf('CEDAR', 'LR1'))?.status === 'on_leave');
    await until('LR1 overdue', async () => activeAlert(await alerts(), 'LR1', 'leave_overdue'));
    await send('A03', { pid: 'LR1', spell: 'SP-LR1', ward: 'CEDAR', bed: 'C10', at: now - 30 * MIN, destination: '19' });
    await until('LR1 discharged, overdue resolved', async () => !(await rowOf('CEDAR', 'LR1')) && !activeAlert(await alerts(), 'LR1', 'leave_overdue'));
  });

  it('A13 voids a follow-up contact made after the cancelled discharge: the real discharge later starts a fresh 72 h clock', async () => {
    await send('A01', { pid: 'RD1', spell: 'SP-RD1', ward: 'OAK', bed: 'O17', at: now - 9 * DAY });
    await send('A03', { pid: 'RD1', spell: 'SP-RD1', ward: 'OAK', bed: 'O17', at: now - 5 * DAY, destination: '19' });
    expect((await postEvents(p.ingestUrl, { eventId: `${ctl('J')}-rdfu`, type: 'followup.made', occurredAt: new Date(now - 4 * DAY).toISOString(), site: 'RXT', patientId: 'RD1', payload: { spellId: 'SP-RD1' } })).status).toBe(202);
    await send('A13', { pid: 'RD1', spell: 'SP-RD1', ward: 'OAK', bed: 'O17', at: now - 4 * DAY + HOUR });
    await until('RD1 back in bed', () => rowOf('OAK', 'RD1'));
    await send('A03', { pid: 'RD1', spell: 'SP-RD1', ward: 'OAK', bed: 'O17', at: now - 74 * HOUR, destination: '19' });
    const a = await until('RD1 follow-up missed after the real discharge', async () => activeAlert(await alerts(), 'RD1', 'followup_missed'));
    expect(a.threshold).toEqual({ value: 72, unit: 'hours' });
  });

  it('s2 warns 72 h before its 28 days (beginning with the day of admission) run out; s5(4) expires at 6 h', async () => {
    await send('A01', { pid: 'S2a', spell: 'SP-S2a', ward: 'CEDAR', bed: 'C11', at: now - 25 * DAY - 1 * HOUR, zmh: { legal: '02' } });
    await send('A01', { pid: 'S2b', spell: 'SP-S2b', ward: 'CEDAR', bed: 'C12', at: now - 24 * DAY, zmh: { legal: '02' } });
    await send('A01', { pid: 'S54', spell: 'SP-S54', ward: 'OAK', bed: 'O18', at: now - 2 * DAY, zmh: { legal: '01' } });
    await send('A08', { pid: 'S54', spell: 'SP-S54', ward: 'OAK', at: now - 6 * HOUR - 5 * MIN, zmh: { legal: '06' } });
    const list = await until('s2 and s5(4) alerts', async () => { const x = await alerts(); return activeAlert(x, 'S2a', 'mha_expiry') && activeAlert(x, 'S54', 'mha_expiry') && x; });
    expect(activeAlert(list, 'S2a', 'mha_expiry')).toMatchObject({ threshold: { value: 28, unit: 'days' } });
    expect(activeAlert(list, 'S54', 'mha_expiry')).toMatchObject({ threshold: { value: 6, unit: 'hours' } });
    expect(activeAlert(list, 'S2b', 'mha_expiry')).toBeUndefined();
  });

  it('s3 warns 4 weeks before its first 6 months (beginning with the day of admission) run out: the renewal is due', async () => {
    // 6 months are 181-184 days: admitted 160 days ago the warning is due; 150 days ago, not yet.
    await send('A01', { pid: 'S3a', spell: 'SP-S3a', ward: 'OAK', bed: 'O40', at: now - 160 * DAY, zmh: { legal: '03' } });
    await send('A01', { pid: 'S3b', spell: 'SP-S3b', ward: 'OAK', bed: 'O41', at: now - 150 * DAY, zmh: { legal: '03' } });
    const list = await until('s3 renewal alert', async () => { const x = await alerts(); return activeAlert(x, 'S3a', 'mha_expiry') && x; });
    expect(activeAlert(list, 'S3a', 'mha_expiry')).toMatchObject({ severity: 'critical', threshold: { unit: 'days' }, message: expect.stringContaining('section 3') });
    expect(activeAlert(list, 'S3a', 'mha_expiry')!.threshold.value).toBeGreaterThanOrEqual(181);
    expect(activeAlert(list, 'S3b', 'mha_expiry')).toBeUndefined();
  });

  it('under-18: the 48 h runs from arrival on an adult ward, not from an earlier stay in a s136 suite', async () => {
    const dob17 = now - (17 * 365 + 40) * DAY;
    await send('A01', { pid: 'U18d', spell: 'SP-U18d', ward: 'S136', at: now - 60 * HOUR, dob: dob17, zmh: { legal: '20' } });
    await send('A02', { pid: 'U18d', spell: 'SP-U18d', ward: 'OAK', bed: 'O19', at: now - 40 * HOUR });
    await send('A08', { pid: 'U18d', spell: 'SP-U18d', ward: 'OAK', at: now - 40 * HOUR, zmh: { legal: '02' } });
    // And one who arrived on an adult ward 50 h ago via the suite: due.
    await send('A01', { pid: 'U18e', spell: 'SP-U18e', ward: 'S136', at: now - 60 * HOUR, dob: dob17, zmh: { legal: '20' } });
    await send('A02', { pid: 'U18e', spell: 'SP-U18e', ward: 'OAK', bed: 'O20', at: now - 50 * HOUR });
    await send('A08', { pid: 'U18e', spell: 'SP-U18e', ward: 'OAK', at: now - 50 * HOUR, zmh: { legal: '02' } });
    const list = await until('U18e alert', async () => { const x = await alerts(); return activeAlert(x, 'U18e', 'under18_adult_ward') && x; });
    expect(activeAlert(list, 'U18e', 'under18_adult_ward')).toMatchObject({ ward: 'OAK' });
    expect(activeAlert(list, 'U18d', 'under18_adult_ward')).toBeUndefined();
  });

  it('a s136 suite discharge starts no 72 h follow-up clock (not an inpatient ward)', async () => {
    await send('A01', { pid: 'PS9', spell: 'SP-PS9', ward: 'S136', at: now - 90 * HOUR, zmh: { legal: '20' } });
    const a03 = ctl('A03');
    await send('A03', { ctl: a03, pid: 'PS9', spell: 'SP-PS9', ward: 'S136', at: now - 80 * HOUR, destination: '19' });
    await applied('PS9', a03);
    await send('A01', { pid: 'PS9b', spell: 'SP-PS9b', ward: 'OAK', bed: 'O21', at: now - 9 * DAY });
    const list = await until('barrier alert', async () => { const x = await alerts(); return activeAlert(x, 'PS9b', 'stranded') && x; });
    expect(activeAlert(list, 'PS9', 'followup_missed')).toBeUndefined();
    expect((await followups()).some((x) => x.patientId === 'PS9')).toBe(false);
  });

  it('arrival out of order: a transfer and a leave that reach ingest before their admission wait for it (parked), then apply', async () => {
    const a02 = ctl('A02');
    await send('A02', { ctl: a02, pid: 'PK1', spell: 'SP-PK1', ward: 'ELM', bed: 'E7', at: now - 20 * HOUR });
    await send('A21', { pid: 'PK1', spell: 'SP-PK1', ward: 'ELM', bed: 'E7', at: now - 3 * HOUR, expectedReturn: now + 3 * HOUR });
    await applied('PK1', a02, true);
    expect((await store.patient('RXT', 'PK1'))?.parked.map((x) => x.event.eventId)).toContain(a02);
    expect(await rowOf('ELM', 'PK1')).toBeUndefined();
    await send('A01', { pid: 'PK1', spell: 'SP-PK1', ward: 'OAK', bed: 'O22', at: now - 2 * DAY });
    const row = await until('PK1 on ELM, on leave', async () => { const r = await rowOf('ELM', 'PK1'); return r?.status === 'on_leave' && r; });
    expect(row).toMatchObject({ bed: 'E7', losDays: 2 });
    expect(await rowOf('OAK', 'PK1')).toBeUndefined();
  });

  it('a PAS re-sending an admission under a new control id does not put the patient in two beds', async () => {
    const before = (await ward('OAK')).summary.occupied;
    await send('A01', { pid: 'RS1', spell: 'SP-RS1', ward: 'OAK', bed: 'O23', at: now - 5 * HOUR });
    const again = ctl('A01');
    await send('A01', { ctl: again, pid: 'RS1', spell: 'SP-RS1', ward: 'OAK', bed: 'O23', at: now - 5 * HOUR });
    const second = ctl('A01');
    await send('A01', { ctl: second, pid: 'RS1', spell: 'SP-RS1x', ward: 'CEDAR', bed: 'C13', at: now - 4 * HOUR });
    const r = await until('second spell refused', async () => (await engineRejects()).find((x) => x.eventId === second));
    expect(r.reason).toMatch(/open spell SP-RS1/);
    expect((await engineRejects()).find((x) => x.eventId === again)?.reason).toMatch(/already admitted/);
    expect((await ward('OAK')).summary.occupied).toBe(before + 1);
    expect(await rowOf('CEDAR', 'RS1')).toBeUndefined();
  });

  it('A04 emergency registration: the decision to admit waits in the queue and breaches at 12 h; the admission ends the wait', async () => {
    await send('A04', { pid: 'DTA1', at: now - 13 * HOUR });
    await send('A04', { pid: 'DTA2', at: now - 2 * HOUR });
    const list = await until('12-hour wait alert', async () => { const x = await alerts(); return activeAlert(x, 'DTA1', 'admission_wait') && x; });
    expect(activeAlert(list, 'DTA1', 'admission_wait')).toMatchObject({ severity: 'critical', threshold: { value: 12, unit: 'hours' } });
    expect(activeAlert(list, 'DTA2', 'admission_wait')).toBeUndefined();
    const site = await get<{ admissionQueue: { waiting: number; breaches: number; entries: { patientId: string; waitedHours: number }[] } }>('/api/v1/site');
    expect(site.admissionQueue.entries.find((e) => e.patientId === 'DTA1')).toMatchObject({ waitedHours: 13 });
    expect(site.admissionQueue.breaches).toBeGreaterThanOrEqual(1);
    await send('A01', { pid: 'DTA1', spell: 'SP-DTA1', ward: 'BIRCH', bed: 'B4', at: now - 1 * HOUR });
    await until('DTA1 out of the queue, alert resolved', async () => {
      const q = await get<{ admissionQueue: { entries: { patientId: string }[] } }>('/api/v1/site');
      return !q.admissionQueue.entries.some((e) => e.patientId === 'DTA1') && !activeAlert(await alerts(), 'DTA1', 'admission_wait');
    });
  });

  it('A04 registrations that end without an admission leave the queue: cancelled (A11) or sent home (A03); the 12-hour breach resolves', async () => {
    await send('A04', { pid: 'DTA3', spell: 'V-DTA3', ward: 'OAK', at: now - 13 * HOUR });
    await send('A04', { pid: 'DTA4', spell: 'V-DTA4', ward: 'OAK', at: now - 14 * HOUR });
    await until('12-hour wait alerts for both', async () => { const x = await alerts(); return activeAlert(x, 'DTA3', 'admission_wait') && activeAlert(x, 'DTA4', 'admission_wait'); });
    await send('A11', { pid: 'DTA3', spell: 'V-DTA3', ward: 'OAK', at: now - 12 * HOUR });
    await send('A03', { pid: 'DTA4', spell: 'V-DTA4', ward: 'OAK', at: now - 11 * HOUR });
    await until('DTA3 and DTA4 out of the queue, alerts resolved', async () => {
      const q = await get<{ admissionQueue: { entries: { patientId: string }[] } }>('/api/v1/site');
      const x = await alerts();
      return !q.admissionQueue.entries.some((e) => e.patientId === 'DTA3' || e.patientId === 'DTA4') && !activeAlert(x, 'DTA3', 'admission_wait') && !activeAlert(x, 'DTA4', 'admission_wait');
    });
    for (const pid of ['DTA3', 'DTA4']) expect((await store.patient('RXT', pid))?.parked).toEqual([]);
  });

  it('AWOL: the return (A22) resolves the alert', async () => {
    await send('A22', { pid: 'AW1', spell: 'SP-AW1', ward: 'OAK', bed: 'O6', at: now - 5 * MIN });
    await until('AWOL resolved, AW1 present', async () => !activeAlert(await alerts(), 'AW1', 'awol') && (await rowOf('OAK', 'AW1'))?.status === 'admitted');
  });

  it('closed beds: occupancy is of open beds; a patient beyond them shows as over capacity, never hidden in free', async () => {
    // BIRCH (4 beds) holds DUP1, DUP2, LV1, ED2 and DTA1 by now: 5 patients.
    const w = await ward('BIRCH');
    expect(w.summary.occupied).toBe(5);
    expect(w.summary.free).toBe(0);
    expect((await postEvents(p.ingestUrl, { eventId: `${ctl('J')}-close`, type: 'bed.closed', occurredAt: new Date(now - HOUR).toISOString(), site: 'RXT', patientId: 'ward:BIRCH', payload: { ward: 'BIRCH', bed: 'B9', reason: 'ligature works' } })).status).toBe(202);
    const c = await until('bed closed', async () => { const x = await ward('BIRCH'); return x.summary.closed === 1 && x; });
    expect(c.summary).toMatchObject({ free: 0, occupancyInclLeavePct: Math.round((5 / 3) * 1000) / 10 });
    const site = await get<{ pressure: { reasons: string[] } }>('/api/v1/site');
    expect(site.pressure.reasons.join(' ')).toMatch(/beyond open beds/);
  });

  it('unmapped triggers (A20 bed status, A31) are answered AA with the control id and never stop the feed', async () => {
    const id = ctl('A20');
    const ack = await pas.send(adt('A20', { ctl: id, pid: 'UM1', ward: 'OAK', at: now - HOUR }));
    expect(msa(ack).slice(1, 3)).toEqual(['AA', id]);
    const next = await pas.send(adt('A01', { ctl: ctl('A01'), pid: 'UM1', spell: 'SP-UM1', ward: 'CEDAR', bed: 'C14', at: now - HOUR }));
    expect(msa(next)[1]).toBe('AA');
    await until('UM1 admitted after the unmapped message', () => rowOf('CEDAR', 'UM1'));
  });

  it('A13 puts the patient where PV1-3 says (the location after cancellation), not back into a bed given away meanwhile', async () => {
    await send('A01', { pid: 'BX1', spell: 'SP-BX1', ward: 'CEDAR', bed: 'C15', at: now - 3 * DAY });
    await send('A03', { pid: 'BX1', spell: 'SP-BX1', ward: 'CEDAR', bed: 'C15', at: now - 5 * HOUR, destination: '19' });
    await send('A01', { pid: 'BX2', spell: 'SP-BX2', ward: 'CEDAR', bed: 'C15', at: now - 4 * HOUR });
    await until('BX2 in C15', () => rowOf('CEDAR', 'BX2'));
    await send('A13', { pid: 'BX1', spell: 'SP-BX1', ward: 'CEDAR', bed: 'C16', at: now - 3 * HOUR });
    const row = await until('BX1 back', () => rowOf('CEDAR', 'BX1'));
    expect(row.bed).toBe('C16');
    expect((await rowOf('CEDAR', 'BX2'))?.bed).toBe('C15');
  });

  it('A17 swap: two patients exchange beds in one message, both counted once', async () => {
    await send('A01', { pid: 'SW1', spell: 'SP-SW1', ward: 'OAK', bed: 'O30', at: now - 2 * DAY });
    await send('A01', { pid: 'SW2', spell: 'SP-SW2', ward: 'OAK', bed: 'O31', at: now - 2 * DAY });
    await until('both in', async () => (await rowOf('OAK', 'SW1')) && rowOf('OAK', 'SW2'));
    const before = (await ward('OAK')).summary.occupied;
    const t = dtm(now - 1 * HOUR);
    const id = ctl('A17');
    const msg = [
      `MSH|^~\\&|PAS|RXT01|PFM|RXT|${t}||ADT^A17^ADT_A17|${id}|P|2.4|||AL|NE|GBR`,
      `EVN|A17|${t}|||C0042^ZZCLERK^PAT|${t}`,
      'PID|1||SW1^^^RXT^PI||INVENTED^ONE^^^MX^^L||19800101|F',
      'PV1|1|I|OAK^^O31^RXT01|||OAK^^O30^RXT01|||||||||||||SP-SW1^^^RXT^VN',
      'PID|2||SW2^^^RXT^PI||INVENTED^TWO^^^MX^^L||19810101|M',
      'PV1|1|I|OAK^^O30^RXT01|||OAK^^O31^RXT01|||||||||||||SP-SW2^^^RXT^VN',
    ].join('\r') + '\r';
    expect(msa(await pas.send(msg)).slice(1, 3)).toEqual(['AA', id]);
    await until('beds swapped', async () => (await rowOf('OAK', 'SW1'))?.bed === 'O31' && (await rowOf('OAK', 'SW2'))?.bed === 'O30');
    expect((await ward('OAK')).summary.occupied).toBe(before);
  });

  it('FHIR: a finished Encounter with two ward stays is a spell whose LOS runs from the first and whose discharge from the second starts the 72 h clock', async () => {
    const enc = {
      resourceType: 'Encounter', identifier: [{ use: 'official', value: 'SP-FH1' }], status: 'finished',
      subject: { reference: 'Patient/FH1' }, serviceProvider: { identifier: { value: 'RXT' } },
      period: { start: new Date(now - 12 * DAY).toISOString(), end: new Date(now - 75 * HOUR).toISOString() },
      location: [
        { location: { reference: 'Location/OAK' }, period: { start: new Date(now - 12 * DAY).toISOString() } },
        { location: { reference: 'Location/ELM' }, period: { start: new Date(now - 6 * DAY).toISOString() } },
      ],
      hospitalization: { dischargeDisposition: { coding: [{ code: '19' }] } },
    };
    const r = await fetch(`${p.ingestUrl}/fhir/r4/Encounter`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: SENDER_HEADER }, body: JSON.stringify(enc) });
    expect(r.status).toBe(202);
    const a = await until('FHIR discharge follow-up missed', async () => activeAlert(await alerts(), 'FH1', 'followup_missed'));
    expect(a).toMatchObject({ ward: 'ELM', spellId: 'SP-FH1' });
    // Re-sending the same snapshot changes nothing (ids from the spell and the fact).
    expect((await fetch(`${p.ingestUrl}/fhir/r4/Encounter`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: SENDER_HEADER }, body: JSON.stringify(enc) })).status).toBe(202);
    const st = await store.patient('RXT', 'FH1');
    expect(st?.events.filter((e) => e.type === 'patient.discharged')).toHaveLength(1);
  });

  it('FHIR: a discharge undone (the Encounter reopened, its finished period closed in statusHistory) takes the bed again; the next discharge frees it and starts the 72 h clock', async () => {
    const post = async (enc: Record<string, unknown>) => {
      const r = await fetch(`${p.ingestUrl}/fhir/r4/Encounter`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: SENDER_HEADER }, body: JSON.stringify(enc) });
      expect(r.status).toBe(202);
    };
    const iso = (t: number) => new Date(t).toISOString();
    const admitted = now - 5 * DAY;
    const wrongDischarge = now - 6 * HOUR;
    const reopened = now - 5 * HOUR;
    const base = {
      resourceType: 'Encounter', identifier: [{ use: 'official', value: 'SP-FH2' }],
      subject: { reference: 'Patient/FH2' }, serviceProvider: { identifier: { value: 'RXT' } },
      location: [
        { location: { reference: 'Location/OAK' }, period: { start: iso(admitted) } },
        { location: { identifier: { value: 'O9' } }, physicalType: { coding: [{ code: 'bd' }] }, period: { start: iso(admitted) } },
      ],
      hospitalization: { dischargeDisposition: { coding: [{ code: '19' }] } },
    };
    await post({ ...base, status: 'in-progress', period: { start: iso(admitted) } });
    expect(await until('FH2 on OAK', () => rowOf('OAK', 'FH2'))).toMatchObject({ bed: 'O9' });
    // Discharged by mistake: the bed shows free.
    await post({ ...base, status: 'finished', period: { start: iso(admitted), end: iso(wrongDischarge) } });
    await until('FH2 discharged', async () => (await rowOf('OAK', 'FH2')) === undefined || false);
    // The sender corrects it: in progress again, the finished period closed. The patient is back in O9, with no follow-up clock.
    const history = [{ status: 'finished', period: { start: iso(wrongDischarge), end: iso(reopened) } }];
    await post({ ...base, status: 'in-progress', period: { start: iso(admitted) }, statusHistory: history });
    expect(await until('FH2 back on OAK', () => rowOf('OAK', 'FH2'))).toMatchObject({ bed: 'O9', status: 'admitted', losDays: 5 });
    expect((await followups()).find((x) => x.patientId === 'FH2')).toBeUndefined();
    // The real discharge later: a new fact (not taken for the undone one), the bed free again and the 72 h clock running.
    await post({ ...base, status: 'finished', period: { start: iso(admitted), end: iso(now - 1 * HOUR) }, statusHistory: history });
    const f = await until('FH2 follow-up worklist entry', async () => (await followups()).find((x) => x.patientId === 'FH2'));
    expect(f).toMatchObject({ spellId: 'SP-FH2', ward: 'OAK' });
    expect(await rowOf('OAK', 'FH2')).toBeUndefined();
    const st = await store.patient('RXT', 'FH2');
    expect(st?.events.map((e) => e.type)).toEqual(['patient.admitted', 'patient.discharged', 'discharge.cancelled', 'patient.discharged']);
    expect((await engineRejects()).filter((x) => x.eventId?.startsWith('fhir-enc-'))).toEqual([]);
  });
});
