// The trust model: a seeded discrete-event simulation of one mental-health trust that
// emits canonical flow events (contracts FlowEventInput) in event-time order. Pure: no
// I/O, no wall clock, no Math.random; one seed and one set of options give one stream.
//
// What it models (figures and sources in rates.ts and README.md): referrals to crisis,
// A&E liaison, community and home-treatment teams with response times against the
// 1h / 4h / 24h standards; decisions to admit; admission to a free local bed, else a
// wait, else an out-of-area placement; spells as a plan of ward segments (PICU
// escalation and step-down, repatriation from out of area); EDDs set at the first review
// and re-set when they slip; s17 / home leave; Mental Health Act s2 -> s3; CRFD periods
// with MHSDS v6 reasons; discharges with destination; 72h follow-ups; bed closures.
//
// Warm start: the model starts from an empty trust `burnInDays + historyDays` before
// `start` and runs silently, keeping each open patient journey's events. When the
// requested window opens, the events of every journey still open are released first
// (the "opening census", stamped with their real times), so every spell a consumer sees
// starts with its admission. Then events stream as they happen.
import type { FlowEventInput, FlowEventType, PayloadOf, Ward } from '@pfm/contracts';
import { DeliveryPlanner, resolveFaults, type Delivery, type FaultRates, type FaultsInput } from './faults';
import { TimeHeap } from './heap';
import { NhsNumberSource } from './nhs-numbers';
import {
  admissionRates,
  crfdGroupOf,
  isModelWardType,
  MODEL_WARD_TYPES,
  resolveRates,
  responseTargetHours,
  type ModelWardType,
  type Rates,
  type RatesInput,
  type Urgency,
} from './rates';
import { hash32, Rng, type Seed, type Weighted } from './rng';
import { areaWeights, DEFAULT_STORY, ETHNIC_CODES, ethnicGroupOf, ethnicGroupWeights, plantedChange, type AreaProfile, type EthnicGroup, type PlantedChange, type StoryOptions } from './story';
import { defaultTrust, validateTrust, type OapUnit, type Team, type TrustConfig } from './trust';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_HISTORY_DAYS = 120;
export const DEFAULT_BURN_IN_DAYS = 365;

export interface SimulationOptions {
  seed: Seed;
  /** Epoch ms: the end of history and the start of live events. */
  start: number;
  trust?: TrustConfig;
  rates?: RatesInput;
  /** Delivery faults and in-model cancels: true = DEFAULT_FAULTS, or explicit rates. Default none. */
  faults?: FaultsInput;
  /** Longest history window this run can serve (fixes where the model starts). Default 120. */
  historyDays?: number;
  /** Silent warm-up from an empty trust before the history window. Default 365. */
  burnInDays?: number;
  /** The planted change (story.ts): DEFAULT_STORY, overrides, or false for none. Also none when the trust lacks its wards. */
  story?: Partial<StoryOptions> | false;
}

export interface WardCensus {
  ward: string;
  type: Ward['type'];
  beds: number;
  occupied: number;
  onLeave: number;
  reserved: number;
  closed: number;
  crfd: number;
}

export interface Census {
  at: number;
  wards: WardCensus[];
  waiting: Record<ModelWardType, number>;
  outOfArea: number;
}

export interface Simulation {
  readonly trust: TrustConfig;
  readonly rates: Rates;
  readonly faults: FaultRates;
  readonly start: number;
  /** Where the (silent) model run begins: start - (historyDays + burnInDays) days. */
  readonly origin: number;
  /** Event time up to which events have been produced. */
  readonly clock: number;
  /**
   * Events of the last `days` days up to `start`, preceded by the opening census.
   * Call it first, at most once; days <= historyDays. Lazy: iterate to generate.
   */
  history(days?: number): Generator<FlowEventInput>;
  /** Events with clock <= occurredAt < untilMs (the opening census first if history() was not used). */
  advance(untilMs: number): FlowEventInput[];
  /** The delivery plan for events from this simulation (faults applied); stateful across calls. */
  deliveries(events: Iterable<FlowEventInput>, untilMs?: number): Generator<Delivery>;
  /** The model's own bed state now (for tests and the demo's sanity checks). */
  census(): Census;
  /** The planted change and the improvement note that records it; null when there is none. */
  readonly story: PlantedChange | null;
}

export function createSimulation(options: SimulationOptions): Simulation {
  return new TrustModel(options);
}

// ---------------------------------------------------------------------------

type Source = 'pas' | 'epr';

interface Patient {
  id: string;
  nhs: string;
  initials: string;
  ageBand: string;
  older: boolean;
  gender: string;
  ethnicity: string;
  area: string;
  busy: boolean;
}

interface Buffered {
  seq: number;
  event: FlowEventInput;
}

/** Everything about one patient from referral to follow-up (or one bed closure). */
interface Journey {
  key: string;
  patient: Patient | null;
  buffer: Buffered[] | null;
  open: boolean;
}

interface Bed {
  ward: Ward;
  type: ModelWardType;
  code: string;
  occupant: Spell | null;
  reserved: boolean;
  closed: boolean;
}

interface Segment {
  type: ModelWardType;
  ms: number;
}

interface BedRequest {
  kind: 'admission';
  patient: Patient;
  journey: Journey;
  wardType: ModelWardType;
  referralId: string | undefined;
  method: string;
  placed: boolean;
}

interface StepDown {
  kind: 'stepdown';
  spell: Spell;
}

interface Spell {
  id: string;
  patient: Patient;
  journey: Journey;
  referralId: string | undefined;
  admittedAt: number;
  wardType: ModelWardType;
  bed: Bed | null;
  oap: OapUnit | null;
  segments: Segment[];
  segmentEnd: number;
  epoch: number;
  legal: string;
  edd: number | null;
  onLeave: boolean;
  crfdReason: string | null;
  lastCrfdGroup: string | null;
  waitingForBed: boolean;
  /** A local bed is reserved for its return from an out-of-area unit (the transfer follows). */
  repatriating?: boolean;
  expedited: boolean;
  discharged: boolean;
}

interface Action {
  at: number;
  seq: number;
  run: () => void;
}

