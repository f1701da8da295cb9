// The difference between a configuration file and the running cluster, as an
// ordered list of changes that apply() can execute and --dry-run can print.
// Pure: compares two documents.
//
// Rules (docs/configuration.md): properties listed in the file are set;
// properties left out return to their defaults (those without a default, such
// as FailoverThreshold, are left as they are); parameters left out are left as
// they are; a resource without "dependencies" has none. A group's `state`
// (online/offline) is every resource's PersistentState; a group whose existing
// resources differ gets one setGroupState change (apply sets their
// PersistentState, then asks the group online or offline). Groups and resources
// missing from the file are deleted only with --prune.
//
// New groups come group by group (the group, its resources, their
// dependencies), so an apply interrupted part-way leaves whole groups behind,
// and running it again plans only what remains.
import { ClusterError } from '../model/errors.ts';
import { groupCommonProperties, propertyIndex, resourceCommonProperties, type PropertyDescriptor, type PropertyValue } from '../model/properties.ts';
import { providersOf, parseDependencies } from '../model/dependency.ts';
import type { ConfigDocument, GroupState, ResourceSpec } from './document.ts';
import { canonicalDependencies, sameValue, type RunningCluster } from './running.ts';

export type ValueChanges = Record<string, { from: PropertyValue | undefined; to: PropertyValue }>;

export type Change =
  | { op: 'createGroup'; group: string; properties: Record<string, PropertyValue> }
  | { op: 'setGroupProperties'; group: string; changes: ValueChanges }
  | { op: 'clearDependencies'; resource: string; from: string; why: string }
  | { op: 'changeGroup'; resource: string; from: string; to: string }
  | { op: 'createResource'; resource: string; group: string; type: string; properties: Record<string, PropertyValue>; parameters: Record<string, PropertyValue> }
  | { op: 'setResourceProperties'; resource: string; changes: ValueChanges }
  | { op: 'setParameters'; resource: string; changes: ValueChanges }
  | { op: 'setDependencies'; resource: string; from: string; to: string }
  | { op: 'deleteResource'; resource: string; group: string; spec: ResourceSpec }
  | { op: 'deleteGroup'; group: string; properties: Record<string, PropertyValue> }
  /** `persistentStates`: the group's existing resources and their PersistentState now (what an undo restores). */
  | { op: 'setGroupState'; group: string; from: GroupState | 'mixed'; to: GroupState; persistentStates: Record<string, 0 | 1> }
  | { op: 'onlineNewGroup'; group: string }
  | { op: 'leftAlone'; object: 'group' | 'resource'; name: string };

export interface PlanOptions {
  /** Delete groups and resources that the file does not mention. */
  readonly prune?: boolean;
}

/** Properties to set so that `current` matches what the file asks for. */
function propertyChanges(listed: Readonly<Record<string, unknown>>, current: Readonly<Record<string, unknown>>, schema: readonly PropertyDescriptor[], resetUnlisted: boolean): ValueChanges {
  const out: ValueChanges = {};
  const names = resetUnlisted ? schema.map((d) => d.name) : Object.keys(listed);
  for (const name of names) {
    const d = propertyIndex(schema).byName.get(name);
    const want = (name in listed ? listed[name] : d?.default) as PropertyValue | undefined;
    if (want === undefined) continue;
    const have = current[name] as PropertyValue | undefined;
    if (!sameValue(want, have)) out[name] = { from: have, to: want };
  }
  return out;
}

function resourcesOf(doc: ConfigDocument): Map<string, { group: string; spec: ResourceSpec }> {
  const out = new Map<string, { group: string; spec: ResourceSpec }>();
  for (const [gname, g] of Object.entries(doc.groups)) for (const [rname, spec] of Object.entries(g.resources ?? {})) out.set(rname, { group: gname, spec });
  return out;
}

/** PersistentState of every resource of a group with a `state`. */
const persistentStateOf = (state: GroupState): 0 | 1 => (state === 'online' ? 1 : 0);

/** The file with each group's `state` written into its resources' PersistentState. */
function withGroupStates(doc: ConfigDocument): ConfigDocument {
  const groups: ConfigDocument['groups'] = {};
  for (const [gname, g] of Object.entries(doc.groups)) {
    if (g.state === undefined || !g.resources) {
      groups[gname] = g;
      continue;
    }
    const ps = persistentStateOf(g.state);
    const resources = Object.fromEntries(Object.entries(g.resources).map(([r, spec]) => [r, { ...spec, properties: { ...spec.properties, PersistentState: ps } }]));
    groups[gname] = { ...g, resources };
  }
  return { ...doc, groups };
}

