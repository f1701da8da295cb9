// The configuration a node was given, indexed for the RCM, and the per-resource
// limits read from WSFC common properties.
import { parseDependencies, providersOf, type ClusterErrorValue, type DependencyExpr, type ResourceConfig } from '../model/index.ts';
import type { RcmLimits } from './limits.ts';
import type { ClusterSnapshot, ConfigIndex } from './types.ts';

export const emptyConfig: ConfigIndex = {
  nodes: new Map(),
  groups: new Map(),
  resources: new Map(),
  types: new Map(),
  groupResources: new Map(),
  dependencies: new Map(),
  dependencyErrors: new Map(),
  dependents: new Map(),
};

export function indexConfig(snapshot: ClusterSnapshot): ConfigIndex {
  const groupResources = new Map<string, string[]>();
  for (const g of snapshot.groups) groupResources.set(g.name, []);
  const dependencies = new Map<string, DependencyExpr | undefined>();
  const dependencyErrors = new Map<string, ClusterErrorValue>();
  const dependents = new Map<string, string[]>();
  const resources = new Map<string, ResourceConfig>();
  for (const r of snapshot.resources) {
    // A resource of a group this snapshot does not have cannot be driven; the
    // database refuses such configurations, so this only guards the RCM.
    const members = groupResources.get(r.group);
    if (!members) continue;
    members.push(r.name);
    resources.set(r.name, r);
    dependents.set(r.name, dependents.get(r.name) ?? []);
  }
  for (const r of resources.values()) {
    const parsed = parseDependencies(r.dependencies);
    if (parsed !== undefined && 'code' in parsed) {
      dependencyErrors.set(r.name, parsed);
      continue;
    }
    dependencies.set(r.name, parsed);
    for (const p of providersOf(parsed)) {
      const list = dependents.get(p);
      if (list && !list.includes(r.name)) list.push(r.name);
    }
  }
  return {
    nodes: new Map(snapshot.nodes.map((n) => [n.name, n])),
    groups: new Map(snapshot.groups.map((g) => [g.name, g])),
    resources,
    types: new Map(snapshot.types.map((t) => [t.name, t])),
    groupResources,
    dependencies,
    dependencyErrors,
    dependents,
  };
}

/** The configuration with one resource's PersistentState changed (requests set it before the store echoes it back). */
export function withPersistentState(config: ConfigIndex, resource: string, value: 0 | 1): ConfigIndex {
  const r = config.resources.get(resource);
  if (!r || r.common.PersistentState === value) return config;
  const resources = new Map(config.resources);
  resources.set(resource, { ...r, common: { ...r.common, PersistentState: value } });
  return { ...config, resources };
}

export function canHost(config: ConfigIndex, resource: string, node: string): boolean {
  const owners = config.resources.get(resource)?.common.PossibleOwners ?? [];
  return owners.length === 0 || owners.includes(node);
}

export function providersOfResource(config: ConfigIndex, resource: string): string[] {
  return providersOf(config.dependencies.get(resource));
}

/** Online and offline calls, and the whole pending of either, are bounded by PendingTimeout. */
export function pendingTimeoutMs(r: ResourceConfig): number {
  return r.common.PendingTimeout;
}

/**
 * Open, close, terminate and health checks are bounded by DeadlockTimeout, like
 * WSFC's deadlock monitor; an open is also part of an online that may need it,
 * so it never takes longer than PendingTimeout either.
 */
export function shortCallDeadlineMs(r: ResourceConfig, entryPoint: 'open' | 'close' | 'terminate' | 'looksAlive' | 'isAlive'): number {
  return entryPoint === 'open' ? Math.min(r.common.DeadlockTimeout, r.common.PendingTimeout) : r.common.DeadlockTimeout;
}

export function pollIntervalsMs(config: ConfigIndex, limits: RcmLimits, r: ResourceConfig): { looksAlive: number; isAlive: number } {
  const type = config.types.get(r.type);
  return {
    looksAlive: r.common.LooksAlivePollInterval ?? type?.looksAlivePollIntervalMs ?? limits.looksAlivePollIntervalFallbackMs,
    isAlive: r.common.IsAlivePollInterval ?? type?.isAlivePollIntervalMs ?? limits.isAlivePollIntervalFallbackMs,
  };
}
