// CPU load for tests: busy processes at normal priority, so a test can show
// that the cluster stays correct on a starved machine (the failures of a busy
// CI box: timers running late, a frozen event loop, slow child processes).
//
// Each hog is `timeout -s KILL <s> sh -c 'while :; do :; done'` in a process
// group of its own: it ends by itself after its time bound even if the test
// process is killed, stop() kills the whole group at once, and an exit of the
// test process kills whatever is left. Only the hogs this module started are
// ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { TestContext } from 'node:test';

/** Busy processes per core by default: enough that every process on the machine waits for a CPU. */
export const CPU_HOGS_PER_CORE_DEFAULT = 4;

export interface CpuHogOptions {
  /** The hogs end by themselves after this long, whatever happens to the test. */
  readonly maxMs: number;
  /**
   * Busy processes per core (os.availableParallelism()) wanted on the
   * machine, counting those already running: default
   * CPU_HOGS_PER_CORE_DEFAULT.
   */
  readonly perCore?: number;
}

/**
 * How many hogs to add for perCore busy processes per core: the machine's
 * one-minute load average counts as busy processes already there. A test
 * run under `npm run test:load` (or any other hog) then adds none instead of
 * doubling the starvation it was written for.
 */
export function cpuHogsToAdd(perCore: number, cores = os.availableParallelism(), loadAverage = os.loadavg()[0] ?? 0): number {
  return Math.max(0, perCore * cores - Math.floor(loadAverage));
}

export interface CpuHogs {
  readonly count: number;
  readonly pids: readonly number[];
  /** Kills every hog (idempotent) and waits until they are gone. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child);
  });
}

/** Tops the machine up to perCore × cores busy processes with hogs at normal priority, bounded by maxMs. */
export function startCpuHogs(options: CpuHogOptions): CpuHogs {
  installExitHook();
  const count = cpuHogsToAdd(options.perCore ?? CPU_HOGS_PER_CORE_DEFAULT);
  const seconds = Math.max(1, Math.ceil(options.maxMs / 1000));
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn('timeout', ['-s', 'KILL', `${seconds}s`, 'sh', '-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined); // reported by stop()'s caller through pids
    child.unref();
    running.add(child);
    child.once('exit', () => running.delete(child));
    children.push(child);
  }
  return {
    count,
    pids: children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
    async stop() {
      await Promise.all(
        children.map((child) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return undefined;
          const gone = new Promise<void>((r) => child.once('exit', () => r()));
          child.ref(); // so this process waits for the exit it awaits
          killGroup(child);
          return gone;
        }),
      );
    },
  };
}

/** Hogs for the rest of a test: stopped when it ends, passed or failed. */
export function cpuHogsFor(t: TestContext, options: CpuHogOptions): CpuHogs {
  const hogs = startCpuHogs(options);
  t.after(() => hogs.stop());
  return hogs;
}

/**
 * SIGSTOPs a process for ms, then SIGCONTs it (also if the wait is cut short):
 * a frozen agent, as a long GC pause or a swapped-out process would freeze it.
 */
export async function freezeProcess(pid: number, ms: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // it died meanwhile
    }
  }
}
