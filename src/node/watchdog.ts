// The node agent's end of its watchdog: spawns the watchdog process
// (watchdog-process.ts), pets it with the time the membership lease is known
// to hold for, and tells it which process groups the node's resources run in.
// If the agent dies (kill -9) the watchdog's pipe closes; if it freezes
// (SIGSTOP, a stalled event loop) the petting stops: either way the watchdog
// kills those groups before the lease can expire and another node takes the
// groups over.
//
// The watchdog restarts if it dies while the agent runs (its guard list is
// sent again); shutdown() asks it to kill what is left and waits for it.
//
// It runs as plain JavaScript (watchdog-process.ts bundled by esbuild, no
// TypeScript loader: it starts in well under a second even on a starved
// machine) and, where the agent may (root), at realtime priority (chrt -f),
// so a CPU hog cannot delay its kill. It is started with --reset-on-fork: no
// process started from it, ever, inherits realtime priority. Elsewhere it runs at normal priority and
// the fence margin of the node taking over must cover its delay.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Clock, TimerHandle } from '../model/clock.ts';
import { ClusterError } from '../model/errors.ts';
import type { LogMessage } from '../model/messages.ts';
import { RealClock } from '../clock/real.ts';
import { decodeReport, encodeLine, LineSplitter, WATCHDOG_MARK_ENV, type WatchdogCommand } from './watchdog-protocol.ts';

export const watchdogLimits = {
  /** How long a fresh watchdog process may take to say it is ready. */
  startTimeoutMs: 15_000,
  /** Pause before a watchdog that died is started again. */
  respawnDelayMs: 200,
  /** shutdown() waits this long for the watchdog to kill what is left and exit. */
  shutdownWaitMs: 5_000,
  /** SCHED_FIFO priority of the watchdog where it may run at realtime priority (1-99; sbd and corosync use 99, a kernel thread's default is 50). */
  realtimePriority: 50,
} as const;

/** What the node agent needs: word that its lease (named, for the kill confirmation) holds for fireInMs more. */
export interface LeaseWatchdog {
  pet(fireInMs: number, lease?: string): void;
}

/** What a process-backed resource type needs: the mark to put in its processes' environment, and where to report their groups. */
export interface ProcessGuard {
  /** NAME=value to add to the environment of every process a resource starts. */
  readonly markEnvironment: string;
  guard(pgid: number, label: string): void;
  unguard(pgid: number): void;
}

export interface WatchdogOptions {
  /** The watchdog's own log file (it outlives the agent, so it cannot use the agent's log). */
  readonly logPath?: string;
  /** Lines for the agent's cluster log. */
  readonly log: (m: LogMessage) => void;
  readonly clock?: Clock;
  /** Where the watchdog's JavaScript is built (default: a directory under the system's temporary directory). */
  readonly buildDir?: string;
  /**
   * Where a watchdog confirms its kill: etcd endpoints and the full etcd key
   * (namespace included). Without it the kill is not confirmed and the node
   * taking over waits out the fence margin.
   */
  readonly confirm?: { readonly etcd: readonly string[]; readonly key: string };
}

const sourcePath = fileURLToPath(new URL('./watchdog-process.ts', import.meta.url));

/**
 * Bundles the watchdog into one JavaScript file in dir, named by its content's
 * hash (so agents of several versions, or starting at once, never overwrite one
 * another's), and returns its path. A few hundred ms, once per agent start.
 */