const AGE_BANDS_ADULT: Weighted<string> = [['18-24', 18], ['25-34', 26], ['35-44', 22], ['45-54', 18], ['55-64', 16]];
const AGE_BANDS_OLDER: Weighted<string> = [['65-74', 40], ['75-84', 42], ['85+', 18]];
// HL7 v2 PID-8 administrative sex, as a PAS sends it.
const GENDER: Record<ModelWardType | 'community', Weighted<string>> = {
  adult_acute: [['M', 55], ['F', 44], ['O', 1]],
  picu: [['M', 75], ['F', 25]],
  older_adult_acute: [['M', 45], ['F', 55]],
  rehab: [['M', 65], ['F', 35]],
  community: [['M', 47], ['F', 51], ['O', 1], ['U', 1]],
};
// NHS Data Dictionary ETHNIC CATEGORY codes; illustrative mix.
const ETHNICITY: Weighted<string> = [
  ['A', 66], ['B', 1], ['C', 5], ['D', 1], ['E', 0.5], ['F', 1], ['G', 1], ['H', 3], ['J', 3], ['K', 1],
  ['L', 2], ['M', 3], ['N', 4], ['P', 1.5], ['R', 0.5], ['S', 2], ['Z', 4.5],
];
const INITIAL_LETTERS = 'ABCDEFGHIJKLMNOPRSTW';
const CRISIS_SOURCES: Weighted<string> = [['gp', 35], ['self', 20], ['family', 10], ['police', 15], ['community_team', 20]];
const CLOSE_REASONS = ['advice and signposting', 'no further action', 'referred to primary care'];
/** Relative referral intensity by UTC hour (daytime and evening peaks). */
const DIURNAL = ((w: number[]) => {
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  return w.map((x) => x / mean);
})([0.5, 0.45, 0.4, 0.4, 0.4, 0.45, 0.55, 0.8, 1.1, 1.3, 1.35, 1.35, 1.3, 1.3, 1.3, 1.3, 1.25, 1.2, 1.2, 1.15, 1.1, 1.0, 0.85, 0.65]);
const DIURNAL_MAX = Math.max(...DIURNAL);

const hourOf = (t: number): number => Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);

class TrustModel implements Simulation {
  readonly trust: TrustConfig;
  readonly rates: Rates;
  readonly faults: FaultRates;
  readonly start: number;
  readonly origin: number;

  private readonly historyDays: number;
  private readonly rng: Rng;
  private readonly faultRng: Rng;
  private readonly nhs: NhsNumberSource;
  private readonly planner: DeliveryPlanner;
  private readonly tag: string;
  private readonly agenda = new TimeHeap<Action>();
  private readonly beds: Record<ModelWardType, Bed[]> = { adult_acute: [], older_adult_acute: [], picu: [], rehab: [] };
  private readonly queues: Record<ModelWardType, (BedRequest | StepDown)[]> = { adult_acute: [], older_adult_acute: [], picu: [], rehab: [] };
  private readonly oapSpells = new Set<Spell>();
  private readonly openJourneys = new Set<Journey>();
  private readonly pool: Patient[] = [];
  private readonly recentlyDischarged: { patient: Patient; at: number }[] = [];
  private readonly crfdReasons = new Map<string, Weighted<string>>();
  private readonly teamsByType = new Map<string, Team[]>();
  private readonly areaProfiles: Map<string, AreaProfile>;
  private readonly areaChoice: Weighted<string> | null;
  private readonly ethnicChoice = new Map<string, Weighted<EthnicGroup>>();
  readonly story: PlantedChange | null;

  private now: number;
  private actionSeq = 0;
  private eventSeq = 0;
  private patientSeq = 0;
  private referralSeq = 0;
  private spellSeq = 0;
  private buffering = true;
  private phase: 'new' | 'history' | 'live' = 'new';
  private out: FlowEventInput[] = [];

  constructor(o: SimulationOptions) {
    this.trust = o.trust ?? defaultTrust;
    validateTrust(this.trust);
    this.rates = resolveRates(o.rates);
    this.faults = resolveFaults(o.faults);
    if (!Number.isFinite(o.start)) throw new RangeError('start must be epoch milliseconds');
    this.start = o.start;
    this.historyDays = o.historyDays ?? DEFAULT_HISTORY_DAYS;
    const burnIn = o.burnInDays ?? DEFAULT_BURN_IN_DAYS;
    if (this.historyDays < 0 || burnIn < 0) throw new RangeError('historyDays and burnInDays must be >= 0');
    this.origin = this.start - (this.historyDays + burnIn) * DAY_MS;
    this.now = this.origin;

    const seed = String(o.seed);
    this.rng = new Rng(`${seed}/model`);
    this.faultRng = new Rng(`${seed}/faults`);
    this.nhs = new NhsNumberSource(new Rng(`${seed}/nhs`), this.trust.nhsNumberPrefix);
    this.planner = new DeliveryPlanner(seed, this.faults);
    this.tag = hash32(`${seed}/${this.trust.site}`).toString(36);

    for (const ward of this.trust.wards) {
      if (!isModelWardType(ward.type)) continue;
      for (let i = 1; i <= ward.beds; i++) {
        this.beds[ward.type].push({ ward, type: ward.type, code: `B${String(i).padStart(2, '0')}`, occupant: null, reserved: false, closed: false });
      }
    }
    for (const t of this.trust.teams) {
      const key = t.type === 'liaison' ? 'liaison' : `${t.type}:${t.area ?? ''}`;
      this.teamsByType.set(key, [...(this.teamsByType.get(key) ?? []), t]);
    }
    this.areaProfiles = new Map((this.trust.areaProfiles ?? []).map((a) => [a.code, a]));
    this.areaChoice = this.trust.areaProfiles?.length ? areaWeights(this.trust.areaProfiles) : null;
    for (const a of this.trust.areaProfiles ?? []) this.ethnicChoice.set(a.code, ethnicGroupWeights(a));
    const story = o.story === false ? null : { ...DEFAULT_STORY, ...o.story };
    const wardCodes = new Set(this.trust.wards.map((w) => w.code));
    this.story = story && wardCodes.has(story.ward) && wardCodes.has(story.controlWard) ? plantedChange(this.trust.site, this.start, story) : null;
    this.startArrivals();
    if (this.story && this.story.from > this.origin) this.schedule(this.story.from, () => this.coordinatorStarts());
  }

  get clock(): number {
    return this.now;
  }

  // -- public API -------------------------------------------------------------

  history(days = this.historyDays): Generator<FlowEventInput> {
    if (this.phase !== 'new') throw new Error('history() must be the first call, and only once');
    if (!(days >= 0 && days <= this.historyDays)) throw new RangeError(`history days must be 0..${this.historyDays} (options.historyDays)`);
    this.phase = 'history';
    return this.replayHistory(days);
  }

  private *replayHistory(days: number): Generator<FlowEventInput> {
    try {
      this.openWindow(this.start - days * DAY_MS);
      yield* this.takeOut();
      for (let next = this.agenda.peek(); next && next.at < this.start; next = this.agenda.peek()) {
        this.step();
        if (this.out.length > 0) yield* this.takeOut();
      }
      this.now = Math.max(this.now, this.start);
    } finally {
      this.phase = 'live';
    }
  }

