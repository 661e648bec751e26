// Finds a container engine for testcontainers: DOCKER_HOST when set, Docker's socket when
// there is one, otherwise podman's Docker-compatible API service, started here with the
// private containers.conf of infra/images/podman.sh (see docs/testing.md). The images come
// from infra/images/build.sh, which this runs when one is missing (idempotent; seconds when
// the images are current). Public image names (PFM_IMAGE_*) are left to the engine to pull.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './index';
import { repoRoot } from './services';

export interface ImageNames { kafka: string; registry: string; redis: string; service: string }

/** Image names: the local builds by default, the public images on a machine with Docker and internet access. */
export function imageNames(): ImageNames {
  return {
    kafka: process.env.PFM_IMAGE_KAFKA ?? 'localhost/pfm-kafka:4.4.0',
    registry: process.env.PFM_IMAGE_REGISTRY ?? 'localhost/pfm-registry:3.3.3',
    redis: process.env.PFM_IMAGE_REDIS ?? 'localhost/pfm-redis:7',
    service: process.env.PFM_IMAGE_SERVICE ?? 'localhost/pfm-service:latest',
  };
}

const cacheDir = () => process.env.PFM_CACHE_DIR ?? join(homedir(), '.cache', 'pfm');
const podmanDir = () => process.env.PFM_PODMAN_DIR ?? join(cacheDir(), 'podman');

/** GET on the engine's API over its unix socket; the status code, or 0 when nothing answers. */
function ping(socketPath: string, path = '/_ping'): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 3000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

async function imageExists(socketPath: string, image: string): Promise<boolean> {
  return (await ping(socketPath, `/images/${encodeURIComponent(image)}/json`)) === 200;
}

let checked: Promise<string> | undefined;

/**
 * Makes sure an engine answers and the images exist; sets DOCKER_HOST (and, for podman,
 * TESTCONTAINERS_RYUK_DISABLED and the host override) for testcontainers. Cheap when
 * called again: only a ping, and podman's service is started again if it went idle.
 */
export async function ensureContainerEngine(): Promise<string> {
  const socket = await engineSocket();
  checked ??= (async () => {
    const names = imageNames();
    const missing = [];
    for (const image of [names.kafka, names.registry, names.redis]) if (image.startsWith('localhost/') && !(await imageExists(socket, image))) missing.push(image);
    if (missing.length) {
      try {
        execFileSync('bash', [join(repoRoot, 'infra', 'images', 'build.sh')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 1_200_000 });
      } catch (e) {
        throw new Error(`the container images ${missing.join(', ')} are missing and infra/images/build.sh failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message}`);
      }
    }
    return socket;
  })();
  try {
    return await checked;
  } catch (e) {
    checked = undefined;
    throw e;
  }
}

async function engineSocket(): Promise<string> {
  const given = process.env.DOCKER_HOST;
  if (given) {
    const path = given.replace(/^unix:\/\//, '');
    if (given.startsWith('unix://') && (await ping(path)) !== 200 && process.env.PFM_PODMAN_SOCKET === path) await startPodman(path);
    return path;
  }
  if (existsSync('/var/run/docker.sock') && (await ping('/var/run/docker.sock')) === 200) return '/var/run/docker.sock';
  const sock = join(podmanDir(), 'podman.sock');
  if ((await ping(sock)) !== 200) await startPodman(sock);
  // The reaper's image lives on a public registry: with it off, stacks remove their own containers.
  // testcontainers would use the default bridge's gateway (it sees /.dockerenv); ports are published on the host.
  Object.assign(process.env, { DOCKER_HOST: `unix://${sock}`, PFM_PODMAN_SOCKET: sock, CONTAINERS_CONF: join(podmanDir(), 'containers.conf'), TESTCONTAINERS_RYUK_DISABLED: 'true' });
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  return sock;
}

/**
 * podman's API service on `sock`, with the private containers.conf. Started from a test
 * run it exits by itself after 5 idle minutes (./pfm test starts its own and stops it).
 */
async function startPodman(sock: string): Promise<void> {
  const conf = join(podmanDir(), 'containers.conf');
  if (!existsSync(conf) || !hasCommand('podman')) {
    // build.sh installs podman (root + apt) and writes containers.conf.
    execFileSync('bash', [join(repoRoot, 'infra', 'images', 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_200_000 });
  }
  mkdirSync(podmanDir(), { recursive: true });
  const child = spawn('podman', ['system', 'service', `--time=${process.env.PFM_PODMAN_IDLE_SECONDS ?? '300'}`, `unix://${sock}`], {
    detached: true, stdio: 'ignore', env: { ...process.env, CONTAINERS_CONF: conf },
  });
  child.unref();
  await waitFor(async () => (await ping(sock)) === 200, { timeoutMs: 30000, intervalMs: 100, what: `podman's API service on ${sock}` });
}

function hasCommand(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
