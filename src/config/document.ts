// The declarative configuration file: the cluster's groups, resources,
// properties, parameters and dependencies as YAML (docs/configuration.md).
// Parsing checks the file's shape and collects every problem with its path,
// so one run shows everything that is wrong.
import YAML from 'yaml';
import { ClusterError } from '../model/errors.ts';
import type { GroupCommon, ResourceCommon } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';

export const CONFIG_VERSION = 1;

export interface ResourceSpec {
  type: string;
  properties?: Partial<ResourceCommon>;
  parameters?: Record<string, PropertyValue>;
  /** Dependency expression, e.g. "[Disk] and [IP]"; absent: none. */
  dependencies?: string;
}

/** A group's desired state: every resource's PersistentState (online 1, offline 0). */
export type GroupState = 'online' | 'offline';
export const GROUP_STATES: readonly GroupState[] = ['online', 'offline'];

export interface GroupSpec {
  /** Absent: each resource's own PersistentState (default 1) decides. */
  state?: GroupState;
  properties?: Partial<GroupCommon>;
  resources?: Record<string, ResourceSpec>;
}

export interface ConfigDocument {
  version: number;
  /** The nodes the configuration expects; checked by validate, never created by apply. */
  nodes?: string[];
  groups: Record<string, GroupSpec>;
}

const yamlOptions = { customTags: ['binary' as const] };

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function normaliseValue(v: unknown): unknown {
  // yaml returns Buffers for !!binary; the API speaks plain Uint8Array.
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(normaliseValue);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normaliseValue(x)]));
  return v;
}

const at = (...parts: string[]): string => parts.map((p, i) => (i === 0 ? p : /^[A-Za-z_][\w]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');

/** Parses and shape-checks a configuration file; throws one ClusterError listing every problem found. */
export function parseConfig(text: string, source = 'configuration'): ConfigDocument {
  const doc = YAML.parseDocument(text, yamlOptions);
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${source}:${e.linePos?.[0]?.line ?? '?'}:${e.linePos?.[0]?.col ?? '?'}: ${e.message.split('\n')[0]}`);
    throw new ClusterError('ERROR_CLUSTER_CANT_DESERIALIZE_DATA', `${source} is not valid YAML:\n  ${lines.join('\n  ')}`);
  }
  const raw = normaliseValue(doc.toJS()) as unknown;
  const problems: string[] = [];
  const result = checkShape(raw, problems);
  if (problems.length > 0 || !result) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${source} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
  return result;
}

function checkShape(raw: unknown, problems: string[]): ConfigDocument | undefined {
  if (!isMap(raw)) {
    problems.push('the file must be a map with "version" and "groups"');
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!['version', 'nodes', 'groups'].includes(k)) problems.push(`${at(k)}: unknown field (known: version, nodes, groups)`);
  if (raw.version !== CONFIG_VERSION) problems.push(`version: must be ${CONFIG_VERSION}, got ${JSON.stringify(raw.version ?? null)}`);
  let nodes: string[] | undefined;
  if (raw.nodes !== undefined) {
    if (!Array.isArray(raw.nodes) || !raw.nodes.every((n) => typeof n === 'string')) problems.push('nodes: must be a list of node names');
    else nodes = raw.nodes as string[];
  }
  const groups: Record<string, GroupSpec> = {};
  const rawGroups = raw.groups ?? {};
  if (!isMap(rawGroups)) {
    problems.push('groups: must be a map of group name to group');
  } else {
    for (const [gname, g] of Object.entries(rawGroups)) {
      const gspec = checkGroup(gname, g ?? {}, problems);
      if (gspec) groups[gname] = gspec;
    }
  }
  return { version: CONFIG_VERSION, ...(nodes ? { nodes } : {}), groups };
}

function checkGroup(gname: string, g: unknown, problems: string[]): GroupSpec | undefined {
  const here = at('groups', gname);
  if (!isMap(g)) {
    problems.push(`${here}: must be a map with "state", "properties" and "resources"`);
    return undefined;
  }
  for (const k of Object.keys(g)) if (!['state', 'properties', 'resources'].includes(k)) problems.push(`${here}.${k}: unknown field (known: state, properties, resources)`);
  const spec: GroupSpec = {};
  if (g.state !== undefined && g.state !== null) {
    if (!GROUP_STATES.includes(g.state as GroupState)) problems.push(`${here}.state: must be ${GROUP_STATES.join(' or ')}, got ${JSON.stringify(g.state)}`);
    else spec.state = g.state as GroupState;
  }
  if (g.properties !== undefined) {
    if (!isMap(g.properties)) problems.push(`${here}.properties: must be a map of property name to value`);
    else spec.properties = g.properties as Partial<GroupCommon>;
  }
  if (g.resources !== undefined && g.resources !== null) {
    if (!isMap(g.resources)) {
      problems.push(`${here}.resources: must be a map of resource name to resource`);
    } else {
      spec.resources = {};
      for (const [rname, r] of Object.entries(g.resources)) {
        const rs = checkResource(`${here}.resources${at('', rname)}`, r ?? {}, problems);
        if (rs) spec.resources[rname] = rs;
      }
    }
  }
  return spec;
}

function checkResource(here: string, r: unknown, problems: string[]): ResourceSpec | undefined {
  if (!isMap(r)) {
    problems.push(`${here}: must be a map with "type" and optionally properties, parameters, dependencies`);
    return undefined;
  }
  for (const k of Object.keys(r)) if (!['type', 'properties', 'parameters', 'dependencies'].includes(k)) problems.push(`${here}.${k}: unknown field (known: type, properties, parameters, dependencies)`);
  if (typeof r.type !== 'string' || r.type === '') {
    problems.push(`${here}.type: required, the resource type's name`);
    return undefined;
  }
  const spec: ResourceSpec = { type: r.type };
  if (r.properties !== undefined) {
    if (!isMap(r.properties)) problems.push(`${here}.properties: must be a map of property name to value`);
    else spec.properties = r.properties as Partial<ResourceCommon>;
  }
  if (r.parameters !== undefined) {
    if (!isMap(r.parameters)) problems.push(`${here}.parameters: must be a map of parameter name to value`);
    else spec.parameters = r.parameters as Record<string, PropertyValue>;
  }
  if (r.dependencies !== undefined && r.dependencies !== null) {
    if (typeof r.dependencies !== 'string') problems.push(`${here}.dependencies: must be an expression such as "[Disk] and [IP]"`);
    else if (r.dependencies.trim() !== '') spec.dependencies = r.dependencies;
  }
  return spec;
}

export function stringifyConfig(doc: ConfigDocument): string {
  return YAML.stringify(doc, { ...yamlOptions, lineWidth: 0 });
}