  advance(untilMs: number): FlowEventInput[] {
    if (this.phase === 'history') throw new Error('finish (or return from) the history() iterator before advance()');
    if (this.phase === 'new') {
      this.phase = 'live';
      this.openWindow(this.start);
    }
    for (let next = this.agenda.peek(); next && next.at < untilMs; next = this.agenda.peek()) this.step();
    if (untilMs > this.now) this.now = untilMs;
    const events = this.out;
    this.out = [];
    return events;
  }

  deliveries(events: Iterable<FlowEventInput>, untilMs?: number): Generator<Delivery> {
    return this.planner.plan(events, untilMs);
  }

  census(): Census {
    const wards = new Map<string, WardCensus>();
    for (const type of MODEL_WARD_TYPES) {
      for (const b of this.beds[type]) {
        let c = wards.get(b.ward.code);
        if (!c) {
          c = { ward: b.ward.code, type: b.ward.type, beds: b.ward.beds, occupied: 0, onLeave: 0, reserved: 0, closed: 0, crfd: 0 };
          wards.set(b.ward.code, c);
        }
        if (b.occupant) {
          c.occupied++;
          if (b.occupant.onLeave) c.onLeave++;
          if (b.occupant.crfdReason) c.crfd++;
        }
        if (b.reserved) c.reserved++;
        if (b.closed) c.closed++;
      }
    }
    const waiting = { adult_acute: 0, older_adult_acute: 0, picu: 0, rehab: 0 };
    for (const type of MODEL_WARD_TYPES) waiting[type] = this.queues[type].length;
    return { at: this.now, wards: [...wards.values()], waiting, outOfArea: this.oapSpells.size };
  }

  // -- engine -----------------------------------------------------------------

  private schedule(at: number, run: () => void): void {
    this.agenda.push({ at: Math.max(Math.round(at), this.now), seq: ++this.actionSeq, run });
  }

  private step(): void {
    const a = this.agenda.pop();
    if (!a) return;
    this.now = a.at;
    a.run();
  }

  /** Runs silently to windowStart, then releases the open journeys' events in time order. */
  private openWindow(windowStart: number): void {
    for (let next = this.agenda.peek(); next && next.at < windowStart; next = this.agenda.peek()) this.step();
    const held: Buffered[] = [];
    for (const j of this.openJourneys) {
      if (j.buffer) held.push(...j.buffer);
      j.buffer = null;
    }
    held.sort((a, b) => a.event.occurredAt - b.event.occurredAt || a.seq - b.seq);
    for (const h of held) this.out.push(h.event);
    this.buffering = false;
    if (windowStart > this.now) this.now = windowStart;
  }

  private *takeOut(): Generator<FlowEventInput> {
    const events = this.out;
    this.out = [];
    yield* events;
  }

  private emit<T extends FlowEventType>(j: Journey, type: T, payload: PayloadOf<T>, source: Source): void {
    const seq = ++this.eventSeq;
    const event = {
      eventId: `${this.trust.site}-${this.tag}-${seq}`,
      occurredAt: this.now,
      site: this.trust.site,
      patientId: j.key,
      sourceSystem: source === 'pas' ? this.trust.sourceSystems.pas : this.trust.sourceSystems.epr,
      type,
      payload,
    } as FlowEventInput;
    if (j.patient) event.nhsNumber = j.patient.nhs;
    if (!this.buffering) this.out.push(event);
    else if (j.buffer) j.buffer.push({ seq, event });
  }

  private openJourney(patient: Patient | null, key = patient?.id ?? ''): Journey {
    const j: Journey = { key, patient, buffer: this.buffering ? [] : null, open: true };
    this.openJourneys.add(j);
    return j;
  }

  private endJourney(j: Journey, returnToPool = true, dischargedAt?: number): void {
    if (!j.open) return;
    j.open = false;
    j.buffer = null;
    this.openJourneys.delete(j);
    if (j.patient) {
      j.patient.busy = false;
      if (returnToPool && dischargedAt !== undefined) this.recentlyDischarged.push({ patient: j.patient, at: dischargedAt });
      if (returnToPool) {
        this.pool.push(j.patient);
        if (this.pool.length > 4000) this.pool.splice(0, 1000);
      }
    }
  }

  // -- arrivals ---------------------------------------------------------------

  /** A Poisson stream (thinned by time of day when diurnal). */
  private poisson(perDay: number, diurnal: boolean, fire: () => void): void {
    if (!(perDay > 0)) return;
    const peak = diurnal ? DIURNAL_MAX : 1;
    const meanGap = DAY_MS / (perDay * peak);
    const next = (): void => {
      this.schedule(this.now + this.rng.exponential(meanGap), () => {
        if (!diurnal || this.rng.chance((DIURNAL[hourOf(this.now)] ?? 1) / peak)) fire();
        next();
      });
    };
    next();
  }

  private startArrivals(): void {
    const r = this.rates;
    const admissions = admissionRates(r, this.trust.wards);
    this.poisson(admissions.adult_acute, true, () => this.admissionReferral('adult_acute'));
    this.poisson(admissions.older_adult_acute, true, () => this.admissionReferral('older_adult_acute'));
    this.poisson(admissions.picu, true, () => this.admissionReferral('picu'));
    this.poisson(admissions.rehab, true, () => this.rehabReferral());
    const localBeds = MODEL_WARD_TYPES.reduce((n, t) => n + this.beds[t].length, 0);
    for (const type of ['crisis', 'liaison', 'community'] as const) {
      this.poisson((r.referrals.perDayPer100Beds[type] * localBeds) / 100, true, () => this.plainReferral(type));
    }
    for (const ward of this.trust.wards) {
      if (!isModelWardType(ward.type) || ward.beds === 0) continue;
      this.poisson(r.beds.closuresPerWardPerYear / 365, false, () => this.closeBed(ward));
    }
  }

  // -- patients and referrals -------------------------------------------------

  private newPatient(older: boolean, genderMix: Weighted<string>): Patient {
    const rng = this.rng;
    let initials = '';
    const n = rng.chance(0.25) ? 3 : 2;
    for (let i = 0; i < n; i++) initials += INITIAL_LETTERS.charAt(rng.int(INITIAL_LETTERS.length));
    this.patientSeq++;
    return {
      id: `${this.trust.site}P${String(this.patientSeq).padStart(7, '0')}`,
      nhs: this.nhs.next(),
      initials,
      ageBand: rng.weighted(older ? AGE_BANDS_OLDER : AGE_BANDS_ADULT),
      older,
      gender: rng.weighted(genderMix),
      ...this.residence(),
      busy: true,
    };
  }

