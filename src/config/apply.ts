// Executes a plan against the cluster in batches of APPLY_BATCH_CHANGES_MAX
// changes. Each batch is all or nothing from the user's view: every change
// done is recorded with its inverse, and if one fails the done ones of its
// batch are undone in reverse order before the error is reported. Batches
// before it stay applied: the plan is declarative, so running apply again
// plans only what remains (a plan that fits one batch is all or nothing).
import type { ClusterApi } from '../api/types.ts';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { GroupCommon, ResourceCommon } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import type { Change, ValueChanges } from './plan.ts';

/** Changes per batch: what one failure undoes, and how often progress is reported. */
export const APPLY_BATCH_CHANGES_MAX = 100;

export interface ApplyResult {
  readonly applied: number;
}

export interface ApplyFailure {
  readonly error: ClusterError;
  /** The change that failed. */
  readonly change: Change;
  /** Inverse steps that could not be done (empty: the batch is as before). */
  readonly rollbackErrors: readonly string[];
  /** Changes of earlier batches, which stay applied. */
  readonly applied: number;
  /** Changes not applied (the failed batch's included). */
  readonly remaining: number;
}

export interface ApplyProgress {
  /** Changes made so far. */
  readonly done: number;
  readonly total: number;
  /** The batch just finished (1-based) and how many there are. */
  readonly batch: number;
  readonly batches: number;
}

export interface ApplyOptions {
  /** Called after every batch. */
  readonly onProgress?: (p: ApplyProgress) => void;
  readonly batchChangesMax?: number;
}

type Undo = { what: string; run: () => Promise<unknown> };

function previous(changes: ValueChanges): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  for (const [k, c] of Object.entries(changes)) if (c.from !== undefined) out[k] = c.from;
  return out;
}

function next(changes: ValueChanges): Record<string, PropertyValue> {
  return Object.fromEntries(Object.entries(changes).map(([k, c]) => [k, c.to]));
}

/**
 * Runs the changes in plan order, except that the dependency expressions of
 * resources that exist already are set together, replaced ones cleared first,
 * so no intermediate state mixes old and new edges into a cycle (before any
 * deletion or group state). A new resource's expression stays where the plan
 * put it: only new resources can depend on it, and it has no old edges.
 */
