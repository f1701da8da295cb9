// The resource host: runs the RCM's call effects against resource types and
// turns whatever happens into a call result — WSFC's Resource Hosting
// Subsystem (RHS).
//
// - Every call has a deadline (the effect's deadlineMs): its signal aborts
//   then and the call is answered at once with ERROR_RESOURCE_CALL_TIMED_OUT,
//   whether or not the entry point stops. Nobody waits without bound.
// - An online or offline still running after pendingReportAfterMs is
//   reported 'pending' (the RCM shows OnlinePending/OfflinePending; as in
//   WSFC only these two entry points can pend); the final result follows.
// - A thrown ClusterError fails the call with its code; any other exception
//   with ERROR_EXCEPTION_IN_RESOURCE_CALL (5930).
// - A call still running after the resource's DeadlockTimeout (answered or
//   not) means the host it runs in is deadlocked. As RHS does, every call in
//   flight in that host is answered ERROR_RESOURCE_CALL_TIMED_OUT (5910) and
//   the host is killed and replaced by a fresh one; a resource that has
//   deadlocked its host deadlocksBeforeIsolation times runs in a host of its
//   own from then on. SeparateMonitor=1 gives a resource its own host from
//   the start. Health checks of other resources caught in the deadlocked
//   host are not failed (their resources' health is unknown, not bad): they
//   run again in the new host.
//
// Where entry points run: with the `processes` option, each host is a child
// process (process-host.ts, host-process.ts) for every type that can run
// there (its definition names its module); killing a deadlocked host really
// stops its code, and a type that blocks its thread stalls only its host,
// never the node or its API. Types without a module (those sharing in-process
// state with the node), and every type without the option (the simulator,
// tests on a virtual clock), run in this process: there a "host" is only
// bookkeeping of which resources share fate plus the abort signals of their
// calls, and code that ignores its signal keeps running until it returns.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { assert, clusterError, isClusterError, type ClusterErrorValue } from '../model/errors.ts';
import { messages, type LogMessage } from '../model/messages.ts';
import { defaultsOf, type PropertyValue } from '../model/properties.ts';
import type { EntryPointContext, ResourceType, ResourceTypeDefinition, ResourceTypeRegistry, ResourceTypeServices } from '../types/resource-type.ts';
import type { CallEffect, CallId, CallResult } from './calls.ts';
import { HostProcess, type HostProcessOptions } from './process-host.ts';
import type { RemoteOutcome } from './protocol.ts';

/** The host's own limits; deadlines and DeadlockTimeout come with each resource. */
export const resourceHostLimits = {
  /** An online/offline running longer than this is reported 'pending' (WSFC answers ERROR_IO_PENDING). */
  pendingReportAfterMs: 500,
  /** A resource that deadlocked its host this many times runs in a host of its own (WSFC isolates a repeat offender). */
  deadlocksBeforeIsolation: 2,
} as const;

/** What the host needs to know about a resource to call into its type. */
export interface HostedResource {
  readonly type: string;
  /** Private properties (the configuration view's, defaults included); the type's defaults fill any gap. */
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  /** The resource's DeadlockTimeout common property. */
  readonly deadlockTimeoutMs: number;
  /** The group's ownership epoch (fencing token). */
  readonly epoch: number;
  /** The resource's SeparateMonitor common property: run it in a host of its own. */
  readonly separateMonitor?: boolean;
}

export interface ResourceDirectory {
  /** The resource's configuration as this node sees it now; undefined if unknown. */
  lookup(resource: string): HostedResource | undefined;
}

export interface DeadlockReport {
  /** The id of the host that deadlocked (it is replaced). */
  readonly hostId: number;
  readonly resource: string;
  readonly entryPoint: string;
  readonly deadlockTimeoutMs: number;
  /** Every resource that ran in that host: their state is in doubt. */
  readonly resources: readonly string[];
  /** The host the offending resource runs in from now on. */
  readonly newHostId: number;
  /** Whether the offender now runs in a host of its own. */
  readonly isolated: boolean;
}

export interface ResourceHostOptions {
  readonly clock: Clock;
  readonly types: ResourceTypeRegistry;
  /** Given to every resource type this host instantiates. */
  readonly services: ResourceTypeServices;
  readonly directory: ResourceDirectory;
  readonly log: (line: LogMessage) => void;
  /** Every result: 'pending' ones and final ones. */
  readonly onResult?: (result: CallResult) => void;
  readonly onDeadlock?: (report: DeadlockReport) => void;
  readonly pendingReportAfterMs?: number;
  readonly deadlocksBeforeIsolation?: number;
  /**
   * Run each host as a child process, for the types whose definition names
   * their module. Only with a real clock: deadlines are this clock's, the
   * processes' time is the machine's.
   */
  readonly processes?: HostProcessOptions;
}