  /** Where a new patient lives and their ethnic category: by the area profiles when the trust has them. */
  private residence(): { ethnicity: string; area: string } {
    const rng = this.rng;
    if (!this.areaChoice) return { ethnicity: rng.weighted(ETHNICITY), area: rng.pick(this.trust.areas) };
    const area = rng.weighted(this.areaChoice);
    return { area, ethnicity: rng.weighted(ETHNIC_CODES[rng.weighted(this.ethnicChoice.get(area)!)]) };
  }

  /** A new person, or (readmissions) someone seen before who is not in a journey now. */
  private patientFor(older: boolean, genderMix: Weighted<string>): Patient {
    if (this.pool.length > 0 && this.rng.chance(this.rates.referrals.knownPatientShare)) {
      const i = this.rng.int(this.pool.length);
      const p = this.pool[i] as Patient;
      if (p.older === older && !p.busy) {
        this.pool.splice(i, 1);
        p.busy = true;
        return p;
      }
    }
    return this.newPatient(older, genderMix);
  }

  /** Someone discharged in the last 30 days and not in a journey now, or null. */
  private readmission(older: boolean): Patient | null {
    const recent = this.recentlyDischarged;
    const cutoff = this.now - 30 * DAY_MS;
    let drop = 0;
    while (drop < recent.length && (recent[drop] as { at: number }).at < cutoff) drop++;
    if (drop > 0) recent.splice(0, drop);
    const candidates = recent.filter((r) => !r.patient.busy && r.patient.older === older);
    if (candidates.length === 0) return null;
    const chosen = this.rng.pick(candidates);
    recent.splice(recent.indexOf(chosen), 1);
    chosen.patient.busy = true;
    return chosen.patient;
  }

  private team(type: Team['type'], area: string): Team {
    const list = type === 'liaison' ? this.teamsByType.get('liaison') : this.teamsByType.get(`${type}:${area}`) ?? this.teamsByType.get(`${type}:`);
    if (list && list.length > 0) return this.rng.pick(list);
    // A trust without this team type: fall back to the area's crisis team.
    const crisis = this.teamsByType.get(`crisis:${area}`) ?? this.teamsByType.get('liaison') ?? [];
    return this.rng.pick(crisis);
  }

  private receive(j: Journey, team: Team, urgency: Urgency, referralSource: string): string {
    const referralId = `${this.trust.site}-R${++this.referralSeq}`;
    const p = j.patient as Patient;
    this.emit(j, 'referral.received', { referralId, team: team.code, teamType: team.type, urgency, referralSource, area: p.area }, 'epr');
    return referralId;
  }

  /** Time from referral to assessment: lognormal around a fraction of the response target. */
  private responseDelay(team: Team, urgency: Urgency): number {
    const target = responseTargetHours(team.type, urgency);
    const { medianFraction, sigma } = this.rates.referrals.response;
    return this.rng.lognormal({ median: target * medianFraction, sigma }) * HOUR_MS;
  }

  private admissionReferral(wardType: ModelWardType): void {
    const r = this.rates.referrals;
    const via = this.rng.weighted(r.admissionSource);
    const older = wardType === 'older_adult_acute';
    const readmit = wardType !== 'rehab' && this.rng.chance(r.readmissionShare) ? this.readmission(older) : null;
    const patient = readmit ?? this.patientFor(older, GENDER[wardType]);
    const j = this.openJourney(patient);
    const team = this.team(via, patient.area);
    const urgency = this.rng.weighted(r.admissionUrgency[via]);
    const referralId = this.receive(j, team, urgency, via === 'liaison' ? 'ae' : this.rng.weighted(CRISIS_SOURCES));
    this.schedule(this.now + this.responseDelay(team, urgency), () => {
      this.emit(j, 'referral.assessed', { referralId }, 'epr');
      if (!this.rng.chance(this.admitProbability(wardType))) {
        // Gatekept: the crisis team offers home treatment instead of a bed.
        this.schedule(this.now + this.rng.uniform(0.5, 3) * HOUR_MS, () => {
          this.emit(j, 'referral.closed', { referralId, reason: 'home treatment instead of admission' }, 'epr');
          this.homeTreatment(j);
        });
        return;
      }
      this.schedule(this.now + this.rng.hours(this.rates.admission.decisionHours), () => {
        this.emit(j, 'admission.decided', { referralId }, 'epr');
        this.requestBed({ kind: 'admission', patient, journey: j, wardType, referralId, method: via === 'liaison' ? '21' : '25', placed: false });
      });
    });
  }

  /** Gatekeeping: the fuller the beds of this type, the more often home treatment is tried first. */
  private admitProbability(type: ModelWardType): number {
    const g = this.rates.admission.gatekeeping;
    if (!g.wardTypes.includes(type)) return 1;
    let open = 0;
    let used = 0;
    for (const b of this.beds[type]) {
      if (b.closed) continue;
      open++;
      if (b.occupant || b.reserved) used++;
    }
    const occupancy = open > 0 ? used / open : 1;
    if (occupancy <= g.from) return 1;
    if (occupancy >= g.to) return g.minAdmitProb;
    return 1 - ((1 - g.minAdmitProb) * (occupancy - g.from)) / (g.to - g.from);
  }

  private rehabReferral(): void {
    const patient = this.patientFor(false, GENDER.rehab);
    const j = this.openJourney(patient);
    const team = this.team('community', patient.area);
    const urgency: Urgency = this.rng.chance(0.2) ? 'urgent' : 'routine';
    const referralId = this.receive(j, team, urgency, 'community_team');
    this.schedule(this.now + this.responseDelay(team, urgency), () => {
      this.emit(j, 'referral.assessed', { referralId }, 'epr');
      this.schedule(this.now + this.rng.uniform(1, 14) * DAY_MS, () => {
        this.emit(j, 'admission.decided', { referralId }, 'epr');
        this.requestBed({ kind: 'admission', patient, journey: j, wardType: 'rehab', referralId, method: '11', placed: false });
      });
    });
  }

  private plainReferral(type: 'crisis' | 'liaison' | 'community'): void {
    const r = this.rates.referrals;
    const patient = this.patientFor(this.rng.chance(r.olderShare), GENDER.community);
    const j = this.openJourney(patient);
    const team = this.team(type, patient.area);
    const urgency = this.rng.weighted(r.urgency[type]);
    const source = type === 'liaison' ? 'ae' : type === 'crisis' ? this.rng.weighted(CRISIS_SOURCES) : 'gp';
    const referralId = this.receive(j, team, urgency, source);
    this.schedule(this.now + this.responseDelay(team, urgency), () => {
      this.emit(j, 'referral.assessed', { referralId }, 'epr');
      const outcome = this.rng.weighted(r.outcomes[type]);
      this.schedule(this.now + this.rng.uniform(0.25, 2) * HOUR_MS, () => {
        if (outcome === 'closed') {
          this.emit(j, 'referral.closed', { referralId, reason: this.rng.pick(CLOSE_REASONS) }, 'epr');
          this.endJourney(j);
        } else if (outcome === 'accepted') {
          this.emit(j, 'referral.accepted', { referralId }, 'epr');
          this.closeAfterEpisode(j, referralId);
        } else {
          this.emit(j, 'referral.closed', { referralId, reason: 'transferred to home treatment' }, 'epr');
          this.homeTreatment(j);
        }
      });
    });
  }

