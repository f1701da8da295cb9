// Process groups: a Generic Application's command runs as the leader of its own
// process group, so signalling the group reaches every process it started.
import { readdirSync, readFileSync } from 'node:fs';

/** Sends a signal to every process of the group; false if the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** A process's state letter and process group from /proc/<pid>/stat, or undefined if it is gone. */
export function procStat(pid: number): { state: string; pgid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', pgid: Number(fields[2]) };
}

/** Whether a process exists and is not a zombie (an exited process nobody has reaped yet). */
export function isProcessRunning(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state !== 'Z' && stat.state !== 'X';
  try {
    process.kill(pid, 0);
    return true; // no /proc (not Linux): existence is all we can know
  } catch {
    return false;
  }
}

const hasProc = ((): boolean => {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
})();

/**
 * Whether any process of the group is still running. Zombies do not count:
 * orphans re-parented to an init that does not reap them would otherwise keep
 * a finished group "alive" forever.
 */
export function isGroupRunning(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (!hasProc) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/** Live (not zombie) processes, other than this one, whose environment holds the NAME=value entry, with their process groups. Needs /proc: elsewhere none. */
export function markedProcesses(markEntry: string): Array<{ pid: number; pgid: number }> {
  const out: Array<{ pid: number; pgid: number }> = [];
  if (!hasProc) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or another user's process
    }
    if (!environ.split('\0').includes(markEntry)) continue;
    const stat = procStat(pid);
    if (stat && stat.state !== 'Z' && stat.state !== 'X') out.push({ pid, pgid: stat.pgid });
  }
  return out;
}

/**
 * SIGKILLs every live process that carries the mark, and the process group of
 * each (a process started by a resource inherits its host's mark; a service
 * may have made a group of its own). Returns how many carried it.
 */
export function killMarkedProcesses(markEntry: string): number {
  const marked = markedProcesses(markEntry);
  for (const p of marked) {
    if (p.pgid > 1 && p.pgid !== process.pid) signalGroup(p.pgid, 'SIGKILL');
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return marked.length;
}
