// The demo's child processes: each service runs as `tsx services/<name>/src/main.ts` with
// its log written to .stack/logs/<name>.log; readiness is asked of the service (HTTP) or
// read from its log; stop is SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');

export class PortInUseError extends Error {}

/** Fails with the port, what uses it in the demo and the variable that moves it, when it is taken. */
export async function requirePortFree(port: number, what: string, envVar: string, host = '127.0.0.1'): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
  if (!free) throw new PortInUseError(`port ${port} (${what}) is already in use on ${host}: stop what holds it, or set ${envVar} to a free port`);
}

export class Child {
  private readonly lines: string[] = [];
  private readonly exited: Promise<number | null>;
  constructor(readonly name: string, readonly child: ChildProcess, readonly logFile: string) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }
  /** Lines seen so far (the last 500), for readiness checks and error reports. */
  get log(): readonly string[] { return this.lines; }
  keep(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 1000) this.lines.splice(0, 500);
  }
  tail(n = 15): string { return this.lines.slice(-n).join('\n'); }
  /** SIGTERM to the service's process group (tsx and the service), SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
  signal(sig: NodeJS.Signals): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, sig);
    } catch {
      this.child.kill(sig);
    }
  }
}

/** Starts a service with `env` added to this process's environment and waits until `ready` says so. */
export async function startChild(name: string, env: Record<string, string>, logDir: string, ready: (c: Child) => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<Child> {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'w' });
  // node runs the service with tsx as a loader: one process, so signals reach the service itself.
  // Its own process group: Ctrl-C in the terminal reaches only the demo, which stops the
  // services itself, in order, after the simulator.
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'services', name, 'src', 'main.ts')], {
    cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  const c = new Child(name, proc, logFile);
  // Should the demo itself die, the services go with it.
  const reap = () => { if (c.running) c.signal('SIGTERM'); };
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  let partial = '';
  const onData = (b: Buffer) => {
    out.write(b);
    const text = partial + b.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l) c.keep(l);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.once('exit', () => out.end());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!c.running) throw new Error(`${name} exited before it was ready (log: ${logFile}):\n${c.tail()}`);
    if (await ready(c)) return c;
    if (Date.now() > deadline) {
      await c.stop(2000);
      throw new Error(`${name} was not ready after ${timeoutMs / 1000} s (log: ${logFile}):\n${c.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const httpOk = (url: string) => async (): Promise<boolean> => {
  try { return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok; } catch { return false; }
};
export const logSays = (needle: string) => (c: Child): boolean => c.log.some((l) => l.includes(needle));
