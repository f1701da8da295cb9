// Resource types whose resources run as processes (Generic Application) are
// wrapped, on a node with a watchdog, so that:
// - every process they start carries the watchdog's mark and the node, the
//   resource and the group's ownership epoch (the fencing token) in its
//   environment (FAILOVER_NODE, FAILOVER_RESOURCE, FAILOVER_EPOCH);
// - the watchdog is told the process group of each running resource, as soon
//   as it exists, and told again when it is gone;
// - a resource stopped while its online was still running (an ownership loss
//   mid-online) is killed once that online returns, instead of running on,
//   unowned, after its start finished.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { ClusterError } from '../model/errors.ts';
import {
  ResourceTypeRegistry,
  type ControlRequest,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
} from '../types/resource-type.ts';
import type { ProcessGuard } from './watchdog.ts';

/** How often a starting resource is asked for its pid, so the watchdog hears of it within this long of the spawn. */
export const processGuardPidPollMs = 10;

/** The environment variables a guarded resource's processes get (besides the watchdog's mark). */
export const guardedEnvironment = {
  node: 'FAILOVER_NODE',
  resource: 'FAILOVER_RESOURCE',
  epoch: 'FAILOVER_EPOCH',
} as const;

/** A type instance that can say which process (group leader) runs a resource. */
interface ProcessBackedType extends ResourceType {
  pidOf(resource: string): number | undefined;
}

function isProcessBacked(t: ResourceType): t is ProcessBackedType {
  return typeof (t as Partial<ProcessBackedType>).pidOf === 'function';
}

/**
 * The same types, with the process-backed ones (those with an Environment
 * property whose instances report pids) wrapped to report to the guard.
 */
export function guardedResourceTypes(base: ResourceTypeRegistry, guard: ProcessGuard, node: string): ResourceTypeRegistry {
  const out = new ResourceTypeRegistry();
  for (const name of base.names()) {
    const def = base.get(name);
    const hasEnvironment = def.descriptor.privateProperties.some((p) => p.name === 'Environment' && p.kind === 'multiString');
    if (!hasEnvironment) {
      out.register(def);
      continue;
    }
    const wrapped: ResourceTypeDefinition = {
      descriptor: def.descriptor,
      create: (services) => {
        const inner = def.create(services);
        return isProcessBacked(inner) ? new GuardedProcessType(inner, guard, node, services.clock) : inner;
      },
    };
    out.register(wrapped);
  }
  return out;
}

class GuardedProcessType implements ResourceType {
  readonly descriptor: ResourceType['descriptor'];
  /** The process group reported to the watchdog for each resource. */
  private readonly reported = new Map<string, number>();
  /** Stops (offline/terminate/close) issued per resource: an online that sees it change was overtaken by one. */
  private readonly stops = new Map<string, number>();

  constructor(
    private readonly inner: ProcessBackedType,
    private readonly guard: ProcessGuard,
    private readonly node: string,
    private readonly clock: Clock,
  ) {
    this.descriptor = inner.descriptor;
  }

  pidOf(resource: string): number | undefined {
    return this.inner.pidOf(resource);
  }

  async open(ctx: EntryPointContext): Promise<void> {
    await this.inner.open(this.marked(ctx));
  }

  async close(ctx: EntryPointContext): Promise<void> {
    await this.stopping(ctx, () => this.inner.close(this.marked(ctx)));
  }

  async online(ctx: EntryPointContext): Promise<void> {
    const stopsBefore = this.stops.get(ctx.resource) ?? 0;
    const poll = this.pollPid(ctx.resource);
    try {
      await this.inner.online(this.marked(ctx));
    } finally {
      poll.stop();
      this.sync(ctx.resource);
    }
    if ((this.stops.get(ctx.resource) ?? 0) !== stopsBefore) {
      await this.inner.terminate(this.marked(ctx)).finally(() => this.sync(ctx.resource));
      throw new ClusterError('ERROR_OPERATION_ABORTED', `resource ${ctx.resource}: stopped while its online was running; the started process was killed`);
    }
  }

  async offline(ctx: EntryPointContext): Promise<void> {
    await this.stopping(ctx, () => this.inner.offline(this.marked(ctx)));
  }

  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.stopping(ctx, () => this.inner.terminate(this.marked(ctx)));
  }

  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.inner.looksAlive(this.marked(ctx));
  }

  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    // A health check is a process too: it carries the mark, so the watchdog kills it with the rest.
    return this.inner.isAlive(this.marked(ctx));
  }

  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    return this.inner.control(this.marked(ctx), request);
  }

  private async stopping(ctx: EntryPointContext, stop: () => Promise<void>): Promise<void> {
    this.stops.set(ctx.resource, (this.stops.get(ctx.resource) ?? 0) + 1);
    try {
      await stop();
    } finally {
      this.sync(ctx.resource);
    }
  }

  private marked(ctx: EntryPointContext): EntryPointContext {
    const given = ctx.parameters['Environment'];
    const environment = [
      ...(Array.isArray(given) ? given : []),
      this.guard.markEnvironment,
      `${guardedEnvironment.node}=${this.node}`,
      `${guardedEnvironment.resource}=${ctx.resource}`,
      `${guardedEnvironment.epoch}=${ctx.epoch}`,
    ];
    return { ...ctx, parameters: { ...ctx.parameters, Environment: environment } };
  }

  /** Reports the resource's current process group to the watchdog (or its end). */
  private sync(resource: string): void {
    const pid = this.inner.pidOf(resource);
    const before = this.reported.get(resource);
    if (pid === before) return;
    if (before !== undefined) this.guard.unguard(before);
    if (pid === undefined) this.reported.delete(resource);
    else {
      this.reported.set(resource, pid);
      this.guard.guard(pid, resource);
    }
  }

  /** While an online runs, reports the process group as soon as it exists. */
  private pollPid(resource: string): { stop(): void } {
    let timer: TimerHandle | undefined;
    let stopped = false;
    const tick = (): void => {
      timer = undefined;
      if (stopped) return;
      this.sync(resource);
      if (this.reported.get(resource) === undefined) timer = this.clock.setTimer(processGuardPidPollMs, tick);
    };
    timer = this.clock.setTimer(processGuardPidPollMs, tick);
    return {
      stop: () => {
        stopped = true;
        if (timer) this.clock.clearTimer(timer);
      },
    };
  }
}
