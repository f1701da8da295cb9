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
//   flight in that host is answered ERROR_RESOURCE_CALL_TIMED_OUT (5910), the
//   host is replaced by a fresh one, and the offending resource runs in a host
//   of its own from then on.
//
// Isolation given: a "host" here is an isolation unit inside this process —
// bookkeeping of which resources share fate, plus the abort signals of its
// calls. Replacing a deadlocked unit abandons its calls (their late results
// are ignored and their signals aborted) and keeps new calls of the offending
// resource apart from the others, but in-process code that ignores its signal
// keeps its promise (and any CPU it burns) until it returns. Running units in
// child processes that can really be killed is the next step.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { assert, clusterError, isClusterError, type ClusterErrorValue } from '../model/errors.ts';
import { messages, type LogMessage } from '../model/messages.ts';
import { defaultsOf, type PropertyValue } from '../model/properties.ts';
import type { EntryPointContext, ResourceType, ResourceTypeRegistry, ResourceTypeServices } from '../types/resource-type.ts';
import type { CallEffect, CallId, CallResult } from './calls.ts';

/** The host's own limits; deadlines and DeadlockTimeout come with each resource. */
export const resourceHostLimits = {
  /** An online/offline running longer than this is reported 'pending' (WSFC answers ERROR_IO_PENDING). */
  pendingReportAfterMs: 500,
} as const;

/** What the host needs to know about a resource to call into its type. */
export interface HostedResource {
  readonly type: string;
  /** Private properties as stored; the type's defaults fill the gaps. */
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  /** The resource's DeadlockTimeout common property. */
  readonly deadlockTimeoutMs: number;
  /** The group's ownership epoch (fencing token). */
  readonly epoch: number;
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
}

interface IsolationUnit {
  readonly id: number;
  readonly dedicatedTo: string | undefined;
  readonly resources: Set<string>;
  readonly inFlight: Set<InFlightCall>;
  dead: boolean;
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
  private stopped = false;

  constructor(private readonly options: ResourceHostOptions) {
    this.shared = this.newUnit(undefined);
  }

  /** The id of the host a resource's calls run in now. */
  hostOf(resource: string): number {
    return this.unitFor(resource).id;
  }

  /** Whether the resource was moved to a host of its own after a deadlock. */
  isIsolated(resource: string): boolean {
    return this.dedicated.has(resource);
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
      const answerOnly = (result: CallResult<Id>): void => {
        this.options.onResult?.(result);
        resolve(result);
      };
      if (this.stopped) {
        return answerOnly(failed(effect, clusterError('ERROR_CLUSTER_NODE_SHUTTING_DOWN', `${describeCall(effect)}: the resource host is stopped`)));
      }
      const hosted = this.options.directory.lookup(effect.resource);
      if (!hosted) {
        return answerOnly(failed(effect, clusterError('ERROR_RESOURCE_NOT_FOUND', `${describeCall(effect)}: resource ${JSON.stringify(effect.resource)} is not known to this node`)));
      }
      let type: ResourceType;
      try {
        type = this.typeInstance(hosted.type);
      } catch (e) {
        return answerOnly(failed(effect, this.errorOf(e, hosted.type, effect)));
      }
      // Results built inside carry effect.callId, so they are CallResult<Id>.
      this.start(effect, hosted, type, (r) => answerOnly(r as CallResult<Id>));
    });
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
    }
  }

  private start(effect: CallEffect, hosted: HostedResource, type: ResourceType, answer: (r: CallResult) => void): void {
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
    call.timers.push(
      clock.setTimer(effect.deadlineMs, () => this.deadlinePassed(call)),
      clock.setTimer(hosted.deadlockTimeoutMs, () => this.deadlocked(call)),
    );
    const ctx: EntryPointContext = {
      resource: effect.resource,
      parameters: { ...defaultsOf(type.descriptor.privateProperties), ...hosted.parameters },
      signal: call.abort.signal,
      deadlineMs: effect.deadlineMs,
      epoch: hosted.epoch,
      log: (message) => this.options.log({ level: 'INFO', component: 'RES', text: `${hosted.type} <${effect.resource}>: ${message}` }),
    };
    let running: Promise<unknown>;
    try {
      running = Promise.resolve(invoke(type, effect, ctx));
    } catch (e) {
      running = Promise.reject(e); // an entry point that throws before returning its promise
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
    if ((effect.entryPoint === 'looksAlive' || effect.entryPoint === 'isAlive') && value !== true) {
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
    for (const c of unit.inFlight) {
      for (const t of c.timers) this.options.clock.clearTimer(t);
      c.abort.abort();
      const detail =
        c === call
          ? `${describeCall(c.effect)} exceeded its DeadlockTimeout of ${call.deadlockTimeoutMs} ms; resource host ${unit.id} is restarted`
          : `${describeCall(c.effect)} was in flight in resource host ${unit.id}, which deadlocked on ${describeCall(effect)}`;
      this.finish(c, failed(c.effect, clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', detail)));
    }
    unit.inFlight.clear();
    // Replace the dead unit; the offender gets a unit of its own.
    if (unit.dedicatedTo === undefined) this.shared = this.newUnit(undefined);
    const isolated = this.newUnit(effect.resource);
    this.dedicated.set(effect.resource, isolated);
    this.options.onDeadlock?.({
      hostId: unit.id,
      resource: effect.resource,
      entryPoint: effect.entryPoint,
      deadlockTimeoutMs: call.deadlockTimeoutMs,
      resources: [...unit.resources].sort(),
      newHostId: isolated.id,
    });
  }

  private finish(call: InFlightCall, result: CallResult): void {
    if (call.answered) return;
    call.answered = true;
    call.answer(result);
  }

  private unitFor(resource: string): IsolationUnit {
    return this.dedicated.get(resource) ?? this.shared;
  }

  private newUnit(dedicatedTo: string | undefined): IsolationUnit {
    return { id: this.nextUnitId++, dedicatedTo, resources: new Set(), inFlight: new Set(), dead: false };
  }

  private errorOf(e: unknown, typeName: string, effect: CallEffect): ClusterErrorValue {
    if (isClusterError(e)) return e.toJSON();
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return clusterError('ERROR_EXCEPTION_IN_RESOURCE_CALL', `${typeName} <${effect.resource}>: ${effect.entryPoint} threw ${text}`);
  }
}

function invoke(type: ResourceType, effect: CallEffect, ctx: EntryPointContext): Promise<unknown> {
  switch (effect.entryPoint) {
    case 'control':
      return type.control(ctx, effect.control ?? { code: '' });
    default:
      return type[effect.entryPoint](ctx);
  }
}

function failed<Id extends CallId>(effect: CallEffect<Id>, error: ClusterErrorValue): CallResult<Id> {
  return { type: 'callResult', resource: effect.resource, callId: effect.callId, outcome: 'failed', error };
}

function describeCall(effect: CallEffect): string {
  return `${effect.entryPoint} of resource ${JSON.stringify(effect.resource)}`;
}
