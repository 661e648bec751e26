// socket.io-client for scripts at the repository root (benchmarks), which resolve
// packages from here, and the process memory readings they report.
import { readFileSync } from 'node:fs';

export { io, type Socket } from 'socket.io-client';

/** Pids of a process and all its descendants (Linux /proc). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // gone, or no children file: nothing below it
    }
  }
  return out;
}

/** Resident set size in KiB (VmRSS in /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * The process that does the work under a launcher (tsx runs the service in a child
 * node process): the one with the largest RSS in the tree.
 */
export function serviceProcess(pid: number): number {
  return processTree(pid).reduce((best, p) => {
    try { return rssKiB(p) > rssKiB(best) ? p : best; } catch { return best; }
  });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 100 Hz). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
