// Runs the product's services as real child processes (tsx), for end-to-end tests:
// readiness by asking the service, logs kept and shown when a test fails, and
// stop (SIGTERM) / kill (SIGKILL) for fault tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { GiveUp, waitFor } from './index';

export const repoRoot = join(__dirname, '..', '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export class RunningService {
  readonly logs: string[] = [];
  private exited: Promise<number | null>;
  constructor(readonly name: string, readonly child: ChildProcess) {
    const keep = (b: Buffer) => { for (const line of b.toString('utf8').split('\n')) if (line) this.logs.push(line); if (this.logs.length > 2000) this.logs.splice(0, 1000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
  tail(n = 40): string { return this.logs.slice(-n).join('\n'); }
}

/** Starts `services/<name>/src/main.ts` with the given environment and waits until `ready` holds. */
export async function startService(name: string, env: Record<string, string>, ready: (s: RunningService) => Promise<boolean> | boolean, timeoutMs = 60000): Promise<RunningService> {
  // node itself runs the service (tsx as a loader), so stop() and kill() signal the real
  // process: the tsx wrapper binary would forward SIGTERM but die alone on SIGKILL,
  // leaving the service running.
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'services', name, 'src', 'main.ts')], {
    cwd: repoRoot, env: { ...process.env, PFM_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const svc = new RunningService(name, child);
  try {
    await waitFor(async () => {
      // A service that exited will not become ready: say so now, not at the deadline.
      if (!svc.running) throw new GiveUp(`${name} exited:\n${svc.tail()}`);
      return ready(svc);
    }, { timeoutMs, intervalMs: 200, what: `${name} to be ready` });
  } catch (e) {
    await svc.kill();
    throw new Error(`${(e as Error).message}\n--- ${name} log ---\n${svc.tail()}`);
  }
  return svc;
}

export const httpReady = (url: string) => async (): Promise<boolean> => {
  try { return (await fetch(url)).ok; } catch { return false; }
};
export const logReady = (needle: string) => (s: RunningService): boolean => s.logs.some((l) => l.includes(needle));
