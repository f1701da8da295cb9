// The node's end of one resource host process (host-process.ts): spawns it on
// first use, in a process group of its own, sends it calls and answers its
// service requests. One process serves many calls (a call is two small IPC
// messages); it is replaced only when it is killed or dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ClusterError, clusterError, isClusterError, type ClusterErrorValue } from '../model/errors.ts';
import type { PropertyValue } from '../model/properties.ts';
import type { ControlRequest, EntryPoint, TypeModule } from '../types/resource-type.ts';
import { killMarkedProcesses, signalGroup } from '../types/process-group.ts';
import { HOST_MARK_ENV, HOST_NODE_ENV, Outbox, type FromHost, type RemoteOutcome, type ToHost } from './protocol.ts';

export const hostProcessLimits = {
  /** A host process not ready this long after its spawn is killed, and its calls fail. */
  startTimeoutMs: 60_000,
} as const;

export interface HostProcessOptions {
  /** NAME=value entries added to the host's environment (the watchdog's mark, so it kills hosts and all they started). */
  readonly environment?: readonly string[];
  /** The node's name, given to the types in the host. */
  readonly node?: string;
  /**
   * A command the host is started under, which must exec its arguments (so
   * the host stays this process's child): e.g. ["ip", "netns", "exec", "ns1"]
   * runs a node's resources in a network namespace of its own.
   */
  readonly command?: readonly string[];
}

export interface HostProcessServices {
  readParameters(resource: string): Promise<Record<string, PropertyValue>>;
  log(type: string, resource: string, text: string): void;
  /** The process ended without being killed by kill(): its calls have failed. */
  exited(pid: number, how: string): void;
}

export interface RemoteCall {
  readonly resource: string;
  readonly type: string;
  readonly module: TypeModule;
  readonly entryPoint: EntryPoint;
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  readonly deadlineMs: number;
  readonly epoch: number;
  readonly control?: ControlRequest;
}

const scriptPath = fileURLToPath(new URL('./host-process.ts', import.meta.url));
/** The TypeScript loader, by absolute URL, so the host starts whatever the node's working directory. */
const tsxLoader = import.meta.resolve('tsx');

/** Every live host process of this node process, killed if it exits (a host also notices by itself). */
const live = new Set<HostProcess>();
process.once('exit', () => {
  for (const h of live) h.kill();
});

export class HostProcess {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly mark = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private nextCallId = 1;
  private readonly pending = new Map<number, { resolve: (o: RemoteOutcome) => void }>();
  private readonly announced = new Set<string>();
  private killed = false;
  private readonly outbox = new Outbox<ToHost>((batch) => {
    const child = this.child;
    // A failed send means the process is going away: its exit fails what it had.
    if (child?.connected) child.send(batch, () => undefined);
  });