interface IsolationUnit {
  readonly id: number;
  readonly dedicatedTo: string | undefined;
  readonly resources: Set<string>;
  readonly inFlight: Set<InFlightCall>;
  dead: boolean;
  /** Its child process, once a call needed one. */
  process?: HostProcess;
}

interface InFlightCall {
  readonly effect: CallEffect;
  readonly unit: IsolationUnit;
  readonly typeName: string;
  readonly deadlockTimeoutMs: number;
  readonly abort: AbortController;
  readonly timers: TimerHandle[];
  answered: boolean;
  readonly answer: (result: CallResult) => void;
}

export class ResourceHost {
  private readonly typeInstances = new Map<string, ResourceType>();
  private nextUnitId = 1;
  private shared: IsolationUnit;
  private readonly dedicated = new Map<string, IsolationUnit>();
  /** Deadlocks each resource caused. */
  private readonly deadlocks = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: ResourceHostOptions) {
    this.shared = this.newUnit(undefined);
  }

  /** The id of the host a resource's calls run in now. */
  hostOf(resource: string): number {
    return this.unitFor(resource).id;
  }

  /** Whether the resource runs in a host of its own (after deadlocks, or SeparateMonitor). */
  isIsolated(resource: string): boolean {
    return this.dedicated.has(resource);
  }

  /** The pid of the process a resource's calls run in now, if that host has one. */
  hostPidOf(resource: string): number | undefined {
    const p = this.unitFor(resource).process;
    return p && !p.done ? p.pid : undefined;
  }

  /** Calls in flight (answered or not, not yet returned from the type). */
  inFlightCount(): number {
    let n = this.shared.inFlight.size;
    for (const u of this.dedicated.values()) n += u.inFlight.size;
    return n;
  }

  /** The type instance this host uses for a type name (created on first use). */
  typeInstance(name: string): ResourceType {
    let t = this.typeInstances.get(name);
    if (!t) {
      t = this.options.types.get(name).create(this.options.services);
      this.typeInstances.set(name, t);
    }
    return t;
  }

  /** Runs one call effect; resolves with its final result (also given to onResult). */
  call<Id extends CallId>(effect: CallEffect<Id>): Promise<CallResult<Id>> {
    assert(Number.isFinite(effect.deadlineMs) && effect.deadlineMs >= 0, `call effect deadlineMs must be a duration >= 0, got ${effect.deadlineMs}`);
    return new Promise<CallResult<Id>>((resolve) => {
      // Results built inside carry effect.callId, so they are CallResult<Id>.
      this.run(effect, (result) => {
        this.options.onResult?.(result);
        resolve(result as CallResult<Id>);
      });
    });
  }

  private run(effect: CallEffect, answer: (r: CallResult) => void): void {
    if (this.stopped) {
      return answer(failed(effect, clusterError('ERROR_CLUSTER_NODE_SHUTTING_DOWN', `${describeCall(effect)}: the resource host is stopped`)));
    }
    const hosted = this.options.directory.lookup(effect.resource);
    if (!hosted) {
      return answer(failed(effect, clusterError('ERROR_RESOURCE_NOT_FOUND', `${describeCall(effect)}: resource ${JSON.stringify(effect.resource)} is not known to this node`)));
    }
    let runner: ResourceType | ResourceTypeDefinition;
    try {
      const definition = this.options.types.get(hosted.type);
      runner = this.options.processes && definition.module ? definition : this.typeInstance(hosted.type);
    } catch (e) {
      return answer(failed(effect, this.errorOf(e, hosted.type, effect)));
    }
    this.start(effect, hosted, runner, answer);
  }

  /**
   * Stops the host (node shutdown or crash): aborts every call in flight and
   * answers the unanswered ones with ERROR_CLUSTER_NODE_SHUTTING_DOWN. Later
   * calls are refused the same way.
   */
  stop(): void {
    this.stopped = true;
    for (const unit of [this.shared, ...this.dedicated.values()]) {
      for (const c of unit.inFlight) {
        for (const t of c.timers) this.options.clock.clearTimer(t);
        this.finish(c, failed(c.effect, clusterError('ERROR_CLUSTER_NODE_SHUTTING_DOWN', `${describeCall(c.effect)}: the resource host is stopping`)));
        c.abort.abort();
      }
      unit.inFlight.clear();
      unit.process?.kill();
    }
  }

  /** Runs the call in this process (a type instance) or in the unit's host process (a definition with its module). */
  private start(effect: CallEffect, hosted: HostedResource, runner: ResourceType | ResourceTypeDefinition, answer: (r: CallResult) => void): void {
    const { clock } = this.options;
    const unit = this.unitFor(effect.resource);
    unit.resources.add(effect.resource);
    const call: InFlightCall = {
      effect,
      unit,
      typeName: hosted.type,
      deadlockTimeoutMs: hosted.deadlockTimeoutMs,
      abort: new AbortController(),
      timers: [],
      answered: false,
      answer,
    };
    unit.inFlight.add(call);
    const pendingAfter = this.options.pendingReportAfterMs ?? resourceHostLimits.pendingReportAfterMs;
    if (effect.entryPoint === 'online' || effect.entryPoint === 'offline') {
      call.timers.push(
        clock.setTimer(pendingAfter, () => {
          if (!call.answered) this.options.onResult?.({ type: 'callResult', resource: effect.resource, callId: effect.callId, outcome: 'pending' });
        }),
      );
    }
    call.timers.push(clock.setTimer(effect.deadlineMs, () => this.deadlinePassed(call)));
    const watchDeadlock = (): void => void call.timers.push(clock.setTimer(hosted.deadlockTimeoutMs, () => this.deadlocked(call)));
    let running: Promise<unknown>;
    if ('module' in runner && runner.module) {
      const remote = this.processOf(unit).call({
        resource: effect.resource,
        type: hosted.type,
        module: runner.module,
        entryPoint: effect.entryPoint,
        parameters: hosted.parameters,
        deadlineMs: effect.deadlineMs,
        epoch: hosted.epoch,
        ...(effect.control ? { control: effect.control } : {}),
      });
      call.abort.signal.addEventListener('abort', remote.abort, { once: true });
      // A host process that is still starting is not deadlocked (its start has a bound of its own).
      void remote.sent.then((sent) => sent && unit.inFlight.has(call) && watchDeadlock());
      running = remote.outcome.then((o) => (o.ok ? o.value : Promise.reject(new RemoteFailure(o))));
    } else {
      const type = runner as ResourceType;
      const ctx: EntryPointContext = {
        resource: effect.resource,
        parameters: { ...defaultsOf(type.descriptor.privateProperties), ...hosted.parameters },
        signal: call.abort.signal,
        deadlineMs: effect.deadlineMs,
        epoch: hosted.epoch,
        log: (message) => this.logFor(hosted.type, effect.resource, message),
      };
      watchDeadlock();
      try {
        running = Promise.resolve(invoke(type, effect, ctx));
      } catch (e) {
        running = Promise.reject(e); // an entry point that throws before returning its promise
      }
    }
    running.then(
      (value) => this.returned(call, value, undefined),
      (e: unknown) => this.returned(call, undefined, e),
    );
  }

  /** The entry point returned or threw. */
  private returned(call: InFlightCall, value: unknown, thrown: unknown): void {
    if (call.unit.dead || !call.unit.inFlight.has(call)) return; // abandoned with its host, or the host stopped
    call.unit.inFlight.delete(call);
    for (const t of call.timers) this.options.clock.clearTimer(t);
    if (call.answered) return; // answered at its deadline already
    const { effect } = call;
    if (thrown !== undefined) {
      const error = this.errorOf(thrown, call.typeName, effect);
      this.options.log(messages.entryPointFailed(call.typeName, effect.resource, effect.entryPoint, error.name, error.code, error.message));
      return this.finish(call, failed(effect, error));
    }
    if (isHealthCheck(effect) && value !== true) {
      return this.finish(call, failed(effect, clusterError('ERROR_RESOURCE_FAILED', `${describeCall(effect)}: the resource is not alive`)));
    }
    this.finish(call, {
      type: 'callResult',
      resource: effect.resource,
      callId: effect.callId,
      outcome: 'ok',
      ...(effect.entryPoint === 'control' ? { output: value } : {}),
    });
  }

  private deadlinePassed(call: InFlightCall): void {
    if (call.answered) return;
    const { effect } = call;
    call.abort.abort();
    const error = clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', `${describeCall(effect)} did not finish within its deadline of ${effect.deadlineMs} ms`);
    this.options.log(messages.entryPointFailed(call.typeName, effect.resource, effect.entryPoint, error.name, error.code, error.message));
    this.finish(call, failed(effect, error));
  }

  /** The call outlived DeadlockTimeout: its host is deadlocked. */
  private deadlocked(call: InFlightCall): void {
    const unit = call.unit;
    if (unit.dead || !unit.inFlight.has(call)) return;
    unit.dead = true;
    const { effect } = call;
    this.options.log(messages.entryPointTimedOut(effect.resource, effect.entryPoint, call.deadlockTimeoutMs));
    const rerun: InFlightCall[] = [];
    for (const c of unit.inFlight) {
      for (const t of c.timers) this.options.clock.clearTimer(t);
      c.abort.abort();
      if (c !== call && !c.answered && isHealthCheck(c.effect)) {
        rerun.push(c); // another resource's health is unknown, not failed: it is checked again in the new host
        continue;
      }
      const detail =
        c === call
          ? `${describeCall(c.effect)} exceeded its DeadlockTimeout of ${call.deadlockTimeoutMs} ms; resource host ${unit.id} is restarted`
          : `${describeCall(c.effect)} was in flight in resource host ${unit.id}, which deadlocked on ${describeCall(effect)}`;
      this.finish(c, failed(c.effect, clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', detail)));
    }
    unit.inFlight.clear();
    unit.process?.kill();
    // Replace the dead unit; a repeat offender gets a unit of its own.
    const count = (this.deadlocks.get(effect.resource) ?? 0) + 1;
    this.deadlocks.set(effect.resource, count);
    const isolate = count >= (this.options.deadlocksBeforeIsolation ?? resourceHostLimits.deadlocksBeforeIsolation);
    if (unit.dedicatedTo === undefined) this.shared = this.newUnit(undefined);
    if (unit.dedicatedTo !== undefined || isolate) this.dedicated.set(effect.resource, this.newUnit(effect.resource));
    const newHost = this.unitFor(effect.resource);
    this.options.log({
      level: 'WARN',
      component: 'RHS',
      text: `Resource host ${unit.id}${unit.process?.pid ? ` (pid ${unit.process.pid})` : ''} deadlocked on ${describeCall(effect)} (deadlock ${count} of this resource) and was killed; the resource now runs in host ${newHost.id}${newHost === this.shared ? '' : ' of its own'}.`,
    });
    for (const c of rerun) this.run(c.effect, c.answer);
    this.options.onDeadlock?.({
      hostId: unit.id,
      resource: effect.resource,
      entryPoint: effect.entryPoint,
      deadlockTimeoutMs: call.deadlockTimeoutMs,
      resources: [...unit.resources].sort(),
      newHostId: newHost.id,
      isolated: newHost !== this.shared,
    });
  }

  private finish(call: InFlightCall, result: CallResult): void {
    if (call.answered) return;
    call.answered = true;
    call.answer(result);
  }

  private unitFor(resource: string): IsolationUnit {
    const own = this.dedicated.get(resource);
    if (own) return own;
    if (!this.options.directory.lookup(resource)?.separateMonitor) return this.shared;
    const unit = this.newUnit(resource);
    this.dedicated.set(resource, unit);
    return unit;
  }

  /** The unit's host process; a fresh one if it has none or the last one ended. */
  private processOf(unit: IsolationUnit): HostProcess {
    if (!unit.process || unit.process.done) {
      const options = this.options.processes ?? {};
      unit.process = new HostProcess(unit.id, options, {
        readParameters: (resource) => this.options.services.clusterDatabase.readParameters(resource),
        log: (type, resource, text) => this.logFor(type, resource, text),
        exited: (pid, how) => this.options.log({ level: 'ERR', component: 'RHS', text: `Resource host ${unit.id} (pid ${pid}) ended unexpectedly (${how}); its calls failed.` }),
      });
    }
    return unit.process;
  }

  private logFor(type: string, resource: string, text: string): void {
    this.options.log({ level: 'INFO', component: 'RES', text: `${type} <${resource}>: ${text}` });
  }

  private newUnit(dedicatedTo: string | undefined): IsolationUnit {
    return { id: this.nextUnitId++, dedicatedTo, resources: new Set(), inFlight: new Set(), dead: false };
  }

  private errorOf(e: unknown, typeName: string, effect: CallEffect): ClusterErrorValue {
    if (isClusterError(e)) return e.toJSON();
    if (e instanceof RemoteFailure && e.outcome.error) return e.outcome.error;
    const text = e instanceof RemoteFailure ? (e.outcome.thrown ?? 'an unknown exception') : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return clusterError('ERROR_EXCEPTION_IN_RESOURCE_CALL', `${typeName} <${effect.resource}>: ${effect.entryPoint} threw ${text}`);
  }
}

/** How an entry point failed in a host process. */
class RemoteFailure {
  constructor(readonly outcome: Extract<RemoteOutcome, { ok: false }>) {}
}

function invoke(type: ResourceType, effect: CallEffect, ctx: EntryPointContext): Promise<unknown> {
  switch (effect.entryPoint) {
    case 'control':
      return type.control(ctx, effect.control ?? { code: '' });
    default:
      return type[effect.entryPoint](ctx);
  }
}

function isHealthCheck(effect: CallEffect): boolean {
  return effect.entryPoint === 'looksAlive' || effect.entryPoint === 'isAlive';
}

function failed<Id extends CallId>(effect: CallEffect<Id>, error: ClusterErrorValue): CallResult<Id> {
  return { type: 'callResult', resource: effect.resource, callId: effect.callId, outcome: 'failed', error };
}

function describeCall(effect: CallEffect): string {
  return `${effect.entryPoint} of resource ${JSON.stringify(effect.resource)}`;
}
