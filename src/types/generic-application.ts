// The Generic Application resource type: runs a command line as a child process.
//
//   online     spawn `/bin/sh -c CommandLine` as the leader of a new process group;
//              online once it is still running onlineSettleMs later
//   looksAlive the process is running
//   isAlive    it is running and HealthCheckCommand (if set) exits 0
//   offline    SIGTERM to the whole group; SIGKILL after offlineGraceMs
//   terminate  SIGKILL to the whole group at once
//   close      as terminate, if anything still runs
//
// Signalling the group (not just the process) stops whatever the command
// started too. The pid (= process group id) is available through pidOf() and
// the "GetPid" control code, so tests can watch for the same service running
// on two nodes.
import { spawn, type ChildProcess } from 'node:child_process';
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import {
  unsupportedControl,
  type ControlRequest,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
  type ResourceTypeServices,
} from './resource-type.ts';
import { isGroupRunning, signalGroup } from './process-group.ts';
import { delay } from './waiting.ts';

export const GENERIC_APPLICATION_TYPE_NAME = 'Generic Application';

export interface GenericApplicationTimings {
  /** How long a started command must keep running before online succeeds. */
  readonly onlineSettleMs: number;
  /** How long offline waits after SIGTERM before SIGKILL. */
  readonly offlineGraceMs: number;
  /** How long to wait for the group to disappear after SIGKILL. */
  readonly killWaitMs: number;
  /** How often to look whether the group has exited. */
  readonly exitPollMs: number;
}

export const genericApplicationTimings: GenericApplicationTimings = {
  onlineSettleMs: 1_000,
  offlineGraceMs: 10_000,
  killWaitMs: 5_000,
  exitPollMs: 25,
};

/** The last bytes of the command's standard error, quoted in failures. */
const STDERR_TAIL_BYTES = 2_048;