export function planApply(file: ConfigDocument, running: RunningCluster, options: PlanOptions = {}): Change[] {
  const desired = withGroupStates(file);
  const current = running.full;
  const want = resourcesOf(desired);
  const have = resourcesOf(current);
  const schemaOf = (type: string): readonly PropertyDescriptor[] => running.types.find((t) => t.name === type)?.privateProperties ?? [];
  const changes: Change[] = [];

  for (const [rname, w] of want) {
    const h = have.get(rname);
    if (h && h.spec.type !== w.spec.type) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `resource ${JSON.stringify(rname)} is of type ${JSON.stringify(h.spec.type)} in the cluster but ${JSON.stringify(w.spec.type)} in the file; a type cannot change (delete the resource first, or rename it in the file)`);
    }
  }

  const createResource = (rname: string, w: { group: string; spec: ResourceSpec }): Change => ({
    op: 'createResource',
    resource: rname,
    group: w.group,
    type: w.spec.type,
    properties: { ...(w.spec.properties as Record<string, PropertyValue> | undefined) },
    parameters: { ...w.spec.parameters },
  });

  // 1. Groups to create. One that no existing resource moves into comes whole:
  //    the group, its resources, then their dependencies (all inside the group).
  const done = new Set<string>();
  for (const [gname, g] of Object.entries(desired.groups)) {
    if (current.groups[gname]) continue;
    changes.push({ op: 'createGroup', group: gname, properties: { ...(g.properties as Record<string, PropertyValue> | undefined) } });
    const members = Object.keys(g.resources ?? {});
    if (members.some((r) => have.has(r))) continue;
    for (const r of members) changes.push(createResource(r, want.get(r)!));
    for (const r of members) {
      const to = canonicalDependencies(want.get(r)!.spec.dependencies);
      if (to !== '') changes.push({ op: 'setDependencies', resource: r, from: '', to });
      done.add(r);
    }
    // The coordinator may place the group while its resources are still being
    // created, and resources added to a group its owner already brought up stay
    // offline (as in WSFC): a complete new group that should run is asked online.
    const state = file.groups[gname]?.state;
    const runs = members.length > 0 && members.every((r) => (state !== undefined ? persistentStateOf(state) : (want.get(r)!.spec.properties?.PersistentState ?? 1)) === 1);
    if (runs) changes.push({ op: 'onlineNewGroup', group: gname });
  }

  // 2. Resources changing group: they, and whatever depends on them now, lose their dependencies for the move.
  const moving = [...want].filter(([r, w]) => have.has(r) && have.get(r)!.group !== w.group).map(([r]) => r);
  const cleared = new Set<string>();
  for (const [rname, h] of have) {
    const providers = providersOf(parsed(h.spec.dependencies));
    if ((moving.includes(rname) || providers.some((p) => moving.includes(p))) && h.spec.dependencies) {
      changes.push({ op: 'clearDependencies', resource: rname, from: canonicalDependencies(h.spec.dependencies), why: moving.includes(rname) ? 'it changes group' : 'a provider changes group' });
      cleared.add(rname);
    }
  }
  for (const r of moving) changes.push({ op: 'changeGroup', resource: r, from: have.get(r)!.group, to: want.get(r)!.group });

  // 3. Resources to create (dependencies come last, when every provider exists).
  for (const [rname, w] of want) if (!have.has(rname) && !done.has(rname)) changes.push(createResource(rname, w));

  // 4. Properties and parameters of what exists. PersistentState of a group with
  //    a state changes through its setGroupState (7), not resource by resource.
  const groupStates: Extract<Change, { op: 'setGroupState' }>[] = [];
  for (const [gname, g] of Object.entries(desired.groups)) {
    const cur = current.groups[gname];
    if (cur) {
      const c = propertyChanges(g.properties ?? {}, cur.properties ?? {}, groupCommonProperties, true);
      if (Object.keys(c).length > 0) changes.push({ op: 'setGroupProperties', group: gname, changes: c });
    }
    const state = file.groups[gname]?.state;
    if (state === undefined) continue;
    const persistentStates: Record<string, 0 | 1> = {};
    for (const r of Object.keys(g.resources ?? {})) {
      const ps = have.get(r)?.spec.properties?.PersistentState;
      if (ps !== undefined) persistentStates[r] = ps;
    }
    const existing = Object.values(persistentStates);
    if (existing.every((ps) => ps === persistentStateOf(state))) continue;
    const from = existing.every((ps) => ps === 1) ? 'online' : existing.every((ps) => ps === 0) ? 'offline' : 'mixed';
    groupStates.push({ op: 'setGroupState', group: gname, from, to: state, persistentStates });
  }
  const stateSetByGroup = new Set(groupStates.map((c) => c.group));
  for (const [rname, w] of want) {
    const h = have.get(rname);
    if (!h) continue;
    const c = propertyChanges(w.spec.properties ?? {}, h.spec.properties ?? {}, resourceCommonProperties, true);
    if (stateSetByGroup.has(w.group)) delete c.PersistentState;
    if (Object.keys(c).length > 0) changes.push({ op: 'setResourceProperties', resource: rname, changes: c });
    const p = propertyChanges(w.spec.parameters ?? {}, h.spec.parameters ?? {}, schemaOf(w.spec.type), false);
    if (Object.keys(p).length > 0) changes.push({ op: 'setParameters', resource: rname, changes: p });
  }

  // 5. Dependencies.
  for (const [rname, w] of want) {
    if (done.has(rname)) continue;
    const to = canonicalDependencies(w.spec.dependencies);
    const from = cleared.has(rname) ? '' : canonicalDependencies(have.get(rname)?.spec.dependencies);
    if (to !== from) changes.push({ op: 'setDependencies', resource: rname, from, to });
  }

  // 6. What the file does not mention.
  const unmentioned = [...have].filter(([r]) => !want.has(r));
  const unmentionedGroups = Object.keys(current.groups).filter((g) => !desired.groups[g]);
  if (options.prune) {
    for (const [rname, h] of unmentioned) {
      if (h.spec.dependencies && !cleared.has(rname)) changes.push({ op: 'clearDependencies', resource: rname, from: canonicalDependencies(h.spec.dependencies), why: 'it is deleted' });
    }
    for (const [rname, h] of unmentioned) changes.push({ op: 'deleteResource', resource: rname, group: h.group, spec: h.spec });
    for (const g of unmentionedGroups) changes.push({ op: 'deleteGroup', group: g, properties: { ...(current.groups[g]!.properties as Record<string, PropertyValue> | undefined) } });
  } else {
    for (const g of unmentionedGroups) changes.push({ op: 'leftAlone', object: 'group', name: g });
    for (const [rname] of unmentioned) if (desired.groups[have.get(rname)!.group]) changes.push({ op: 'leftAlone', object: 'resource', name: rname });
  }

  // 7. Group states last, when every resource of the group is in place.
  changes.push(...groupStates);
  return changes;
}

