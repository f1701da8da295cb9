// What can happen to a simulated cluster in one step: faults (the world
// misbehaving) and operator actions (through the cluster API). Random runs
// draw them from the seed; scenario files script them. Both use these types.
import type { EntryPoint } from '../types/resource-type.ts';
import type { CallFaultKind } from './sim-type.ts';
import type { Prng } from './prng.ts';
import { simLimits } from './limits.ts';

export type SimAction =
  // ---- faults ----
  | { readonly kind: 'crashNode'; readonly node: string }
  | { readonly kind: 'restartNode'; readonly node: string; readonly holdApiOffline?: boolean }
  | { readonly kind: 'partition'; readonly node: string; readonly durationMs: number }
  | { readonly kind: 'slowStore'; readonly node: string; readonly delayMs: number; readonly durationMs: number }
  /** The store crashes, losing what its disk had not synced, and recovers after durationMs. */
  | { readonly kind: 'crashStore'; readonly durationMs: number }
  /** Every sync of the store's disk takes syncDelayMs for durationMs. */
  | { readonly kind: 'slowDisk'; readonly syncDelayMs: number; readonly durationMs: number }
  | {
      readonly kind: 'callFault';
      readonly node: string;
      readonly resource: string;
      readonly entryPoint: EntryPoint;
      readonly fault: CallFaultKind;
      readonly calls: number;
      readonly delayMs?: number;
    }
  | { readonly kind: 'apiOnline'; readonly node: string }
  // ---- operator actions ----
  | { readonly kind: 'moveGroup'; readonly group: string; readonly to?: string; readonly returnToSourceOnError?: boolean }
  | { readonly kind: 'onlineGroup' | 'offlineGroup'; readonly group: string }
  | { readonly kind: 'onlineResource' | 'offlineResource' | 'failResource' | 'resetResource'; readonly resource: string }
  | { readonly kind: 'setPersistentState'; readonly resource: string; readonly value: 0 | 1 }
  | { readonly kind: 'addDependency' | 'removeDependency'; readonly resource: string; readonly provider: string }
  | { readonly kind: 'pauseNode' | 'resumeNode'; readonly node: string };

export type SimActionKind = SimAction['kind'];

export const faultKinds = ['crashNode', 'restartNode', 'partition', 'slowStore', 'crashStore', 'slowDisk', 'callFault', 'apiOnline'] as const;
export const operatorKinds = [
  'moveGroup',
  'onlineGroup',
  'offlineGroup',
  'onlineResource',
  'offlineResource',
  'failResource',
  'resetResource',
  'setPersistentState',
  'addDependency',
  'removeDependency',
  'pauseNode',
  'resumeNode',
] as const;
export const actionKinds: readonly SimActionKind[] = [...faultKinds, ...operatorKinds];

export function isFault(a: SimAction): boolean {
  return (faultKinds as readonly string[]).includes(a.kind);
}

/** One line describing an action, for events and reports. */
export function describeAction(a: SimAction): string {
  switch (a.kind) {
    case 'crashNode':
    case 'apiOnline':
    case 'pauseNode':
    case 'resumeNode':
      return `${a.kind} ${a.node}`;
    case 'restartNode':
      return `restartNode ${a.node}${a.holdApiOffline ? ' (cluster API held offline)' : ''}`;
    case 'partition':
      return `partition ${a.node} from the store for ${a.durationMs} ms`;
    case 'slowStore':
      return `slowStore ${a.node}: ${a.delayMs} ms per request for ${a.durationMs} ms`;
    case 'crashStore':
      return `crashStore: down for ${a.durationMs} ms`;
    case 'slowDisk':
      return `slowDisk: ${a.syncDelayMs} ms per sync for ${a.durationMs} ms`;
    case 'callFault':
      return `callFault ${a.node} ${a.resource}.${a.entryPoint}: ${a.fault}${a.delayMs !== undefined ? ` ${a.delayMs} ms` : ''} x${a.calls}`;
    case 'moveGroup':
      return `moveGroup ${a.group} to ${a.to ?? 'best'}${a.returnToSourceOnError ? ' (return on error)' : ''}`;
    case 'onlineGroup':
    case 'offlineGroup':
      return `${a.kind} ${a.group}`;
    case 'onlineResource':
    case 'offlineResource':
    case 'failResource':
    case 'resetResource':
      return `${a.kind} ${a.resource}`;
    case 'setPersistentState':
      return `setPersistentState ${a.resource}=${a.value}`;
    case 'addDependency':
    case 'removeDependency':
      return `${a.kind} ${a.resource} on ${a.provider}`;
  }
}

/** What random generation needs to know of the cluster right now. */
export interface ActionContext {
  readonly nodes: readonly string[];
  readonly runningNodes: readonly string[];
  readonly downNodes: readonly string[];
  readonly apiOfflineNodes: readonly string[];
  readonly groups: readonly string[];
  /** Resources by group, in configuration order. */
  readonly resourcesOf: (group: string) => readonly string[];
  /** Direct providers of a resource (from its dependency expression). */
  readonly providersOf: (resource: string) => readonly string[];
}

/** The fault mix of one run: how often each kind is chosen. Drawn per seed, so seeds differ in kind, not only in detail. */
export type ActionMix = Readonly<Record<SimActionKind, number>>;