export async function buildWatchdogScript(dir: string): Promise<string> {
  const out = await build({ entryPoints: [sourcePath], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0]!.contents;
  const path = join(dir, `watchdog-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, path);
  }
  return path;
}

let realtimeAllowed: boolean | undefined;
/** Whether this process may start others at realtime priority: it runs as root and `chrt -f` works here. */
export function mayStartRealtime(): boolean {
  realtimeAllowed ??= process.getuid?.() === 0 && spawnSync('chrt', ['--reset-on-fork', '-f', String(watchdogLimits.realtimePriority), 'true'], { stdio: 'ignore' }).status === 0;
  return realtimeAllowed;
}

export class Watchdog implements LeaseWatchdog, ProcessGuard {
  readonly markEnvironment: string;
  private readonly mark: string;
  private readonly clock: Clock;
  private child: ChildProcess | undefined;
  private readonly guarded = new Map<number, string>();
  /** Clock time the last pet asked the watchdog to fire at. */
  private fireAt: number | undefined;
  private stopping = false;
  private respawnTimer: TimerHandle | undefined;
  private exited: Promise<void> = Promise.resolve();
  private script = '';
  private lease: string | undefined;
  /** Whether the watchdog runs at realtime priority. */
  readonly realtime = mayStartRealtime();

  private constructor(private readonly options: WatchdogOptions) {
    this.clock = options.clock ?? new RealClock();
    this.mark = `${process.pid}-${randomBytes(6).toString('hex')}`;
    this.markEnvironment = `${WATCHDOG_MARK_ENV}=${this.mark}`;
  }

  /** Starts the watchdog process and waits until it is ready. */
  static async start(options: WatchdogOptions): Promise<Watchdog> {
    const w = new Watchdog(options);
    w.script = await buildWatchdogScript(options.buildDir ?? join(tmpdir(), 'failover-watchdog'));
    await w.spawn();
    w.options.log(
      w.realtime
        ? { level: 'INFO', component: 'NM', text: `Watchdog ${w.pid} runs at realtime priority (SCHED_FIFO ${watchdogLimits.realtimePriority}).` }
        : { level: 'WARN', component: 'NM', text: `Watchdog ${w.pid} runs at normal priority (realtime needs root and chrt): on a starved CPU its kill can come late; the fence margin must cover it.` },
    );
    return w;
  }

  /** The watchdog process's pid (changes if it is restarted). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  pet(fireInMs: number, lease?: string): void {
    this.fireAt = this.clock.now() + fireInMs;
    if (lease !== undefined) this.lease = lease;
    this.send({ type: 'pet', fireInMs, ...(this.lease !== undefined ? { lease: this.lease } : {}) });
  }

  guard(pgid: number, label: string): void {
    this.guarded.set(pgid, label);
    this.send({ type: 'guard', pgid, label });
  }

  unguard(pgid: number): void {
    if (!this.guarded.delete(pgid)) return;
    this.send({ type: 'unguard', pgid });
  }

  /** Kills whatever is still guarded, and waits (bounded) for the watchdog to exit. */
  async shutdown(reason: string): Promise<void> {
    this.stopping = true;
    if (this.respawnTimer) this.clock.clearTimer(this.respawnTimer);
    this.send({ type: 'fire', reason });
    this.child?.stdin?.end();
    const child = this.child;
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), watchdogLimits.shutdownWaitMs).unref());
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timeout])) === 'timeout') child?.kill('SIGKILL');
  }

  private send(command: WatchdogCommand): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    stdin.write(encodeLine(command));
  }

  private spawn(): Promise<void> {
    const confirm = this.options.confirm;
    const args = [
      this.script,
      '--mark', this.mark,
      ...(this.options.logPath ? ['--log', this.options.logPath] : []),
      ...(confirm ? ['--etcd', confirm.etcd.join(','), '--confirm-key', confirm.key] : []),
    ];
    // Its own process group: signals meant for the agent's terminal group do not reach it.
    const child = this.realtime
      ? spawn('chrt', ['--reset-on-fork', '-f', String(watchdogLimits.realtimePriority), process.execPath, ...args], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdin?.on('error', () => undefined); // a dead watchdog is handled on 'exit'
    let markExited!: () => void;
    this.exited = new Promise<void>((r) => (markExited = r));
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const startTimer = setTimeout(() => {
        if (ready) return;
        child.kill('SIGKILL');
        reject(new ClusterError('ERROR_TIMEOUT', `watchdog process (${this.script}) did not report ready within ${watchdogLimits.startTimeoutMs} ms`));
      }, watchdogLimits.startTimeoutMs);
      const splitter = new LineSplitter();
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        for (const line of splitter.push(chunk)) {
          const r = decodeReport(line);
          if (r?.type === 'ready' && !ready) {
            ready = true;
            clearTimeout(startTimer);
            this.resend();
            resolve();
          } else if (r?.type === 'fired') {
            // Asked to at a stop, it is routine; otherwise the agent was silent too long.
            this.options.log({ level: this.stopping ? 'INFO' : 'ERR', component: 'NM', text: `Watchdog fired: ${r.reason}; killed process groups ${r.killedGroups.join(', ') || 'none'}.` });
          } else if (r?.type === 'confirmed') {
            this.options.log({ level: 'INFO', component: 'NM', text: `Watchdog kill ${r.stored ? `confirmed in the store for lease ${r.lease}` : 'not confirmed in the store'}.` });
          }
        }
      });
      child.on('error', (e) => {
        clearTimeout(startTimer);
        if (!ready) reject(new ClusterError('ERROR_RESMON_CREATE_FAILED', `cannot start the watchdog process (${process.execPath} ${this.script}): ${e.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        markExited();
        if (!ready) {
          reject(new ClusterError('ERROR_RESMON_CREATE_FAILED', `the watchdog process exited before it was ready (${signal ?? `exit code ${code}`})`));
          return;
        }
        if (this.stopping) return;
        this.options.log({ level: 'WARN', component: 'NM', text: `Watchdog process ${child.pid} exited (${signal ?? `exit code ${code}`}); starting a new one.` });
        this.respawnTimer = this.clock.setTimer(watchdogLimits.respawnDelayMs, () => {
          this.respawnTimer = undefined;
          if (this.stopping) return;
          this.spawn().catch((e: unknown) =>
            this.options.log({ level: 'ERR', component: 'NM', text: `Watchdog could not be restarted: ${e instanceof Error ? e.message : String(e)}` }),
          );
        });
      });
    });
  }

  /** A new watchdog learns the guard list, and the deadline if it still lies ahead (a past one already fired). */
  private resend(): void {
    for (const [pgid, label] of this.guarded) this.send({ type: 'guard', pgid, label });
    if (this.fireAt !== undefined && this.fireAt > this.clock.now()) this.pet(this.fireAt - this.clock.now());
  }
}
