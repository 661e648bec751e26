// docker-compose.yml under testcontainers' compose support (DockerComposeEnvironment): the
// Compose CLI this machine has, the product's image, and podman's missing health-check
// timer. See docs/testing.md ("Docker Compose").
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { DockerComposeEnvironment, getContainerRuntimeClient, Wait } from 'testcontainers';
import { ensureContainerEngine, imageNames } from './engine';
import { waitFor } from './index';
import { repoRoot } from './services';

/** The Compose CLI testcontainers drives: Compose v2 (`docker compose`) or the standalone `docker-compose`. */
export interface ComposeCli { standalone: boolean; version: string }

const run = (cmd: string, args: string[]): string | undefined => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return undefined;
  }
};

/**
 * `docker compose` when the Docker CLI has the plugin, else `docker-compose` (Debian's 1.29
 * here; `./pfm test-containers` installs it); throws, naming what to install, when neither.
 */
export function composeCli(): ComposeCli {
  const v2 = run('docker', ['compose', 'version', '--short']);
  if (v2) return { standalone: false, version: `docker compose ${v2}` };
  const v1 = run('docker-compose', ['version', '--short']);
  if (v1) return { standalone: true, version: `docker-compose ${v1}` };
  throw new Error('no Compose CLI on this machine: neither `docker compose` (Docker Compose v2) nor `docker-compose` answers. '
    + 'Install one (here: apt-get install docker-compose, which `./pfm test-containers` does as root).');
}

/** The name testcontainers gives a compose service's first container: v2 `<service>-1`, v1 `<project>_<service>_1`. */
export const composeContainerName = (cli: ComposeCli, project: string, service: string): string =>
  (cli.standalone ? `${project}_${service}_1` : `${service}-1`);

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 30_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: '' }); });
    req.end();
  });
}

/**
 * The engine, ready for compose: its socket, whether it is podman, and the product's image
 * built (infra/images/build.sh --service, idempotent) when its name is a local one.
 */
export async function ensureComposeEngine(): Promise<{ socket: string; podman: boolean }> {
  const socket = await ensureContainerEngine();
  const podman = (await get(socket, '/version')).body.includes('Podman Engine');
  if (imageNames().service.startsWith('localhost/') && podman) {
    try {
      execFileSync('bash', [join(repoRoot, 'infra', 'images', 'build.sh'), '--service'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 1_200_000 });
    } catch (e) {
      throw new Error(`the product's image could not be built (infra/images/build.sh --service): ${(e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message}`);
    }
  }
  return { socket, podman };
}

/**
 * podman without systemd (these machines) never runs a container's health check by itself,
 * so Compose's `depends_on: service_healthy` would wait for ever: this runs the health
 * checks of the project's running containers every `everyMs` (podman's libpod API) until
 * the returned function is called. On Docker it does nothing.
 */
export function runHealthChecks(engine: { socket: string; podman: boolean }, project: string, everyMs = 2000): () => void {
  if (!engine.podman) return () => undefined;
  let stopped = false;
  const tick = async () => {
    while (!stopped) {
      try {
        const client = await getContainerRuntimeClient();
        const mine = await client.container.dockerode.listContainers({ filters: { label: [`com.docker.compose.project=${project}`], status: ['running'] } });
        await Promise.all(mine.map((c) => get(engine.socket, `/v4.0.0/libpod/containers/${c.Id}/healthcheck`)));
      } catch {
        // The engine busy or a container gone between list and check: the next round tries again.
      }
      await new Promise((r) => setTimeout(r, everyMs).unref());
    }
  };
  void tick();
  return () => { stopped = true; };
}

/** How to know a compose service is ready: its health check, an HTTP GET on a container port, or a line its log prints. */
export type ComposeReady = { health: true } | { http: string; port: number } | { log: RegExp };

export interface ComposeStack {
  project: string;
  cli: ComposeCli;
  /** Seconds `up` took, readiness waits included. */
  upSeconds: number;
  /** A service's last log lines (its first container). */
  logs(service: string, lines?: number): Promise<string>;
  /** `down -v` (containers, network, volumes); safe to call twice. */
  down(): Promise<void>;
}

/**
 * docker-compose.yml (repo root) up as `project` with testcontainers' DockerComposeEnvironment
 * and the CLI at hand (composeCli), podman's health checks run meanwhile (runHealthChecks);
 * waits until each service of `ready` is ready (services not named: their health check).
 * On a failed start it downs what it started, volumes too, before throwing.
 */
export async function upCompose(o: { project: string; env: Record<string, string>; ready: Record<string, ComposeReady>; timeoutMs?: number }): Promise<ComposeStack> {
  const cli = composeCli();
  const engine = await ensureComposeEngine();
  const client = await getContainerRuntimeClient();
  const options = { filePath: repoRoot, files: 'docker-compose.yml', projectName: o.project, environment: o.env, ...(cli.standalone ? { executable: { standalone: true as const } } : {}) };
  const containerOf = async (service: string) => {
    const [c] = await client.container.dockerode.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${o.project}`, `com.docker.compose.service=${service}`] } });
    if (!c) throw new Error(`compose started no ${service} container`);
    return client.container.dockerode.getContainer(c.Id);
  };
  const logs = async (service: string, lines = 40) => (await (await containerOf(service)).logs({ stdout: true, stderr: true, follow: false, tail: lines })).toString();
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    await client.compose.down(options, { removeVolumes: true, timeout: 10 });
    const left = await client.container.dockerode.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${o.project}`] } });
    if (left.length) throw new Error(`compose down left containers of ${o.project}: ${left.map((c) => c.Names.join(',')).join(' ')}`);
  };
  const stopChecks = runHealthChecks(engine, o.project);
  const timeoutMs = o.timeoutMs ?? 600_000;
  const t0 = Date.now();
  try {
    let env = new DockerComposeEnvironment(repoRoot, 'docker-compose.yml').withProjectName(o.project).withEnvironment(o.env)
      .withStartupTimeout(timeoutMs).withDefaultWaitStrategy(Wait.forHealthCheck());
    if (cli.standalone) env = env.withClientOptions({ executable: { standalone: true } });
    const byLog: [string, RegExp][] = [];
    for (const [service, r] of Object.entries(o.ready)) {
      const name = composeContainerName(cli, o.project, service);
      if ('health' in r) env = env.withWaitStrategy(name, Wait.forHealthCheck());
      else if ('http' in r) env = env.withWaitStrategy(name, Wait.forHttp(r.http, r.port));
      else {
        // Read again on each try (not followed): a restart of the container is waited out.
        env = env.withWaitStrategy(name, Wait.forListeningPorts());
        byLog.push([service, r.log]);
      }
    }
    await env.up();
    for (const [service, re] of byLog) {
      await waitFor(async () => re.test(await logs(service, 400)), { timeoutMs, intervalMs: 1000, what: `${service} to log ${re}` })
        .catch(async (e: Error) => { throw new Error(`${e.message}; its last lines:\n${await logs(service, 15)}`); });
    }
  } catch (e) {
    stopChecks();
    await down().catch(() => undefined);
    throw e;
  }
  // Keep the health checks running while the stack lives (a service restarting waits on them).
  return { project: o.project, cli, upSeconds: (Date.now() - t0) / 1000, logs, down: async () => { stopChecks(); await down(); } };
}