  private homeTreatment(j: Journey): void {
    const p = j.patient as Patient;
    const team = this.team('home_treatment', p.area);
    const urgency = this.rng.weighted(this.rates.referrals.urgency.home_treatment);
    const referralId = this.receive(j, team, urgency, 'crisis_team');
    this.schedule(this.now + this.responseDelay(team, urgency), () => {
      this.emit(j, 'referral.assessed', { referralId }, 'epr');
      this.emit(j, 'referral.accepted', { referralId }, 'epr');
      this.closeAfterEpisode(j, referralId);
    });
  }

  private closeAfterEpisode(j: Journey, referralId: string): void {
    this.schedule(this.now + this.rng.days(this.rates.referrals.episodeDays), () => {
      this.emit(j, 'referral.closed', { referralId, reason: 'episode completed' }, 'epr');
      this.endJourney(j);
    });
  }

  // -- beds -------------------------------------------------------------------

  private freeBed(type: ModelWardType): Bed | null {
    const free: Bed[] = [];
    for (const b of this.beds[type]) if (!b.occupant && !b.reserved && !b.closed) free.push(b);
    return free.length > 0 ? this.rng.pick(free) : null;
  }

  private requestBed(req: BedRequest): void {
    const bed = this.freeBed(req.wardType);
    if (bed) {
      req.placed = true;
      bed.reserved = true;
      this.schedule(this.now + this.rng.hours(this.rates.admission.arrivalHours), () => this.admit(req, bed, null));
      return;
    }
    this.queues[req.wardType].push(req);
    this.expedite(req.wardType);
    const [lo, hi] = this.rates.admission.maxWaitHours[req.wardType];
    this.schedule(this.now + this.rng.uniform(lo, hi) * HOUR_MS, () => {
      if (req.placed) return;
      req.placed = true;
      this.removeFromQueue(req.wardType, req);
      const units = this.trust.oapUnits.filter((u) => u.wardType === req.wardType);
      const unit = units.length > 0 ? this.rng.pick(units) : (this.trust.oapUnits[0] as OapUnit);
      this.schedule(this.now + 2 * this.rng.hours(this.rates.admission.arrivalHours), () => this.admit(req, null, unit));
    });
  }

  /**
   * Bed pressure (the bed meeting): someone waits, so bring forward the discharge of the
   * patient on this ward type due out soonest, if within expediteWithinDays.
   */
  private expedite(type: ModelWardType): void {
    const horizon = this.rates.admission.expediteWithinDays * DAY_MS;
    let best: Spell | null = null;
    for (const b of this.beds[type]) {
      const s = b.occupant;
      if (!s || s.discharged || s.onLeave || s.expedited || s.waitingForBed || s.segments.length > 0) continue;
      const left = s.segmentEnd - this.now;
      if (left > 12 * HOUR_MS && left < horizon && (!best || s.segmentEnd < best.segmentEnd)) best = s;
    }
    if (!best) return;
    const s = best;
    const end = this.daytime(this.now + this.rng.uniform(2, 8) * HOUR_MS);
    if (end >= s.segmentEnd) return;
    s.expedited = true;
    s.segmentEnd = end;
    const epoch = ++s.epoch;
    this.schedule(end, () => {
      if (s.epoch === epoch && !s.discharged) this.endSegment(s);
    });
  }

  private removeFromQueue(type: ModelWardType, item: BedRequest | StepDown): void {
    const q = this.queues[type];
    const i = q.indexOf(item);
    if (i >= 0) q.splice(i, 1);
  }

  /** A bed of this type may be free: step-downs first, then waiting admissions, then repatriation. */
  private offerBed(type: ModelWardType): void {
    for (;;) {
      const q = this.queues[type];
      const bed = this.freeBed(type);
      if (!bed) return;
      let i = q.findIndex((w) => w.kind === 'stepdown');
      if (i < 0 && q.length > 0) i = 0;
      if (i >= 0) {
        const w = q.splice(i, 1)[0] as BedRequest | StepDown;
        bed.reserved = true;
        if (w.kind === 'stepdown') {
          const s = w.spell;
          this.schedule(this.now + this.rng.uniform(1, 4) * HOUR_MS, () => this.transfer(s, bed, true));
        } else {
          w.placed = true;
          this.schedule(this.now + this.rng.hours(this.rates.admission.arrivalHours), () => this.admit(w, bed, null));
        }
        continue;
      }
      const candidates = [...this.oapSpells].filter(
        (s) => s.wardType === type && !s.repatriating && !s.waitingForBed && s.segments.length === 0 && s.segmentEnd - this.now > 3 * DAY_MS,
      );
      if (candidates.length === 0 || !this.rng.chance(this.rates.admission.repatriateProb)) return;
      const s = candidates[0] as Spell; // longest placed first (insertion order)
      bed.reserved = true;
      // Still out of area (and counted so by census()) until the transfer event moves it.
      s.repatriating = true;
      this.schedule(this.now + this.rng.hours(this.rates.admission.arrivalHours) * 2, () => this.transfer(s, bed, false));
      return;
    }
  }

  private releaseBed(bed: Bed): void {
    bed.occupant = null;
    this.offerBed(bed.type);
  }

  private closeBed(ward: Ward): void {
    if (!isModelWardType(ward.type)) return;
    const free = this.beds[ward.type].filter((b) => b.ward === ward && !b.occupant && !b.reserved && !b.closed);
    if (free.length === 0) return;
    const bed = this.rng.pick(free);
    bed.closed = true;
    const j = this.openJourney(null, `ward:${ward.code}`);
    this.emit(j, 'bed.closed', { ward: ward.code, bed: bed.code, reason: this.rng.pick(this.rates.beds.reasons) }, 'pas');
    this.schedule(this.now + this.rng.days(this.rates.beds.closureDays), () => {
      bed.closed = false;
      this.emit(j, 'bed.opened', { ward: ward.code, bed: bed.code }, 'pas');
      this.endJourney(j, false);
      this.offerBed(bed.type);
    });
  }

  // -- cancels (in-model faults) ----------------------------------------------