export function drawMix(prng: Prng): ActionMix {
  const weights = [0, 1, 2, 4] as const;
  const mix = {} as Record<SimActionKind, number>;
  for (const k of actionKinds) mix[k] = prng.pick(weights);
  // Restarts follow crashes, and an API held offline must come online: these are never left out when their cause is in.
  if (mix.crashNode > 0 && mix.restartNode === 0) mix.restartNode = 1;
  mix.apiOnline = Math.max(mix.apiOnline, 1);
  // A store crash fences every node and replays the store's whole log: kept rarer than the other faults.
  mix.crashStore = Math.min(mix.crashStore, simLimits.crashStoreWeightMax);
  if (actionKinds.every((k) => mix[k] === 0)) mix.moveGroup = 1;
  return mix;
}

const entryPointsFaulted: readonly EntryPoint[] = ['open', 'online', 'offline', 'looksAlive', 'isAlive', 'close'];

/**
 * Draws one action of the given kind that makes sense now, or undefined when
 * none does (no down node to restart, ...).
 */
export function drawAction(prng: Prng, kind: SimActionKind, c: ActionContext): SimAction | undefined {
  const allResources = c.groups.flatMap((g) => c.resourcesOf(g));
  const anyResource = (): string | undefined => (allResources.length > 0 ? prng.pick(allResources) : undefined);
  switch (kind) {
    case 'crashNode':
      return c.runningNodes.length > 0 ? { kind, node: prng.pick(c.runningNodes) } : undefined;
    case 'restartNode':
      return c.downNodes.length > 0 ? { kind, node: prng.pick(c.downNodes), holdApiOffline: prng.chance(0.3) } : undefined;
    case 'partition':
      return c.runningNodes.length > 0
        ? { kind, node: prng.pick(c.runningNodes), durationMs: prng.int(simLimits.partitionMsMin, simLimits.partitionMsMax) }
        : undefined;
    case 'slowStore':
      return c.runningNodes.length > 0
        ? {
            kind,
            node: prng.pick(c.runningNodes),
            delayMs: prng.int(simLimits.slowStoreDelayMsMin, simLimits.slowStoreDelayMsMax),
            durationMs: prng.int(simLimits.slowStoreDurationMsMin, simLimits.slowStoreDurationMsMax),
          }
        : undefined;
    case 'crashStore':
      return { kind, durationMs: prng.int(simLimits.storeDownMsMin, simLimits.storeDownMsMax) };
    case 'slowDisk':
      return {
        kind,
        syncDelayMs: prng.int(simLimits.slowDiskSyncMsMin, simLimits.slowDiskSyncMsMax),
        durationMs: prng.int(simLimits.slowDiskDurationMsMin, simLimits.slowDiskDurationMsMax),
      };
    case 'callFault': {
      const resource = anyResource();
      if (resource === undefined || c.nodes.length === 0) return undefined;
      const entryPoint = prng.pick(entryPointsFaulted);
      const health = entryPoint === 'looksAlive' || entryPoint === 'isAlive';
      // A failing health check is a resource failing while online; the other kinds apply to every entry point.
      const fault = health && prng.chance(0.6) ? 'fail' : prng.pick(['fail', 'hang', 'hangForever', 'throw', 'slow'] as const);
      return {
        kind,
        node: prng.pick(c.nodes),
        resource,
        entryPoint,
        fault,
        calls: prng.int(1, simLimits.callFaultCallsMax),
        ...(fault === 'slow' ? { delayMs: prng.int(100, simLimits.slowCallDelayMsMax) } : {}),
      };
    }
    case 'apiOnline':
      return c.apiOfflineNodes.length > 0 ? { kind, node: prng.pick(c.apiOfflineNodes) } : undefined;
    case 'moveGroup':
      if (c.groups.length === 0) return undefined;
      return {
        kind,
        group: prng.pick(c.groups),
        ...(prng.chance(0.7) ? { to: prng.pick(c.nodes) } : {}),
        ...(prng.chance(0.3) ? { returnToSourceOnError: true } : {}),
      };
    case 'onlineGroup':
    case 'offlineGroup':
      return c.groups.length > 0 ? { kind, group: prng.pick(c.groups) } : undefined;
    case 'onlineResource':
    case 'offlineResource':
    case 'failResource':
    case 'resetResource': {
      const resource = anyResource();
      return resource === undefined ? undefined : { kind, resource };
    }
    case 'setPersistentState': {
      const resource = anyResource();
      return resource === undefined ? undefined : { kind, resource, value: prng.chance(0.6) ? 1 : 0 };
    }
    case 'addDependency': {
      const group = c.groups.length > 0 ? prng.pick(c.groups) : undefined;
      const members = group === undefined ? [] : c.resourcesOf(group);
      if (members.length < 2) return undefined;
      const resource = prng.pick(members);
      const provider = prng.pick(members.filter((m) => m !== resource));
      return { kind, resource, provider };
    }
    case 'removeDependency': {
      const withProviders = allResources.filter((r) => c.providersOf(r).length > 0);
      if (withProviders.length === 0) return undefined;
      const resource = prng.pick(withProviders);
      return { kind, resource, provider: prng.pick(c.providersOf(resource)) };
    }
    case 'pauseNode':
    case 'resumeNode':
      return c.nodes.length > 0 ? { kind, node: prng.pick(c.nodes) } : undefined;
  }
}