export const genericApplicationDescriptor: ResourceTypeDescriptor = {
  name: GENERIC_APPLICATION_TYPE_NAME,
  description: 'Runs a command line as a child process, in its own process group.',
  privateProperties: [
    { name: 'CommandLine', kind: 'string', default: '', description: 'The command, run by /bin/sh -c.' },
    { name: 'CurrentDirectory', kind: 'string', default: '', description: 'Working directory; empty: the node process directory.' },
    { name: 'Environment', kind: 'multiString', default: [], description: 'NAME=value entries added to the environment.' },
    { name: 'HealthCheckCommand', kind: 'string', default: '', description: 'Run by isAlive; exit status 0 means healthy. Empty: no check.' },
  ],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

interface Running {
  readonly pid: number;
  readonly command: string;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  readonly exited: Promise<void>;
  stderrTail: string;
}

function stringParam(ctx: EntryPointContext, name: string): string {
  const v = ctx.parameters[name];
  return typeof v === 'string' ? v : '';
}

function environmentOf(ctx: EntryPointContext, what: string): NodeJS.ProcessEnv {
  const entries = ctx.parameters['Environment'];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const entry of Array.isArray(entries) ? entries : []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: Environment entry ${JSON.stringify(entry)} is not NAME=value`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function describeExit(exit: Running['exit']): string {
  if (!exit) return 'still running';
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export class GenericApplicationType implements ResourceType {
  readonly descriptor = genericApplicationDescriptor;
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly services: ResourceTypeServices,
    private readonly timings: GenericApplicationTimings = genericApplicationTimings,
  ) {}

  /** The pid (and process group id) of the resource's command, while it has one. */
  pidOf(resource: string): number | undefined {
    return this.running.get(resource)?.pid;
  }

  async open(_ctx: EntryPointContext): Promise<void> {}

  async close(ctx: EntryPointContext): Promise<void> {
    await this.kill(ctx.resource);
  }

  async online(ctx: EntryPointContext): Promise<void> {
    const what = `${GENERIC_APPLICATION_TYPE_NAME} <${ctx.resource}>: online`;
    const command = stringParam(ctx, 'CommandLine');
    if (command.trim() === '') throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: CommandLine is empty`);
    const current = this.running.get(ctx.resource);
    if (current && !current.exit) return; // already running: online is idempotent
    if (current) await this.kill(ctx.resource); // leftovers of an exited run

    const proc = await this.start(ctx, command, what);
    this.running.set(ctx.resource, proc);
    ctx.log(`started ${JSON.stringify(command)} as pid ${proc.pid}`);
    const settle = new AbortController();
    const settled = delay(this.services.clock, this.timings.onlineSettleMs, AbortSignal.any([ctx.signal, settle.signal]), what).then(
      () => 'settled' as const,
      (e: unknown) => (ctx.signal.aborted ? Promise.reject(e) : ('exited' as const)),
    );
    try {
      const first = await Promise.race([settled, proc.exited.then(() => 'exited' as const)]);
      settle.abort();
      if (first === 'exited' || proc.exit) {
        await this.kill(ctx.resource);
        const stderr = proc.stderrTail.trim();
        throw new ClusterError(
          'ERROR_RESOURCE_FAILED',
          `${what}: ${JSON.stringify(command)} ended within ${this.timings.onlineSettleMs} ms of its start (${describeExit(proc.exit)})${stderr ? `; stderr: ${stderr}` : ''}`,
        );
      }
    } catch (e) {
      settle.abort();
      await this.kill(ctx.resource);
      throw e;
    }
  }

  async offline(ctx: EntryPointContext): Promise<void> {
    const proc = this.running.get(ctx.resource);
    if (!proc) return;
    signalGroup(proc.pid, 'SIGTERM');
    let stopped = false;
    try {
      stopped = await this.waitGroupGone(proc.pid, this.timings.offlineGraceMs, ctx.signal);
    } finally {
      if (!stopped) {
        if (!ctx.signal.aborted) ctx.log(`pid ${proc.pid} still running ${this.timings.offlineGraceMs} ms after SIGTERM; sending SIGKILL`);
        await this.kill(ctx.resource);
      }
      this.running.delete(ctx.resource);
    }
  }

  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.kill(ctx.resource);
  }

  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    const proc = this.running.get(ctx.resource);
    return proc !== undefined && !proc.exit;
  }

  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    if (!(await this.looksAlive(ctx))) return false;
    const check = stringParam(ctx, 'HealthCheckCommand');
    if (check.trim() === '') return true;
    const what = `${GENERIC_APPLICATION_TYPE_NAME} <${ctx.resource}>: isAlive`;
    const proc = await this.start(ctx, check, what);
    const onAbort = (): void => void signalGroup(proc.pid, 'SIGKILL');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await proc.exited;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (ctx.signal.aborted) throw new ClusterError('ERROR_OPERATION_ABORTED', `${what}: HealthCheckCommand did not finish before the call's deadline`);
    if (proc.exit?.code !== 0) ctx.log(`HealthCheckCommand ${JSON.stringify(check)} failed (${describeExit(proc.exit)})`);
    return proc.exit?.code === 0;
  }

  /** Codes: "GetPid" -> { pid } (undefined when nothing runs). */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code === 'GetPid') return { pid: this.pidOf(ctx.resource) };
    return unsupportedControl(GENERIC_APPLICATION_TYPE_NAME, ctx.resource, request);
  }

  /** Spawns a command as the leader of a new process group; rejects if it cannot start. */
  private start(ctx: EntryPointContext, command: string, what: string): Promise<Running> {
    const cwd = stringParam(ctx, 'CurrentDirectory') || undefined;
    const child: ChildProcess = spawn('/bin/sh', ['-c', command], {
      cwd,
      env: environmentOf(ctx, what),
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', (e) => {
        if (child.pid === undefined) {
          reject(new ClusterError('ERROR_RESOURCE_FAILED', `${what}: cannot start ${JSON.stringify(command)}${cwd ? ` in ${JSON.stringify(cwd)}` : ''}: ${e.message}`));
        }
      });
      child.once('spawn', () => {
        let markExited!: () => void;
        const proc: Running = { pid: child.pid!, command, exited: new Promise<void>((r) => (markExited = r)), stderrTail: '' };
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (chunk: string) => {
          proc.stderrTail = (proc.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
        });
        child.once('exit', (code, signal) => {
          proc.exit = { code, signal };
          markExited();
        });
        resolve(proc);
      });
    });
  }

  /** SIGKILL to the resource's whole group, then forget it. Never waits longer than killWaitMs. */
  private async kill(resource: string): Promise<void> {
    const proc = this.running.get(resource);
    if (!proc) return;
    signalGroup(proc.pid, 'SIGKILL');
    await this.waitGroupGone(proc.pid, this.timings.killWaitMs, undefined);
    this.running.delete(resource);
  }

  /** Polls until no process of the group runs; false if it still runs after ms. */
  private async waitGroupGone(pgid: number, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    const clock = this.services.clock;
    const until = clock.now() + ms;
    const never = new AbortController().signal;
    while (isGroupRunning(pgid)) {
      if (clock.now() >= until) return false;
      await delay(clock, Math.min(this.timings.exitPollMs, until - clock.now()), signal ?? never, `waiting for process group ${pgid} to exit`);
    }
    return true;
  }
}

export const genericApplicationType: ResourceTypeDefinition = {
  descriptor: genericApplicationDescriptor,
  create: (services) => new GenericApplicationType(services),
  module: { url: import.meta.url, export: 'genericApplicationType' },
};