  /** A different local ward, for an entry made in error. */
  private wrongWard(right: string, type: ModelWardType): Ward {
    const local = this.trust.wards.filter((w) => w.code !== right && isModelWardType(w.type));
    const same = local.filter((w) => w.type === type);
    return this.faultRng.pick(same.length > 0 ? same : local);
  }

  /** With probability faults.cancel: the wrong entry, its cancel, then the right one. */
  private maybeCancelled(wrong: () => void, cancel: () => void, right: () => void): void {
    if (!this.faultRng.chance(this.faults.cancel)) {
      right();
      return;
    }
    wrong();
    this.schedule(this.now + this.faultRng.uniform(5, 40) * MINUTE_MS, () => {
      cancel();
      this.schedule(this.now + this.faultRng.uniform(2, 20) * MINUTE_MS, right);
    });
  }

  // -- spells -----------------------------------------------------------------

  private planSegments(type: ModelWardType): Segment[] {
    const r = this.rates;
    const minMs = r.minLosHours * HOUR_MS;
    const draw = (p: Rates['los'][ModelWardType]): number => Math.max(minMs, this.rng.days(p));
    if (type === 'picu') {
      const picu: Segment = { type: 'picu', ms: draw(r.los.picu) };
      return this.rng.chance(r.picu.stepDownProb) ? [picu, { type: 'adult_acute', ms: draw(r.picu.afterStepDown) }] : [picu];
    }
    const total = draw(r.los[type]);
    if (type === 'adult_acute' && total > 4 * DAY_MS && this.rng.chance(r.picu.escalationProb)) {
      const before = this.rng.uniform(DAY_MS, 0.4 * total);
      const picu = Math.min(draw(r.los.picu), total - before - 2 * DAY_MS);
      if (picu > DAY_MS) return [{ type, ms: before }, { type: 'picu', ms: picu }, { type, ms: total - before - picu }];
    }
    return [{ type, ms: total }];
  }

  private admit(req: BedRequest, bed: Bed | null, oap: OapUnit | null): void {
    const spellId = `${this.trust.site}-S${++this.spellSeq}`;
    const j = req.journey;
    const wardCode = bed ? bed.ward.code : (oap as OapUnit).code;
    this.maybeCancelled(
      () => {
        const w = this.wrongWard(wardCode, req.wardType);
        this.emit(j, 'patient.admitted', this.admittedPayload(req, spellId, { ward: w.code }, '01', '19'), 'pas');
      },
      () => this.emit(j, 'admission.cancelled', { spellId }, 'pas'),
      () => this.startSpell(req, spellId, bed, oap),
    );
  }

  private admittedPayload(
    req: BedRequest,
    spellId: string,
    at: { ward: string; bed?: string; oapKm?: number },
    legalStatus: string,
    admissionSource: string,
  ): PayloadOf<'patient.admitted'> {
    const p = req.patient;
    return {
      spellId,
      ward: at.ward,
      ...(at.bed ? { bed: at.bed } : {}),
      admissionMethod: req.method,
      admissionSource,
      legalStatus,
      ...(at.oapKm !== undefined ? { outOfArea: true, oapReason: 'no local bed', distanceFromHomeKm: at.oapKm } : {}),
      initials: p.initials,
      ageBand: p.ageBand,
      gender: p.gender,
      ethnicity: p.ethnicity,
      area: p.area,
      ...(req.referralId ? { referralId: req.referralId } : {}),
    };
  }

  private startSpell(req: BedRequest, spellId: string, bed: Bed | null, oap: OapUnit | null): void {
    const r = this.rates;
    let legal = this.rng.weighted(r.admission.legalStatus[req.wardType]);
    const uplift = r.admission.detentionUplift[ethnicGroupOf(req.patient.ethnicity)] ?? 0;
    if (legal === '01' && uplift > 0 && this.rng.chance(uplift)) {
      const detained = r.admission.legalStatus[req.wardType].filter(([code]) => code !== '01');
      if (detained.length) legal = this.rng.weighted(detained);
    }
    const s: Spell = {
      id: spellId,
      patient: req.patient,
      journey: req.journey,
      referralId: req.referralId,
      admittedAt: this.now,
      wardType: req.wardType,
      bed,
      oap,
      segments: this.planSegments(req.wardType),
      segmentEnd: this.now,
      epoch: 0,
      legal,
      edd: null,
      onLeave: false,
      crfdReason: null,
      lastCrfdGroup: null,
      waitingForBed: false,
      expedited: false,
      discharged: false,
    };
    const admissionSource = this.rng.chance(0.06) ? '29' : '19';
    let at: { ward: string; bed?: string; oapKm?: number };
    if (bed) {
      bed.reserved = false;
      bed.occupant = s;
      at = { ward: bed.ward.code, bed: bed.code };
    } else {
      // Out of area: no escalation there (endSegment folds it into the stay); a step-down
      // from an out-of-area PICU comes home to a local adult acute bed.
      const [lo, hi] = r.admission.oapDistanceKm;
      at = { ward: (oap as OapUnit).code, oapKm: Math.round(this.rng.uniform(lo, hi) * 10) / 10 };
      this.oapSpells.add(s);
    }
    this.emit(s.journey, 'patient.admitted', this.admittedPayload(req, spellId, at, legal, admissionSource), 'pas');
    if (req.referralId) this.emit(s.journey, 'referral.closed', { referralId: req.referralId, reason: 'admitted' }, 'epr');
    this.startSegment(s);
    const [lo, hi] = r.edd.firstReviewHours;
    this.schedule(this.now + this.rng.uniform(lo, hi) * HOUR_MS, () => this.firstReview(s));
    if (legal === '02') this.schedule(this.now + this.rng.uniform(25, 27.5) * DAY_MS, () => this.s2Review(s));
  }

  private plannedDischarge(s: Spell): number {
    return (s.waitingForBed ? this.now + DAY_MS : s.segmentEnd) + s.segments.reduce((n, g) => n + g.ms, 0);
  }

  /** Discharges happen in the working day: move a night-time end to 09:00-17:00. */
  private daytime(t: number): number {
    const h = hourOf(t);
    if (h >= 9 && h < 17) return t;
    const dayStart = t - (((t % DAY_MS) + DAY_MS) % DAY_MS);
    const base = h >= 17 ? dayStart + DAY_MS : dayStart;
    return base + 9 * HOUR_MS + this.rng.uniform(0, 8) * HOUR_MS;
  }

  private startSegment(s: Spell): void {
    const seg = s.segments.shift() as Segment;
    s.wardType = seg.type;
    s.segmentEnd = this.now + seg.ms;
    if (s.segments.length === 0) s.segmentEnd = this.daytime(s.segmentEnd);
    // A housing delay where housing is scarce holds the patient longer: planCrfd says by how much.
    if (s.segments.length === 0) s.segmentEnd += this.planCrfd(s);
    const epoch = ++s.epoch;
    this.schedule(s.segmentEnd, () => {
      if (s.epoch === epoch && !s.discharged) this.endSegment(s);
    });
    this.planLeave(s, epoch);
  }

