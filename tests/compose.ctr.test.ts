// The whole product from docker-compose.yml, brought up by testcontainers' compose support
// (DockerComposeEnvironment) with the Compose CLI this machine has: `docker compose` (v2)
// where the Docker CLI has it, otherwise the standalone `docker-compose` (Debian's 1.29
// here, against podman's Docker-compatible socket, with the local images of
// infra/images/build.sh --service). Kafka with TLS, SCRAM logins and ACLs (kafka-setup, the
// product's own command), the registry with its logins (registry-config), Redis with its
// ACL user, ingest, engine and gateway: an admission sent to ingest over HTTP reaches the
// board API, which takes tokens only. No engine or no CLI: the suite fails, saying which.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSenderKey } from '@pfm/access';
import { Auth, type ClaimsInput } from '@pfm/board-gateway/src/auth';
import { composeCli, ensureComposeEngine, freePort, imageNames, upCompose, waitFor, type ComposeStack } from '@pfm/testkit';

const log = (m: string) => process.stdout.write(`[compose] ${m}\n`);
const STARTUP_MS = Number(process.env.PFM_COMPOSE_STARTUP_MS ?? 600_000);

const project = `cmp${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const secret = () => randomBytes(24).toString('base64url');
const jwtSecret = secret();
const sender = newSenderKey('compose-test');
const dir = mkdtempSync(join(tmpdir(), 'pfm-compose-'));

let stack: ComposeStack | undefined;
let ports: Record<'ingest' | 'gateway' | 'kafka' | 'registry' | 'redis' | 'mllp', number>;
const gateway = () => `http://127.0.0.1:${ports.gateway}`;
const ingest = () => `http://127.0.0.1:${ports.ingest}`;

const admission = (patientId: string, spellId: string) => ({
  eventId: `compose-adm-${patientId}`, type: 'patient.admitted', occurredAt: new Date(Date.now() - 3600_000).toISOString(), site: 'RXT', patientId,
  payload: { spellId, ward: 'OAK', bed: `B${spellId}`, initials: 'AB' },
});
const post = async (body: unknown, key = sender.key) => fetch(`${ingest()}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `ApiKey ${key}` }, body: JSON.stringify(body) });
const wards = async (token?: string) => fetch(`${gateway()}/api/v1/wards`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const oak = async (token: string) => ((await (await wards(token)).json()) as { ward: string; occupied: number }[]).find((w) => w.ward === 'OAK');
const token = () => new Auth(jwtSecret).issue({ sub: 'bm-compose', role: 'bed_manager', sites: ['RXT'] } as ClaimsInput);

beforeAll(async () => {
  const cli = composeCli();
  const engine = await ensureComposeEngine();
  log(`${cli.version} on ${engine.podman ? 'podman' : 'Docker'} (${engine.socket}), project ${project}`);
  ports = { ingest: await freePort(), gateway: await freePort(), kafka: await freePort(), registry: await freePort(), redis: await freePort(), mllp: await freePort() };
  const sendersFile = join(dir, 'senders.json');
  writeFileSync(sendersFile, JSON.stringify([{ id: 'compose-test', keySha256: sender.keySha256, channels: ['json'], types: ['*'], sites: ['RXT'] }]), { mode: 0o644 });
  const names = imageNames();
  const env: Record<string, string> = {
    // Podman here: the local images; with Docker the public ones (./pfm test-containers sets
    // PFM_IMAGE_KAFKA etc.) and the product's image built by compose.
    ...(engine.podman ? { PFM_IMAGE_KAFKA: names.kafka, PFM_IMAGE_REGISTRY: names.registry, PFM_IMAGE_REDIS: names.redis, PFM_IMAGE_SERVICE: names.service } : {}),
    PFM_COMPOSE_SENDERS_FILE: sendersFile, PFM_JWT_SECRET: jwtSecret,
    PFM_COMPOSE_INGEST_PORT: String(ports.ingest), PFM_COMPOSE_MLLP_PORT: String(ports.mllp), PFM_COMPOSE_GATEWAY_PORT: String(ports.gateway),
    PFM_COMPOSE_KAFKA_PORT: String(ports.kafka), PFM_COMPOSE_REGISTRY_PORT: String(ports.registry), PFM_COMPOSE_REDIS_PORT: String(ports.redis),
    ...Object.fromEntries(['PFM_REDIS_PASSWORD', 'PFM_REDIS_ADMIN_PASSWORD', 'PFM_KAFKA_TLS_PASSWORD', 'PFM_KAFKA_PASSWORD_ADMIN', 'PFM_KAFKA_PASSWORD_INGEST',
      'PFM_KAFKA_PASSWORD_ENGINE', 'PFM_KAFKA_PASSWORD_GATEWAY', 'PFM_KAFKA_PASSWORD_REGISTRY', 'PFM_REGISTRY_PASSWORD_ADMIN', 'PFM_REGISTRY_PASSWORD_INGEST',
      'PFM_REGISTRY_PASSWORD_ENGINE', 'PFM_REGISTRY_PASSWORD_GATEWAY'].map((v) => [v, secret()])),
  };
  stack = await upCompose({
    project, env, timeoutMs: STARTUP_MS,
    // Kafka, the registry and Redis: their health checks (compose waited on them too).
    ready: { ingest: { http: '/readyz', port: 8080 }, 'board-gateway': { http: '/healthz', port: 3000 }, 'flow-engine': { log: /flow-engine running/ } },
  });
  log(`up in ${stack.upSeconds.toFixed(1)} s`);
}, STARTUP_MS * 2 + 300_000);

afterAll(async () => {
  const t0 = Date.now();
  try {
    await stack?.down();
    if (stack) log(`down -v in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

describe('docker-compose.yml: the whole product from the images', () => {
  it('the board API takes tokens only', async () => {
    expect((await wards()).status).toBe(401);
    expect((await wards('not-a-token')).status).toBe(401);
    const t = await token();
    const r = await wards(t);
    expect(r.status).toBe(200);
    expect(await oak(t)).toMatchObject({ ward: 'OAK', occupied: 0 });
  });

  it('ingest refuses a sender it does not know', async () => {
    const stranger = newSenderKey('compose-test');
    expect((await post(admission('X1', '90'), stranger.key)).status).toBe(401);
  });

  it('an admission sent to ingest reaches the board; the same event again counts once', async () => {
    const t = await token();
    expect((await post(admission('P1', '1'))).status).toBe(202);
    await waitFor(async () => (await oak(t))?.occupied === 1, { timeoutMs: 120_000, intervalMs: 500, what: 'OAK to show the admission (occupied 1) on the board API' });
    expect((await post(admission('P1', '1'))).status).toBe(202);
    expect((await post(admission('P2', '2'))).status).toBe(202);
    await waitFor(async () => (await oak(t))?.occupied === 2, { timeoutMs: 120_000, intervalMs: 500, what: 'OAK occupied 2 after the second patient' });
    expect(await oak(t)).toMatchObject({ occupied: 2, free: 18, beds: 20 });
  });
});