export async function applyPlan(api: ClusterApi, changes: readonly Change[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const created = new Set<string>();
  const setDeps: Extract<Change, { op: 'setDependencies' }>[] = [];
  const rest: Change[] = [];
  for (const c of changes) {
    if (c.op === 'createResource') created.add(c.resource);
    if (c.op === 'setDependencies' && !created.has(c.resource)) setDeps.push(c);
    else if (c.op !== 'leftAlone') rest.push(c);
  }
  const at = rest.findIndex((c) => c.op === 'deleteResource' || c.op === 'setGroupState');
  const ordered = at < 0 ? [...rest, ...depsPhase(setDeps)] : [...rest.slice(0, at), ...depsPhase(setDeps), ...rest.slice(at)];

  const size = options.batchChangesMax ?? APPLY_BATCH_CHANGES_MAX;
  const batches = inBatches(wholeNewGroups(ordered), size);
  let applied = 0;
  for (const [b, batch] of batches.entries()) {
    const undo: Undo[] = [];
    try {
      // Asking new groups online is left to the end of the batch, and done side by side: they are independent requests.
      const onlines: Change[] = [];
      for (const unit of batch) {
        if (unit.length === 1 && unit[0]!.op === 'onlineNewGroup') onlines.push(unit[0]!);
        else undo.push(...(await executeUnit(api, unit)));
      }
      for (let i = 0; i < onlines.length; i += ONLINE_REQUESTS_IN_FLIGHT_MAX) {
        const done = await Promise.allSettled(onlines.slice(i, i + ONLINE_REQUESTS_IN_FLIGHT_MAX).map((c) => executeOne(api, c)));
        for (const d of done) if (d.status === 'fulfilled' && d.value) undo.push(d.value);
        const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
        if (failed) throw failed.reason;
      }
    } catch (e) {
      if (!(e instanceof FailedChange)) throw e;
      const { change, error } = e;
      undo.push(...e.partial);
      const rollbackErrors: string[] = [];
      for (const u of undo.reverse()) {
        try {
          await u.run();
        } catch (re) {
          rollbackErrors.push(`${u.what}: ${(re as Error).message}`);
        }
      }
      const undone = rollbackErrors.length === 0 ? (applied === 0 ? 'every change made before it was undone' : `the ${undo.length} change(s) of its batch made before it were undone`) : `could not undo: ${rollbackErrors.join('; ')}`;
      const kept = applied === 0 ? '' : `; ${applied} change(s) of earlier batches stay applied: run apply again to make the ${ordered.length - applied} that remain`;
      throw Object.assign(new ClusterError(error.name, `apply stopped at ${describeFailed(change)}: ${error.message}; ${undone}${kept}`), {
        failure: { error, change, rollbackErrors, applied, remaining: ordered.length - applied } satisfies ApplyFailure,
      });
    }
    applied += batch.reduce((n, unit) => n + unit.length, 0);
    options.onProgress?.({ done: applied, total: ordered.length, batch: b + 1, batches: batches.length });
  }
  return { applied };
}

/** Group online requests apply has in flight at once. */
export const ONLINE_REQUESTS_IN_FLIGHT_MAX = 16;

/** A change that failed with a cluster error: what apply reports, after undoing its batch. */
class FailedChange extends Error {
  /** Inverse steps of the changes its unit made before it. */
  partial: Undo[] = [];
  constructor(
    readonly change: Change,
    readonly error: ClusterError,
  ) {
    super(error.message);
  }
}

/**
 * The plan in units: a new group with its resources and their dependencies
 * (as the plan lists them, one after another) is one unit, made in one call;
 * every other change is a unit of its own.
 */
function wholeNewGroups(changes: readonly Change[]): Change[][] {
  const units: Change[][] = [];
  for (let i = 0; i < changes.length; ) {
    const c = changes[i]!;
    const unit: Change[] = [c];
    if (c.op === 'createGroup') {
      const members = new Set<string>();
      let j = i + 1;
      for (; j < changes.length; j++) {
        const m = changes[j]!;
        if (m.op === 'createResource' && m.group === c.group) members.add(m.resource);
        else if (!(m.op === 'setDependencies' && members.has(m.resource))) break;
        unit.push(m);
      }
    }
    units.push(unit);
    i += unit.length;
  }
  return units;
}

/** Units in batches of about `size` changes (a unit is never split). */
function inBatches(units: readonly Change[][], size: number): Change[][][] {
  const batches: Change[][][] = [];
  let current: Change[][] = [];
  let count = 0;
  for (const unit of units) {
    current.push(unit);
    count += unit.length;
    if (count >= size) {
      batches.push(current);
      current = [];
      count = 0;
    }
  }
  if (current.length > 0 || batches.length === 0) batches.push(current);
  return batches;
}

/**
 * Runs a unit and returns its inverse steps. A new group is created whole in
 * one call; if that is refused (too large for one change, or something in it
 * is invalid: nothing was made), its changes run one by one, so a failure
 * names the change that failed. If the call got no answer, the group is
 * looked up: there whole, or not there, so apply stops (and a new run makes
 * what remains).
 */
async function executeUnit(api: ClusterApi, unit: readonly Change[]): Promise<Undo[]> {
  const [first] = unit;
  if (unit.length > 1 && first?.op === 'createGroup') {
    const resources = unit.flatMap((c) => (c.op === 'createResource' ? [{ name: c.resource, type: c.type, common: c.properties as Partial<ResourceCommon>, parameters: c.parameters }] : []));
    const dependencies = new Map(unit.flatMap((c) => (c.op === 'setDependencies' ? [[c.resource, c.to] as const] : [])));
    const undoNew: Undo[] = [{ what: `delete new group ${first.group} and its resources`, run: () => deleteNewGroup(api, first.group, resources.map((r) => r.name), [...dependencies.keys()]) }];
    try {
      await api.createGroup(first.group, first.properties as Partial<GroupCommon>, {
        resources: resources.map((r) => (dependencies.has(r.name) ? { ...r, dependencies: dependencies.get(r.name)! } : r)),
      });
      return undoNew;
    } catch (e) {
      if (!isClusterError(e)) throw e;
      // No answer is no refusal: the group may have been made. It is made whole or not at all, so look.
      if (NO_ANSWER_ERRORS.has(e.name)) {
        const made = await api.getGroup(first.group).then(() => true, () => false);
        if (!made) throw new FailedChange(first, e);
        return undoNew;
      }
    }
  }
  const undo: Undo[] = [];
  try {
    for (const c of unit) {
      const u = await executeOne(api, c);
      if (u) undo.push(u);
    }
  } catch (e) {
    // The unit's own done changes are undone with the rest of the batch.
    if (e instanceof FailedChange) e.partial = undo;
    throw e;
  }
  return undo;
}

/**
 * Errors that mean the call got no answer (it timed out, or the connection
 * dropped): the change may or may not have been made. Any other error is the
 * cluster's refusal, and a refused change made nothing.
 */
const NO_ANSWER_ERRORS = new Set<string>(['ERROR_TIMEOUT', 'ERROR_CLUSTER_NODE_UNREACHABLE']);

/** How long undoing a new group waits for it to go offline (the cluster may have brought it online already). */
export const UNDO_OFFLINE_WAIT_MS = 60_000;
const UNDO_POLL_INTERVAL_MS = 100;

/** Undoes a new group made whole: offline (and waited for), its dependencies, its resources, then the group. */
async function deleteNewGroup(api: ClusterApi, group: string, resources: readonly string[], withDependencies: readonly string[]): Promise<void> {
  let op = await api.offlineGroup(group);
  const deadline = Date.now() + UNDO_OFFLINE_WAIT_MS;
  while (!op.done) {
    if (Date.now() > deadline) throw new ClusterError('ERROR_TIMEOUT', `group ${JSON.stringify(group)} did not go offline within ${UNDO_OFFLINE_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, UNDO_POLL_INTERVAL_MS));
    op = await api.getOperation(op.id);
  }
  if (op.ok === false) throw new ClusterError('ERROR_INVALID_STATE', `group ${JSON.stringify(group)} could not be taken offline: ${op.error ? `${op.error.name}: ${op.error.message}` : 'failed'}`);
  for (const r of withDependencies) await api.setDependencies(r, '');
  for (const r of resources) await api.deleteResource(r);
  await api.deleteGroup(group);
}

async function executeOne(api: ClusterApi, c: Change): Promise<Undo | undefined> {
  try {
    return await execute(api, c);
  } catch (e) {
    if (isClusterError(e)) throw new FailedChange(c, e);
    throw e;
  }
}

/** Replaced expressions: clear first (as a separate step), then set. */
function depsPhase(setDeps: ReadonlyArray<Extract<Change, { op: 'setDependencies' }>>): Change[] {
  const clears: Change[] = setDeps.filter((c) => c.from !== '' && c.to !== '').map((c) => ({ op: 'setDependencies', resource: c.resource, from: c.from, to: '' }));
  const sets: Change[] = setDeps.map((c) => (c.from !== '' && c.to !== '' ? { ...c, from: '' } : c));
  return [...clears, ...sets];
}

function describeFailed(c: Change): string {
  return 'resource' in c ? `${c.op} ${JSON.stringify(c.resource)}` : 'group' in c ? `${c.op} ${JSON.stringify(c.group)}` : c.op;
}

async function execute(api: ClusterApi, c: Change): Promise<Undo | undefined> {
  switch (c.op) {
    case 'createGroup':
      await api.createGroup(c.group, c.properties as Partial<GroupCommon>);
      return { what: `delete group ${c.group}`, run: () => api.deleteGroup(c.group) };
    case 'setGroupProperties':
      await api.setGroupProperties(c.group, next(c.changes) as Partial<GroupCommon>);
      return { what: `restore properties of group ${c.group}`, run: () => api.setGroupProperties(c.group, previous(c.changes) as Partial<GroupCommon>) };
    case 'clearDependencies':
      await api.setDependencies(c.resource, '');
      return { what: `restore dependencies of ${c.resource}`, run: () => api.setDependencies(c.resource, c.from) };
    case 'setDependencies':
      await api.setDependencies(c.resource, c.to);
      return { what: `restore dependencies of ${c.resource}`, run: () => api.setDependencies(c.resource, c.from) };
    case 'changeGroup':
      await api.changeResourceGroup(c.resource, c.to);
      return { what: `move ${c.resource} back to group ${c.from}`, run: () => api.changeResourceGroup(c.resource, c.from) };
    case 'createResource':
      await api.createResource(c.resource, c.type, c.group, { common: c.properties as Partial<ResourceCommon>, parameters: c.parameters });
      return { what: `delete resource ${c.resource}`, run: () => api.deleteResource(c.resource) };
    case 'setResourceProperties':
      await api.setResourceProperties(c.resource, next(c.changes) as Partial<ResourceCommon>);
      return { what: `restore properties of ${c.resource}`, run: () => api.setResourceProperties(c.resource, previous(c.changes) as Partial<ResourceCommon>) };
    case 'setParameters':
      await api.setResourceParameters(c.resource, next(c.changes));
      return { what: `restore parameters of ${c.resource}`, run: () => api.setResourceParameters(c.resource, previous(c.changes)) };
    case 'deleteResource':
      await api.deleteResource(c.resource);
      return {
        what: `recreate resource ${c.resource}`,
        run: () =>
          api.createResource(c.resource, c.spec.type, c.group, {
            ...(c.spec.properties ? { common: c.spec.properties } : {}),
            ...(c.spec.parameters ? { parameters: c.spec.parameters } : {}),
          }),
      };
    case 'onlineNewGroup':
      await api.onlineGroup(c.group);
      return { what: `take new group ${c.group} offline`, run: () => api.offlineGroup(c.group) };
    case 'deleteGroup':
      await api.deleteGroup(c.group);
      return { what: `recreate group ${c.group}`, run: () => api.createGroup(c.group, c.properties as Partial<GroupCommon>) };
    case 'setGroupState': {
      // PersistentState first (a configuration change, so a plan made right after sees it), then the group operation acts on it.
      for (const r of Object.keys(c.persistentStates)) await api.setResourceProperties(r, { PersistentState: c.to === 'online' ? 1 : 0 });
      await (c.to === 'online' ? api.onlineGroup(c.group) : api.offlineGroup(c.group));
      return {
        what: `restore the state of group ${c.group}`,
        run: async () => {
          for (const [r, ps] of Object.entries(c.persistentStates)) await api.setResourceProperties(r, { PersistentState: ps });
          if (c.from !== 'mixed') await (c.from === 'online' ? api.onlineGroup(c.group) : api.offlineGroup(c.group));
        },
      };
    }
    case 'leftAlone':
      return undefined;
  }
}