  private endSegment(s: Spell): void {
    if (s.onLeave) this.endLeave(s);
    const next = s.segments[0];
    if (!next) {
      this.discharge(s);
      return;
    }
    if (next.type === 'picu') {
      // Escalation: only from a local ward to a free local PICU bed; otherwise stay and
      // continue the plan where the patient is.
      const bed = s.bed ? this.freeBed('picu') : null;
      if (bed) {
        bed.reserved = true;
        this.transfer(s, bed, true);
      } else {
        const picu = s.segments.shift() as Segment;
        const rest = s.segments.shift();
        s.segments.unshift({ type: s.wardType, ms: picu.ms + (rest?.ms ?? 0) });
        this.startSegment(s);
      }
      return;
    }
    // Step-down: to a free bed of the next type, or wait (first in line) for one.
    const free = this.freeBed(next.type);
    if (free) {
      free.reserved = true;
      this.transfer(s, free, true);
    } else {
      s.waitingForBed = true;
      this.queues[next.type].push({ kind: 'stepdown', spell: s });
    }
  }

  /** Move a spell to a reserved local bed; restart = begin the next planned segment. */
  private transfer(s: Spell, bed: Bed, restart: boolean): void {
    if (s.discharged) {
      bed.reserved = false;
      this.offerBed(bed.type);
      return;
    }
    const from = s.bed;
    this.maybeCancelled(
      () => this.emit(s.journey, 'patient.transferred', { spellId: s.id, ward: this.wrongWard(bed.ward.code, bed.type).code }, 'pas'),
      () => this.emit(s.journey, 'transfer.cancelled', { spellId: s.id }, 'pas'),
      () => {
        if (s.discharged) {
          bed.reserved = false;
          this.offerBed(bed.type);
          return;
        }
        if (s.onLeave) this.endLeave(s);
        bed.reserved = false;
        bed.occupant = s;
        s.bed = bed;
        s.waitingForBed = false;
        if (s.oap) {
          s.oap = null;
          this.oapSpells.delete(s);
        }
        this.emit(s.journey, 'patient.transferred', { spellId: s.id, ward: bed.ward.code, bed: bed.code }, 'pas');
        if (from) this.releaseBed(from);
        if (restart) this.startSegment(s);
        else this.planLeave(s, s.epoch);
      },
    );
  }

  // -- reviews, EDD, Mental Health Act ---------------------------------------

  private setEdd(s: Spell, at: number): void {
    let edd = Math.floor(at / DAY_MS) * DAY_MS + 12 * HOUR_MS;
    if (edd <= this.now) edd += DAY_MS;
    s.edd = edd;
    this.emit(s.journey, 'edd.set', { spellId: s.id, expectedDischargeAt: edd }, 'epr');
  }

  private firstReview(s: Spell): void {
    if (s.discharged) return;
    const planned = this.plannedDischarge(s);
    const estimate = s.admittedAt + (planned - s.admittedAt) * this.rng.lognormal(this.rates.edd.estimateFactor);
    this.setEdd(s, Math.max(estimate, this.now + DAY_MS));
    this.schedule(this.now + this.rates.edd.reviewEveryDays * DAY_MS, () => this.review(s));
  }

  private review(s: Spell): void {
    if (s.discharged) return;
    const planned = this.plannedDischarge(s);
    if (s.edd !== null && s.edd < this.now + 2 * DAY_MS && planned > s.edd + DAY_MS && this.rng.chance(this.rates.edd.resetProb)) {
      const estimate = this.now + (planned - this.now) * this.rng.lognormal({ median: 1, sigma: 0.15 });
      this.setEdd(s, Math.max(estimate, this.now + DAY_MS));
    }
    this.schedule(this.now + this.rates.edd.reviewEveryDays * DAY_MS, () => this.review(s));
  }

  private s2Review(s: Spell): void {
    if (s.discharged || s.legal !== '02') return;
    s.legal = this.rng.chance(this.rates.admission.s2ToS3) ? '03' : '01';
    this.emit(s.journey, 'patient.updated', { spellId: s.id, legalStatus: s.legal }, 'pas');
  }

  // -- leave ------------------------------------------------------------------

  private planLeave(s: Spell, epoch: number): void {
    const r = this.rates.leave;
    const gapDays = r.meanGapDays[s.wardType];
    if (!s.bed || !(gapDays > 0)) return;
    const startAt = Math.max(this.now, s.admittedAt + r.notBeforeDays * DAY_MS) + this.rng.exponential(gapDays * DAY_MS);
    const hours = Math.min(r.maxHours, Math.max(3, this.rng.lognormal(r.durationHours)));
    const limit = s.segmentEnd - 2 * HOUR_MS;
    const expectedReturn = Math.min(startAt + hours * HOUR_MS, limit);
    if (expectedReturn - startAt < 3 * HOUR_MS) return;
    this.schedule(startAt, () => {
      if (s.epoch !== epoch || s.discharged || s.onLeave || !s.bed) return;
      s.onLeave = true;
      const leaveType = s.legal === '02' || s.legal === '03' ? 'S17' : 'HOME';
      this.emit(s.journey, 'leave.started', { spellId: s.id, leaveType, expectedReturnAt: Math.round(expectedReturn) }, 'pas');
      let back = expectedReturn - this.rng.uniform(0, 1) * HOUR_MS;
      if (this.rng.chance(r.lateReturnProb)) back = expectedReturn + this.rng.uniform(r.lateReturnHours[0], r.lateReturnHours[1]) * HOUR_MS;
      back = Math.max(this.now + HOUR_MS, Math.min(back, s.segmentEnd - HOUR_MS));
      this.schedule(back, () => {
        if (!s.onLeave) return;
        this.endLeave(s);
        this.planLeave(s, epoch);
      });
    });
  }

  private endLeave(s: Spell): void {
    s.onLeave = false;
    this.emit(s.journey, 'leave.ended', { spellId: s.id }, 'pas');
  }

  // -- CRFD -------------------------------------------------------------------

  /** CRFD reason weights of a ward type for patients of an area (housing weighted by the area's housing delays). */
  private crfdWeights(type: ModelWardType, area: string): Weighted<string> {
    const key = `${type}/${area}`;
    const cached = this.crfdReasons.get(key);
    if (cached) return cached;
    const c = this.rates.crfd;
    const housing = this.areaProfiles.get(area)?.housingDelay ?? 1;
    const weights = c.reasons.map(([code, w]) => {
      const group = crfdGroupOf(code);
      const older = type === 'older_adult_acute' ? (c.olderAdultFactor[group] ?? c.olderAdultFactor[code] ?? 1) : 1;
      return [code, w * older * (group === 'housing' ? housing : 1)] as const;
    });
    this.crfdReasons.set(key, weights);
    return weights;
  }