function parsed(text: string | undefined) {
  const p = parseDependencies(text ?? '');
  return p && 'code' in p ? undefined : p;
}

const show = (v: PropertyValue | undefined): string =>
  v === undefined ? '(unset)' : v instanceof Uint8Array ? `base64:${Buffer.from(v).toString('base64')}` : JSON.stringify(v);

function describeValues(changes: ValueChanges): string {
  return Object.entries(changes)
    .map(([k, c]) => `${k} ${show(c.from)} -> ${show(c.to)}`)
    .join(', ');
}

/** One line per change, in diff style: + create, ~ change, - delete, = left alone. */
export function describeChange(c: Change): string {
  const q = JSON.stringify;
  switch (c.op) {
    case 'createGroup':
      return `+ group ${q(c.group)}${Object.keys(c.properties).length ? ` (${Object.entries(c.properties).map(([k, v]) => `${k}=${show(v)}`).join(', ')})` : ''}`;
    case 'setGroupProperties':
      return `~ group ${q(c.group)}: ${describeValues(c.changes)}`;
    case 'clearDependencies':
      return `~ resource ${q(c.resource)}: dependencies ${q(c.from)} -> "" (${c.why})`;
    case 'changeGroup':
      return `~ resource ${q(c.resource)}: group ${q(c.from)} -> ${q(c.to)}`;
    case 'createResource':
      return `+ resource ${q(c.resource)} (${c.type}) in group ${q(c.group)}`;
    case 'setResourceProperties':
      return `~ resource ${q(c.resource)}: ${describeValues(c.changes)}`;
    case 'setParameters':
      return `~ resource ${q(c.resource)} parameters: ${describeValues(c.changes)}`;
    case 'setDependencies':
      return `~ resource ${q(c.resource)}: dependencies ${q(c.from)} -> ${q(c.to)}`;
    case 'deleteResource':
      return `- resource ${q(c.resource)} (in group ${q(c.group)})`;
    case 'deleteGroup':
      return `- group ${q(c.group)}`;
    case 'leftAlone':
      return `= ${c.object} ${q(c.name)} is not in the file: left alone (--prune deletes it)`;
    case 'setGroupState':
      return `~ group ${q(c.group)}: state ${c.from} -> ${c.to}`;
    case 'onlineNewGroup':
      return `~ group ${q(c.group)}: online once created`;
  }
}

export function isNoOp(changes: readonly Change[]): boolean {
  return changes.every((c) => c.op === 'leftAlone');
}
