// The configuration a node was given, indexed for the RCM, and the per-resource
// limits read from WSFC common properties.
import { parseDependencies, providersOf, type ClusterErrorValue, type DependencyExpr, type ResourceConfig } from '../model/index.ts';
import type { RcmLimits } from './limits.ts';
import type { ClusterSnapshot, ConfigDelta, ConfigIndex } from './types.ts';
import { PersistentMap } from './persistent-map.ts';

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
  return updateConfigIndex(emptyConfig, {
    nodes: snapshot.nodes,
    types: snapshot.types,
    groups: snapshot.groups.map((g) => ({ name: g.name, config: g })),
    resources: snapshot.resources.map((r) => ({ name: r.name, config: r })),
  });
}

/**
 * The index with a delta applied. The maps are persistent, so this costs what
 * the delta names. A resource of a group the configuration does not have
 * cannot be driven; the database refuses such configurations, so that only
 * guards the RCM.
 */
/** Resources of a group are kept in name order, case-insensitively, however they arrived. */
function byName(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export function updateConfigIndex(previous: ConfigIndex, delta: ConfigDelta): ConfigIndex {
  const groups = PersistentMap.from(previous.groups).edit();
  const resources = PersistentMap.from(previous.resources).edit();
  const groupResources = PersistentMap.from(previous.groupResources).edit();
  const dependencies = PersistentMap.from(previous.dependencies).edit();
  const dependencyErrors = PersistentMap.from(previous.dependencyErrors).edit();
  const dependents = PersistentMap.from(previous.dependents).edit();
  const editMembers = (group: string, change: (members: readonly string[]) => readonly string[]): void => {
    const members = groupResources.get(group);
    if (members) groupResources.set(group, change(members));
  };
  const editDependents = (provider: string, change: (list: readonly string[]) => readonly string[]): void => {
    const list = dependents.get(provider);
    if (list) dependents.set(provider, change(list));
  };
  const unlink = (name: string): void => {
    const old = resources.get(name);
    if (!old) return;
    editMembers(old.group, (m) => m.filter((n) => n !== name));
    for (const p of providersOf(dependencies.get(name))) editDependents(p, (l) => l.filter((n) => n !== name));
    resources.delete(name);
    dependencies.delete(name);
    dependencyErrors.delete(name);
  };
  for (const { name, config } of delta.groups) {
    if (!config) {
      for (const member of groupResources.get(name) ?? []) unlink(member);
      groups.delete(name);
      groupResources.delete(name);
      continue;
    }
    groups.set(name, config);
    if (!groupResources.has(name)) groupResources.set(name, []);
  }
  const added: ResourceConfig[] = [];
  for (const { name, config } of delta.resources) {
    unlink(name);
    if (!config) {
      // A resource deleted while others still name it keeps its (empty) dependents entry until they change.
      continue;
    }
    if (!groupResources.has(config.group)) continue;
    editMembers(config.group, (m) => [...m, config.name].sort(byName));
    resources.set(config.name, config);
    if (!dependents.has(config.name)) dependents.set(config.name, []);
    added.push(config);
  }
  for (const r of added) {
    const parsed = parseDependencies(r.dependencies);
    if (parsed !== undefined && 'code' in parsed) {
      dependencyErrors.set(r.name, parsed);
      continue;
    }
    dependencies.set(r.name, parsed);
    for (const p of providersOf(parsed)) {
      if (!dependents.has(p)) continue;
      editDependents(p, (l) => (l.includes(r.name) ? l : [...l, r.name]));
    }
  }
  return {
    nodes: delta.nodes ? new Map(delta.nodes.map((n) => [n.name, n])) : previous.nodes,
    types: delta.types ? new Map(delta.types.map((t) => [t.name, t])) : previous.types,
    groups: groups.seal(),
    resources: resources.seal(),
    groupResources: groupResources.seal(),
    dependencies: dependencies.seal(),
    dependencyErrors: dependencyErrors.seal(),
    dependents: dependents.seal(),
  };
}

/** The configuration with one resource's PersistentState changed (requests set it before the store echoes it back). */
export function withPersistentState(config: ConfigIndex, resource: string, value: 0 | 1): ConfigIndex {
  const r = config.resources.get(resource);
  if (!r || r.common.PersistentState === value) return config;
  const resources = PersistentMap.from(config.resources).edit();
  resources.set(resource, { ...r, common: { ...r.common, PersistentState: value } });
  return { ...config, resources: resources.seal() };
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