  /**
   * At the start of the last segment: maybe a CRFD period (or two, split by deterioration)
   * before discharge. Returns how much later the discharge comes: a housing delay in an
   * area where housing is scarce (housingDelay > 1) lasts that much longer, and the stay with it.
   */
  private planCrfd(s: Spell): number {
    const c = this.rates.crfd;
    const end = s.segmentEnd;
    const losDays = (end - s.admittedAt) / DAY_MS;
    const p = c.probByLos.find(([upTo]) => losDays <= upTo)?.[1] ?? 0;
    if (!this.rng.chance(p)) return 0;
    const reasons = this.crfdWeights(s.wardType, s.patient.area);
    const reason = this.rng.weighted(reasons);
    const group = crfdGroupOf(reason);
    const factor = c.durationFactor[group] ?? c.durationFactor[reason] ?? 1;
    let dur = Math.min(this.rng.days(c.duration) * factor, c.maxShareOfSpell * (end - s.admittedAt), end - this.now - DAY_MS);
    if (dur < DAY_MS) return 0;
    const startAt = end - dur;
    const housing = this.areaProfiles.get(s.patient.area)?.housingDelay ?? 1;
    // Whole days, so the discharge keeps its time of day.
    const longer = group === 'housing' && housing > 1 ? Math.floor((dur * (housing - 1)) / DAY_MS) * DAY_MS : 0;
    dur += longer;
    const begin = (at: number, code: string): void =>
      this.schedule(at, () => {
        if (s.discharged || s.crfdReason) return;
        s.crfdReason = code;
        s.lastCrfdGroup = crfdGroupOf(code);
        this.emit(s.journey, 'crfd.started', { spellId: s.id, reasonCode: code }, 'epr');
        if (this.coordinated(s)) this.hasten(s);
      });
    begin(startAt, reason);
    if (dur > 6 * DAY_MS && this.rng.chance(c.deteriorationProb)) {
      // Deterioration: no longer fit for discharge for a while, then ready again.
      const stopAt = startAt + dur * this.rng.uniform(0.2, 0.4);
      const againAt = stopAt + dur * this.rng.uniform(0.15, 0.3);
      const again = this.rng.chance(0.7) ? reason : this.rng.weighted(reasons);
      this.schedule(stopAt, () => {
        if (s.discharged || !s.crfdReason) return;
        s.crfdReason = null;
        this.emit(s.journey, 'crfd.ended', { spellId: s.id }, 'epr');
      });
      begin(againAt, again);
    }
    return longer;
  }

  // -- the planted change (story.ts) -----------------------------------------

  private coordinated(s: Spell): boolean {
    return !!this.story && this.now >= this.story.from && s.bed?.ward.code === this.story.ward;
  }

  /** The coordinator's first day: every patient on the ward already ready for discharge goes sooner. */
  private coordinatorStarts(): void {
    for (const type of MODEL_WARD_TYPES) {
      for (const b of this.beds[type]) if (b.occupant && b.ward.code === this.story?.ward && b.occupant.crfdReason) this.hasten(b.occupant);
    }
  }

  /** Cuts the time left to discharge of a patient ready for it to the story's share (whole days). */
  private hasten(s: Spell): void {
    if (s.discharged || s.segments.length > 0 || s.waitingForBed || !this.story) return;
    const days = Math.floor(((s.segmentEnd - this.now) * (1 - this.story.delayFactor)) / DAY_MS);
    if (days < 1) return;
    s.segmentEnd -= days * DAY_MS;
    const epoch = ++s.epoch;
    this.schedule(s.segmentEnd, () => {
      if (s.epoch === epoch && !s.discharged) this.endSegment(s);
    });
  }

  // -- discharge and follow-up -----------------------------------------------

  private destination(s: Spell): string {
    const d = this.rates.discharge.destination[s.wardType];
    if (s.lastCrfdGroup === 'care_home') return this.rng.chance(0.5) ? '55' : '56';
    if (s.lastCrfdGroup === 'housing') return this.rng.chance(0.5) ? '29' : '19';
    return this.rng.weighted(d);
  }

  private discharge(s: Spell): void {
    // From here nothing else happens to the spell (reviews, leave and CRFD check this),
    // even while a discharge entered in error is being cancelled and re-done.
    s.discharged = true;
    const destination = this.destination(s);
    let method = '1';
    if (destination === '79') method = '4';
    else if (s.legal === '01' && destination === '19' && this.rng.chance(this.rates.discharge.selfDischargeProb)) method = '2';
    const payload = { spellId: s.id, dischargeMethod: method, destination };
    this.maybeCancelled(
      () => this.emit(s.journey, 'patient.discharged', payload, 'pas'),
      () => this.emit(s.journey, 'discharge.cancelled', { spellId: s.id }, 'pas'),
      () => {
        if (s.onLeave) this.endLeave(s);
        if (s.crfdReason) {
          s.crfdReason = null;
          this.emit(s.journey, 'crfd.ended', { spellId: s.id }, 'epr');
        }
        this.emit(s.journey, 'patient.discharged', payload, 'pas');
        if (s.bed) this.releaseBed(s.bed);
        else this.oapSpells.delete(s);
        this.followUp(s, destination);
      },
    );
  }

  private followUp(s: Spell, destination: string): void {
    const f = this.rates.followUp;
    const died = destination === '79';
    const dischargedAt = this.now;
    const eligible = f.eligibleWardTypes.includes(s.wardType) && !f.excludedDestinations.includes(destination);
    if (!eligible) {
      this.endJourney(s.journey, !died, dischargedAt);
      return;
    }
    const outcome = this.rng.weighted(f.outcome);
    if (outcome === 'missed') {
      this.endJourney(s.journey, true, dischargedAt);
      return;
    }
    let hours: number;
    if (outcome === 'late') hours = this.rng.uniform(f.lateHours[0], f.lateHours[1]);
    else {
      hours = this.rng.lognormal(f.withinHours);
      for (let i = 0; hours >= 72 && i < 20; i++) hours = this.rng.lognormal(f.withinHours);
      if (hours >= 72) hours = 48;
    }
    this.schedule(this.now + hours * HOUR_MS, () => {
      this.emit(s.journey, 'followup.made', { spellId: s.id }, 'epr');
      this.endJourney(s.journey, true, dischargedAt);
    });
  }
}