  constructor(
    readonly id: number,
    private readonly options: HostProcessOptions,
    private readonly services: HostProcessServices,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Killed, or ended by itself: calls fail at once; the node uses a new one. */
  get done(): boolean {
    return this.killed;
  }

  /**
   * Runs an entry point in the process (started on first use) and resolves
   * with how it ended; never rejects. sent: whether the call reached the
   * process (false if it could not start). abort() signals the entry point.
   */
  call(c: RemoteCall): { outcome: Promise<RemoteOutcome>; sent: Promise<boolean>; abort: () => void } {
    const id = this.nextCallId++;
    let markSent!: (sent: boolean) => void;
    const sent = new Promise<boolean>((r) => (markSent = r));
    const outcome = new Promise<RemoteOutcome>((resolve) => {
      if (this.killed) {
        markSent(false);
        return resolve(failure(clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', `resource host ${this.id} was killed`)));
      }
      this.pending.set(id, { resolve });
      this.started().then(
        () => {
          markSent(this.pending.has(id));
          if (!this.pending.has(id)) return;
          if (!this.announced.has(c.type)) {
            this.announced.add(c.type);
            this.send({ t: 'type', name: c.type, module: c.module });
          }
          this.send({
            t: 'call',
            id,
            resource: c.resource,
            type: c.type,
            entryPoint: c.entryPoint,
            parameters: c.parameters,
            deadlineMs: c.deadlineMs,
            epoch: c.epoch,
            ...(c.control ? { control: c.control } : {}),
          });
        },
        (e: unknown) => {
          markSent(false);
          this.settle(id, failure(isClusterError(e) ? e.toJSON() : clusterError('ERROR_RESOURCE_FAILED', String(e))));
        },
      );
    });
    return { outcome, sent, abort: () => this.send({ t: 'abort', id }) };
  }

  /**
   * Kills the process's group and every process it started (they carry its
   * mark), at once. Calls in flight resolve as failed; the object is done.
   */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    live.delete(this);
    const pid = this.child?.pid;
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    killMarkedProcesses(`${HOST_MARK_ENV}=${this.mark}`);
    this.failAll(clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', `resource host ${this.id}${pid ? ` (pid ${pid})` : ''} was killed`));
  }

  private started(): Promise<void> {
    this.ready ??= this.spawn();
    return this.ready;
  }

  private spawn(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, [HOST_MARK_ENV]: this.mark, ...(this.options.node ? { [HOST_NODE_ENV]: this.options.node } : {}) };
    for (const entry of this.options.environment ?? []) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    const [file, ...args] = [...(this.options.command ?? []), process.execPath, '--import', tsxLoader, scriptPath];
    const child = spawn(file!, args, {
      detached: true, // its own process group: the node kills the group, a terminal's Ctrl-C does not reach it
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    live.add(this);
    return new Promise<void>((resolve, reject) => {
      const startTimer = setTimeout(() => {
        const error = new ClusterError('ERROR_RESOURCE_FAILED', `resource host ${this.id} (pid ${child.pid}) did not start within ${hostProcessLimits.startTimeoutMs} ms`);
        this.failAll(error.toJSON());
        reject(error);
        this.kill();
      }, hostProcessLimits.startTimeoutMs);
      child.once('error', (e) => {
        clearTimeout(startTimer);
        reject(new ClusterError('ERROR_RESOURCE_FAILED', `resource host ${this.id} could not start: ${e.message}`));
      });
      child.on('message', (batch: FromHost[]) => {
        for (const m of batch) {
          if (m.t === 'ready') {
            clearTimeout(startTimer);
            resolve();
          } else this.received(m);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(startTimer);
        live.delete(this);
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(new ClusterError('ERROR_RESOURCE_FAILED', `resource host ${this.id} ended before it was ready (${how})`));
        if (this.killed) return;
        this.killed = true;
        killMarkedProcesses(`${HOST_MARK_ENV}=${this.mark}`);
        this.failAll(clusterError('ERROR_RESOURCE_FAILED', `resource host ${this.id} (pid ${child.pid}) ended during the call (${how})`));
        this.services.exited(child.pid ?? 0, how);
      });
    });
  }

  private received(m: Exclude<FromHost, { t: 'ready' }>): void {
    switch (m.t) {
      case 'result': {
        const { t: _t, id: _id, ...outcome } = m;
        return this.settle(m.id, outcome);
      }
      case 'log':
        return this.services.log(m.type, m.resource, m.text);
      case 'service':
        this.services.readParameters(m.resource).then(
          (value) => this.send({ t: 'service', id: m.id, value }),
          (e: unknown) => this.send({ t: 'service', id: m.id, error: isClusterError(e) ? e.toJSON() : clusterError('ERROR_RESOURCE_FAILED', String(e)) }),
        );
        return;
    }
  }

  private settle(id: number, outcome: RemoteOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(outcome);
  }

  private failAll(error: ClusterErrorValue): void {
    for (const id of [...this.pending.keys()]) this.settle(id, failure(error));
  }

  private send(m: ToHost): void {
    this.outbox.push(m);
  }
}

function failure(error: ClusterErrorValue): RemoteOutcome {
  return { ok: false, error };
}
