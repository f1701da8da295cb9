// Executes a plan against the cluster, all or nothing from the user's view:
// every change done is recorded with its inverse, and if one fails the done
// ones are undone in reverse order before the error is reported.
import type { ClusterApi } from '../api/types.ts';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { GroupCommon, ResourceCommon } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import type { Change, ValueChanges } from './plan.ts';

export interface ApplyResult {
  readonly applied: number;
}

export interface ApplyFailure {
  readonly error: ClusterError;
  /** The change that failed. */
  readonly change: Change;
  /** Inverse steps that could not be done (empty: the cluster is as before). */
  readonly rollbackErrors: readonly string[];
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
 * Runs the changes in plan order, except that dependency expressions that are
 * replaced are first cleared all together, so no intermediate state mixes old
 * and new edges into a cycle.
 */
export async function applyPlan(api: ClusterApi, changes: readonly Change[], onStep?: (line: string) => void): Promise<ApplyResult> {
  const undo: Undo[] = [];
  const setDeps = changes.filter((c): c is Extract<Change, { op: 'setDependencies' }> => c.op === 'setDependencies');
  const ordered: Change[] = [];
  for (const c of changes) {
    if (c.op === 'setDependencies') continue;
    if (c.op === 'deleteResource' && setDeps.length > 0 && !ordered.some((o) => o.op === 'setDependencies')) ordered.push(...depsPhase(setDeps));
    ordered.push(c);
  }
  if (!ordered.some((o) => o.op === 'setDependencies')) ordered.push(...depsPhase(setDeps));

  let applied = 0;
  for (const change of ordered) {
    try {
      const u = await execute(api, change);
      if (u) undo.push(u);
      if (change.op !== 'leftAlone') applied++;
      onStep?.(change.op);
    } catch (e) {
      if (!isClusterError(e)) throw e;
      const rollbackErrors: string[] = [];
      for (const u of undo.reverse()) {
        try {
          await u.run();
        } catch (re) {
          rollbackErrors.push(`${u.what}: ${(re as Error).message}`);
        }
      }
      throw Object.assign(new ClusterError(e.name, `apply stopped at ${describeFailed(change)}: ${e.message}${rollbackErrors.length === 0 ? '; every change made before it was undone' : `; could not undo: ${rollbackErrors.join('; ')}`}`), {
        failure: { error: e, change, rollbackErrors } satisfies ApplyFailure,
      });
    }
  }
  return { applied };
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
    case 'deleteGroup':
      await api.deleteGroup(c.group);
      return { what: `recreate group ${c.group}`, run: () => api.createGroup(c.group, c.properties as Partial<GroupCommon>) };
    case 'leftAlone':
      return undefined;
  }
}
