// The Dummy resource type: does nothing, slowly or badly on request. Its
// private properties make each entry point slow, hang or fail, so tests and
// demos can produce every path of the resource lifecycle.
//
//   <EntryPoint>DelayMs    the call takes this long (injected clock; ends early if aborted)
//   <EntryPoint>Hang       1: never finishes until the call's signal aborts;
//                          2: never finishes at all, ignoring the signal (deadlocked code);
//                          3: spins synchronously forever, blocking its thread (code stuck
//                          in a loop or a native call) — only where the type runs in a
//                          resource host process, which the node kills; refused elsewhere
//   <EntryPoint>Fail       a WSFC error code to fail with (0: succeed)
//   <EntryPoint>FailCount  fail only the first N calls (0: every call)
//   LooksAliveResult / IsAliveResult   1 alive, 0 not
//   OpenReadsDatabase      1: open reads the resource's Parameters from the cluster
//                          database, which fails with ERROR_SHARING_PAUSED until the
//                          database is available (the seed's failure)
//
// <EntryPoint> is the entry point's name capitalised: Open, Close, Online,
// Offline, Terminate, LooksAlive, IsAlive, Control.
import { ClusterError, errorByCode } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyDescriptor } from '../model/properties.ts';
import {
  entryPoints,
  unsupportedControl,
  type ControlRequest,
  type EntryPoint,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
  type ResourceTypeServices,
} from './resource-type.ts';
import { delay, untilAborted } from './waiting.ts';

export const DUMMY_TYPE_NAME = 'Dummy';

const HANG_UNTIL_ABORTED = 1;
const HANG_FOREVER = 2;
const SPIN_FOREVER = 3;

export function capitalised(ep: EntryPoint): string {
  return ep[0]!.toUpperCase() + ep.slice(1);
}

function behaviourProperties(ep: EntryPoint): PropertyDescriptor[] {
  const E = capitalised(ep);
  return [
    { name: `${E}DelayMs`, kind: 'dword', default: 0, min: 0, description: `ms the ${ep} call takes.` },
    { name: `${E}Hang`, kind: 'dword', default: 0, values: [0, HANG_UNTIL_ABORTED, HANG_FOREVER, SPIN_FOREVER], description: `1: ${ep} hangs until its deadline aborts it; 2: ${ep} hangs forever, ignoring the deadline; 3: ${ep} spins forever, blocking its resource host process.` },
    { name: `${E}Fail`, kind: 'dword', default: 0, min: 0, description: `WSFC error code ${ep} fails with; 0 to succeed.` },
    { name: `${E}FailCount`, kind: 'dword', default: 0, min: 0, description: `Fail only the first N ${ep} calls; 0: every call.` },
  ];
}

export const dummyDescriptor: ResourceTypeDescriptor = {
  name: DUMMY_TYPE_NAME,
  description: 'A resource that does nothing; its properties make entry points slow, hang or fail.',
  privateProperties: [
    ...entryPoints.flatMap(behaviourProperties),
    { name: 'LooksAliveResult', kind: 'dword', default: 1, values: [0, 1], description: 'What looksAlive answers.' },
    { name: 'IsAliveResult', kind: 'dword', default: 1, values: [0, 1], description: 'What isAlive answers.' },
    { name: 'OpenReadsDatabase', kind: 'dword', default: 1, values: [0, 1], description: 'Open reads the Parameters key from the cluster database.' },
  ],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

function numberParam(ctx: EntryPointContext, name: string): number {
  const v = ctx.parameters[name];
  return typeof v === 'number' ? v : 0;
}

export class DummyResourceType implements ResourceType {
  readonly descriptor = dummyDescriptor;
  /** Calls made per resource and entry point (failed ones included). */
  private readonly calls = new Map<string, number>();
  private readonly onlineResources = new Set<string>();

  constructor(private readonly services: ResourceTypeServices) {}

  callCount(resource: string, ep: EntryPoint): number {
    return this.calls.get(`${resource}\0${ep}`) ?? 0;
  }

  isOnline(resource: string): boolean {
    return this.onlineResources.has(resource);
  }

  /** Applies the configured delay, hang and failure of an entry point. */
  private async behave(ctx: EntryPointContext, ep: EntryPoint): Promise<void> {
    const key = `${ctx.resource}\0${ep}`;
    const call = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, call);
    const E = capitalised(ep);
    const what = `${DUMMY_TYPE_NAME} <${ctx.resource}>: ${ep}`;
    const delayMs = numberParam(ctx, `${E}DelayMs`);
    if (delayMs > 0) await delay(this.services.clock, delayMs, ctx.signal, what);
    const hang = numberParam(ctx, `${E}Hang`);
    if (hang === HANG_FOREVER) await new Promise<never>(() => {});
    if (hang === HANG_UNTIL_ABORTED) await untilAborted(ctx.signal, what);
    if (hang === SPIN_FOREVER) {
      // Blocking the thread would stall the whole node where the type runs in its process.
      if (!this.services.inHostProcess) throw new ClusterError('ERROR_NOT_SUPPORTED', `${what}: ${E}Hang=3 (spin forever) needs a resource host process`);
      for (;;);
    }
    const failCode = numberParam(ctx, `${E}Fail`);
    const failCount = numberParam(ctx, `${E}FailCount`);
    if (failCode !== 0 && (failCount === 0 || call <= failCount)) {
      const info = errorByCode(failCode);
      const detail = `${what} fails as configured (${E}Fail=${failCode}, call ${call})`;
      throw info ? new ClusterError(info.name, detail) : new ClusterError('ERROR_RESOURCE_FAILED', `${detail}; ${failCode} is not a known code`);
    }
  }

  async open(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'open');
    if (numberParam(ctx, 'OpenReadsDatabase') === 1) await this.services.clusterDatabase.readParameters(ctx.resource);
  }
  async close(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'close');
    this.onlineResources.delete(ctx.resource);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'online');
    this.onlineResources.add(ctx.resource);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'offline');
    this.onlineResources.delete(ctx.resource);
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.behave(ctx, 'terminate');
    this.onlineResources.delete(ctx.resource);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    await this.behave(ctx, 'looksAlive');
    return numberParam(ctx, 'LooksAliveResult') === 1;
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    await this.behave(ctx, 'isAlive');
    return numberParam(ctx, 'IsAliveResult') === 1;
  }
  /** Codes: "GetState" -> { online, calls: { [entryPoint]: count } }. */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    await this.behave(ctx, 'control');
    if (request.code !== 'GetState') unsupportedControl(DUMMY_TYPE_NAME, ctx.resource, request);
    return {
      online: this.onlineResources.has(ctx.resource),
      calls: Object.fromEntries(entryPoints.map((ep) => [ep, this.callCount(ctx.resource, ep)])),
    };
  }
}

export const dummyType: ResourceTypeDefinition = {
  descriptor: dummyDescriptor,
  create: (services) => new DummyResourceType(services),
  module: { url: import.meta.url, export: 'dummyType' },
};
