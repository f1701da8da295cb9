// The simulator's resource type. Like Dummy it does nothing, but its faults
// come from a board the simulator writes (per node, resource and entry point,
// for the next N calls), so a fault can hit one call on one node instead of
// every call everywhere as a private property would. Entry points take
// simulated time (a per-resource base delay on the injected clock). Open
// reads the resource's Parameters from the cluster database, so it fails with
// ERROR_SHARING_PAUSED (70) while the node's cluster API is held offline — the
// seed's start-up.
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { EntryPoint, EntryPointContext, ResourceType, ResourceTypeDefinition, ResourceTypeServices } from '../types/resource-type.ts';
import { unsupportedControl } from '../types/resource-type.ts';
import { delay, untilAborted } from '../types/waiting.ts';
import type { Incarnation, ResourceLedger } from './ledger.ts';

export const SIM_TYPE_NAME = 'SimResource';

/** How the next calls of an entry point misbehave. */
export type CallFaultKind =
  /** fails with a WSFC code (looksAlive/isAlive: answers "not alive": the resource fails while online) */
  | 'fail'
  /** hangs until its deadline aborts it */
  | 'hang'
  /** hangs forever, ignoring the abort (deadlocked code: the host's DeadlockTimeout must catch it) */
  | 'hangForever'
  /** throws something that is not a ClusterError (a crash inside the resource DLL) */
  | 'throw'
  /** takes delayMs longer than usual */
  | 'slow';

export const callFaultKinds: readonly CallFaultKind[] = ['fail', 'hang', 'hangForever', 'throw', 'slow'];

export interface CallFault {
  readonly kind: CallFaultKind;
  /** Calls it applies to. */
  readonly calls: number;
  /** For 'slow'. */
  readonly delayMs?: number;
}

export const simDescriptor: ResourceTypeDescriptor = {
  name: SIM_TYPE_NAME,
  description: 'A simulated resource: takes simulated time; its faults are injected per node and call by the simulator.',
  privateProperties: [],
  looksAlivePollIntervalMs: 2_000,
  isAlivePollIntervalMs: 10_000,
};

function faultKey(node: string, resource: string, ep: EntryPoint): string {
  return `${node}\0${resource}\0${ep}`;
}

/** Faults armed by the simulator and the base delays of every resource's entry points. */
export class FaultBoard {
  private readonly faults = new Map<string, { fault: CallFault; left: number }>();
  private readonly baseDelays = new Map<string, number>();
  /** Calls that hit an armed fault, by kind (for the summary). */
  readonly hits = new Map<CallFaultKind, number>();

  setBaseDelay(resource: string, ep: EntryPoint, ms: number): void {
    this.baseDelays.set(`${resource}\0${ep}`, ms);
  }

  baseDelay(resource: string, ep: EntryPoint): number {
    return this.baseDelays.get(`${resource}\0${ep}`) ?? 0;
  }

  arm(node: string, resource: string, ep: EntryPoint, fault: CallFault): void {
    this.faults.set(faultKey(node, resource, ep), { fault, left: fault.calls });
  }

  /** Uses up one call of the fault armed for this call, if any. */
  take(node: string, resource: string, ep: EntryPoint): CallFault | undefined {
    const key = faultKey(node, resource, ep);
    const armed = this.faults.get(key);
    if (!armed) return undefined;
    if (--armed.left <= 0) this.faults.delete(key);
    this.hits.set(armed.fault.kind, (this.hits.get(armed.fault.kind) ?? 0) + 1);
    return armed.fault;
  }

  /** Heals every entry point (calls already hanging stay hung until their deadline). */
  clear(): void {
    this.faults.clear();
  }

  get armedCount(): number {
    return this.faults.size;
  }
}

/** Where a node's simulated resources record what runs, and how the simulation deliberately breaks the shell (its self-test). */
export interface SimRunning {
  readonly ledger: ResourceLedger;
  readonly life: Incarnation;
  /** A broken shell: offline reports success without the call reaching the resource. */
  readonly offlineWithoutStopping?: boolean;
}

class SimResourceType implements ResourceType {
  readonly descriptor = simDescriptor;

  constructor(
    private readonly node: string,
    private readonly board: FaultBoard,
    private readonly running: SimRunning,
    private readonly services: ResourceTypeServices,
  ) {}

  /** Applies the armed fault, then the resource's base delay. Returns false if a health check is to fail. */
  private async behave(ctx: EntryPointContext, ep: EntryPoint): Promise<boolean> {
    const what = `${SIM_TYPE_NAME} <${ctx.resource}> on ${this.node}: ${ep}`;
    const fault = this.board.take(this.node, ctx.resource, ep);
    let alive = true;
    switch (fault?.kind) {
      case undefined:
        break;
      case 'fail':
        if (ep === 'looksAlive' || ep === 'isAlive') alive = false;
        else throw new ClusterError('ERROR_RESOURCE_FAILED', `${what} fails (simulated fault)`);
        break;
      case 'hang':
        await untilAborted(ctx.signal, what);
        break;
      case 'hangForever':
        await new Promise<never>(() => {});
        break;
      case 'throw':
        throw new TypeError(`${what} crashed (simulated fault)`);
      case 'slow':
        await delay(this.services.clock, fault.delayMs ?? 0, ctx.signal, what);
        break;
    }
    const base = this.board.baseDelay(ctx.resource, ep);
    if (base > 0) await delay(this.services.clock, base, ctx.signal, what);
    return alive;
  }

  async open(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'open');
    await this.services.clusterDatabase.readParameters(ctx.resource);
  }
  async close(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'close');
  }
  /** Runs from the call's start; an online that fails leaves nothing running. */
  async online(ctx: EntryPointContext): Promise<void> {
    const { ledger, life } = this.running;
    ledger.started(life, ctx.resource);
    try {
      await this.behave(ctx, 'online');
    } catch (e) {
      ledger.stopped(life, ctx.resource);
      throw e;
    }
  }
  /** Stopped once the offline succeeded; a failed one leaves it running. */
  async offline(ctx: EntryPointContext): Promise<void> {
    if (this.running.offlineWithoutStopping) return;
    await this.behave(ctx, 'offline');
    this.running.ledger.stopped(this.running.life, ctx.resource);
  }
  /** Kills at once, whatever the call reports afterwards. */
  async terminate(ctx: EntryPointContext): Promise<void> {
    this.running.ledger.stopped(this.running.life, ctx.resource);
    await this.behave(ctx, 'terminate');
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.behave(ctx, 'looksAlive');
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.behave(ctx, 'isAlive');
  }
  async control(ctx: EntryPointContext, request: { code: string }): Promise<unknown> {
    return unsupportedControl(SIM_TYPE_NAME, ctx.resource, request);
  }
}

/** The type as one node knows it: its calls look up that node's faults. */
export function simResourceType(node: string, board: FaultBoard, running: SimRunning): ResourceTypeDefinition {
  return { descriptor: simDescriptor, create: (services) => new SimResourceType(node, board, running, services) };
}
