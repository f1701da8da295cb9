// The running cluster as a configuration document: read through the
// ClusterApi, with every property (for comparing) or with defaults left out
// (for export, so the file shows what was chosen, not what was inherited).
import type { ClusterApi } from '../api/types.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { formatDependencies, parseDependencies } from '../model/dependency.ts';
import { groupCommonProperties, propertyIndex, resourceCommonProperties, type PropertyDescriptor, type PropertyValue } from '../model/properties.ts';
import { CONFIG_VERSION, type ConfigDocument, type GroupSpec, type GroupState } from './document.ts';

export interface RunningCluster {
  /** Every property and parameter as the cluster holds it. */
  readonly full: ConfigDocument;
  readonly nodes: string[];
  readonly types: ResourceTypeDescriptor[];
}

export async function readRunning(api: ClusterApi): Promise<RunningCluster> {
  const [nodes, types, groups, resources] = await Promise.all([api.listNodes(), api.listResourceTypes(), api.listGroups(), api.listResources()]);
  const doc: ConfigDocument = { version: CONFIG_VERSION, nodes: nodes.map((n) => n.name), groups: {} };
  for (const g of groups) doc.groups[g.name] = { properties: { ...g.common }, resources: {} };
  for (const r of resources) {
    const g = (doc.groups[r.group] ??= { properties: {}, resources: {} });
    (g.resources ??= {})[r.name] = {
      type: r.type,
      properties: { ...r.common },
      parameters: { ...r.parameters },
      ...(r.dependencies ? { dependencies: canonicalDependencies(r.dependencies) } : {}),
    };
  }
  return { full: doc, nodes: nodes.map((n) => n.name), types };
}

/** The canonical text of an expression, so "[A]  AND [B]" and "[A] and [B]" compare equal. */
export function canonicalDependencies(text: string | undefined): string {
  if (!text || text.trim() === '') return '';
  const parsed = parseDependencies(text);
  return parsed && 'code' in parsed ? text : formatDependencies(parsed);
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

function withoutDefaults(values: Readonly<Record<string, unknown>>, schema: readonly PropertyDescriptor[]): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const d = propertyIndex(schema).byName.get(k);
    if (d?.default !== undefined && sameValue(d.default, v)) continue;
    out[k] = v as PropertyValue;
  }
  return out;
}

/** A group's state when every resource has the same PersistentState (1: online, 0: offline); else none. */
export function groupState(g: GroupSpec): GroupState | undefined {
  const states = new Set(Object.values(g.resources ?? {}).map((r) => r.properties?.PersistentState ?? 1));
  if (states.size !== 1) return undefined;
  return states.has(1) ? 'online' : 'offline';
}

/** The export form: each group's state where its resources agree, only non-default properties and parameters; empty sections left out. */
export function toExport(running: RunningCluster): ConfigDocument {
  const groups: Record<string, GroupSpec> = {};
  for (const [gname, g] of Object.entries(running.full.groups)) {
    const spec: GroupSpec = {};
    const state = groupState(g);
    if (state !== undefined) spec.state = state;
    const props = withoutDefaults(g.properties ?? {}, groupCommonProperties);
    if (Object.keys(props).length > 0) spec.properties = props as GroupSpec['properties'];
    for (const [rname, r] of Object.entries(g.resources ?? {})) {
      const schema = running.types.find((t) => t.name === r.type)?.privateProperties ?? [];
      const rprops = withoutDefaults(r.properties ?? {}, resourceCommonProperties);
      if (state !== undefined) delete rprops.PersistentState; // the group's state says it
      const params = withoutDefaults(r.parameters ?? {}, schema);
      (spec.resources ??= {})[rname] = {
        type: r.type,
        ...(Object.keys(rprops).length > 0 ? { properties: rprops } : {}),
        ...(Object.keys(params).length > 0 ? { parameters: params } : {}),
        ...(r.dependencies ? { dependencies: r.dependencies } : {}),
      };
    }
    groups[gname] = spec;
  }
  return { version: CONFIG_VERSION, nodes: running.nodes, groups };
}
