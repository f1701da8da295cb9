// What a WSFC "validate" would flag in a configuration (a file, or the running
// cluster exported): unknown types, wrong properties, broken or cyclic
// dependencies, owners that are not nodes, resources or groups no node can
// host, groups that cannot fail over, and the KB2893882 pattern. Pure: the
// caller supplies the nodes and types it knows.
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { nameProblem } from '../model/objects.ts';
import { groupCommonProperties, resourceCommonProperties, validateProperties } from '../model/properties.ts';
import { parseDependencies, providersOf, validateDependencies, type DependencyExpr } from '../model/dependency.ts';
import type { ErrorName } from '../model/errors.ts';
import type { ConfigDocument } from './document.ts';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  readonly severity: Severity;
  /** The object concerned, e.g. 'resource "Disk"'. */
  readonly object: string;
  readonly message: string;
  readonly code?: ErrorName;
}

export interface ValidationContext {
  /** Node names; undefined when unknown (no cluster and no `nodes:` in the file). */
  readonly nodes?: readonly string[];
  /** Resource types; undefined when unknown (no cluster to ask). */
  readonly types?: readonly ResourceTypeDescriptor[];
}

const q = JSON.stringify;

export function validateConfig(doc: ConfigDocument, context: ValidationContext): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Severity, object: string, message: string, code?: ErrorName): void => void out.push({ severity, object, message, ...(code ? { code } : {}) });
  const nodes = context.nodes;
  if (!nodes) add('info', 'cluster', 'nodes are unknown (no cluster and no "nodes:" in the file): owner checks skipped');
  if (!context.types) add('info', 'cluster', 'resource types are unknown (no cluster): type and parameter checks skipped');

  // Resource names are unique in the cluster, whichever group they are in.
  const groupOf = new Map<string, string>();
  for (const [gname, g] of Object.entries(doc.groups)) {
    const gp = nameProblem('group', gname);
    if (gp) add('error', `group ${q(gname)}`, gp, 'ERROR_INVALID_NAME');
    for (const rname of Object.keys(g.resources ?? {})) {
      const other = groupOf.get(rname);
      if (other !== undefined) add('error', `resource ${q(rname)}`, `is defined in groups ${q(other)} and ${q(gname)}; resource names are unique in the cluster`, 'ERROR_OBJECT_ALREADY_EXISTS');
      else groupOf.set(rname, gname);
      const rp = nameProblem('resource', rname);
      if (rp) add('error', `resource ${q(rname)}`, rp, 'ERROR_INVALID_NAME');
    }
  }

  const exprs = new Map<string, DependencyExpr | undefined>();
  for (const g of Object.values(doc.groups)) {
    for (const [rname, r] of Object.entries(g.resources ?? {})) {
      const parsed = parseDependencies(r.dependencies ?? '');
      if (parsed && 'code' in parsed) {
        add('error', `resource ${q(rname)}`, parsed.message, parsed.name);
        exprs.set(rname, undefined);
      } else exprs.set(rname, parsed);
    }
  }

  const checkOwners = (object: string, property: string, list: unknown): void => {
    if (!nodes || !Array.isArray(list)) return;
    for (const n of list) if (!nodes.includes(n as string)) add('error', object, `${property} names ${q(n)}, which is not a node of the cluster (${nodes.join(', ')})`, 'ERROR_CLUSTER_NODE_NOT_FOUND');
  };

  for (const [gname, g] of Object.entries(doc.groups)) {
    const gobj = `group ${q(gname)}`;
    const gprops = (g.properties ?? {}) as Record<string, unknown>;
    const perr = validateProperties(gobj, groupCommonProperties, gprops);
    if (perr) add('error', gobj, perr.message, perr.name);
    checkOwners(gobj, 'PreferredOwners', gprops.PreferredOwners);
    if (gprops.FailoverThreshold === 0) add('warning', gobj, 'FailoverThreshold is 0: the group never fails over to another node');
    if (gprops.Priority === 0) add('info', gobj, 'Priority is 0: the group is not started automatically');

    // Which nodes can host every resource of the group.
    let hostable: string[] | undefined = nodes ? [...nodes] : undefined;
    for (const [rname, r] of Object.entries(g.resources ?? {})) {
      const robj = `resource ${q(rname)}`;
      const rprops = (r.properties ?? {}) as Record<string, unknown>;
      if (g.state !== undefined && rprops.PersistentState !== undefined && rprops.PersistentState !== (g.state === 'online' ? 1 : 0)) {
        add('error', robj, `PersistentState ${String(rprops.PersistentState)} contradicts its group's state: ${g.state} (leave PersistentState out: the group's state sets it)`, 'ERROR_INVALID_PARAMETER');
      }
      const rerr = validateProperties(robj, resourceCommonProperties, rprops);
      if (rerr) add('error', robj, rerr.message, rerr.name);
      checkOwners(robj, 'PossibleOwners', rprops.PossibleOwners);
      if (context.types) {
        const t = context.types.find((x) => x.name === r.type);
        if (!t) add('error', robj, `unknown resource type ${q(r.type)} (known: ${context.types.map((x) => x.name).join(', ')})`, 'ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND');
        else {
          const perr2 = validateProperties(`${robj} (type ${q(t.name)})`, t.privateProperties, (r.parameters ?? {}) as Record<string, unknown>);
          if (perr2) add('error', robj, perr2.message, perr2.name);
        }
      }
      const owners = Array.isArray(rprops.PossibleOwners) ? (rprops.PossibleOwners as string[]) : [];
      if (owners.length > 0 && nodes) {
        const real = owners.filter((n) => nodes.includes(n));
        if (real.length === 0) add('error', robj, 'no possible owner is a node of the cluster: no node can host this resource', 'ERROR_NODE_CANT_HOST_RESOURCE');
        hostable = hostable?.filter((n) => real.includes(n));
      }
      const expr = exprs.get(rname);
      const derr = validateDependencies(rname, expr, (n) => groupOf.get(n), (n) => providersOf(exprs.get(n)));
      if (derr) add('error', robj, derr.message, derr.name);
      // KB2893882: a dependent that comes online by itself brings up a provider meant to stay offline.
      for (const p of providersOf(expr)) {
        const provider = g.resources?.[p];
        const providerState = (provider?.properties as Record<string, unknown> | undefined)?.PersistentState;
        const mine = rprops.PersistentState ?? 1;
        if (provider && providerState === 0 && mine === 1) {
          add('warning', robj, `depends on ${q(p)}, whose PersistentState is 0: bringing ${q(rname)} online (e.g. after a move) brings ${q(p)} online too (the KB2893882 pattern)`);
        }
      }
    }
    if (hostable && nodes && Object.keys(g.resources ?? {}).length > 0) {
      if (hostable.length === 0) add('error', gobj, 'no node is a possible owner of every resource in the group: it cannot be brought online anywhere', 'ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST');
      else if (hostable.length === 1 && nodes.length > 1) add('warning', gobj, `only ${q(hostable[0])} can host it: the group cannot fail over after a failure of that node`);
      const preferred = Array.isArray(gprops.PreferredOwners) ? (gprops.PreferredOwners as string[]) : [];
      for (const p of preferred) {
        if (nodes.includes(p) && !hostable.includes(p)) add('warning', gobj, `preferred owner ${q(p)} cannot host every resource of the group (not a possible owner of all of them)`);
      }
    }
  }

  // Anti-affinity: more groups in one class than nodes cannot all be kept apart.
  if (nodes) {
    const classes = new Map<string, string[]>();
    for (const [gname, g] of Object.entries(doc.groups)) {
      const names = (g.properties as Record<string, unknown> | undefined)?.AntiAffinityClassNames;
      if (Array.isArray(names)) for (const c of names as string[]) classes.set(c, [...(classes.get(c) ?? []), gname]);
    }
    for (const [c, groups] of classes) {
      if (groups.length > nodes.length) add('warning', `anti-affinity class ${q(c)}`, `${groups.length} groups (${groups.join(', ')}) share it but there are only ${nodes.length} nodes: some will share a node`);
    }
  }
  return out;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
