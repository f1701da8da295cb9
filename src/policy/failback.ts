// Failback: a group with AutoFailbackType 1 returns to its most preferred Up
// node when that node is not its owner, inside its failback window. Pure.
//
// The window: FailbackWindowStart and FailbackWindowEnd are hours 0-23; hour h
// is inside when start <= h <= end, or, for a window that wraps midnight
// (start > end), when h >= start or h <= end. Both ends are inclusive, so
// start == end allows exactly that hour. 0xFFFFFFFF in either end means "any
// time". The hour is taken from `nowMs` in UTC: the cluster has no time zone
// of its own, and UTC keeps every node's decision the same.
import { possibleOwnerLimit } from './placement.ts';
import { MS_PER_HOUR } from './threshold.ts';
import type { ClusterView } from './view.ts';

export const FAILBACK_WINDOW_ANY = 0xffffffff;

const MS_PER_DAY = 24 * MS_PER_HOUR;

/** The UTC hour (0-23) of a time in ms since the epoch (arithmetic, so no Date is involved). */
export function utcHourOf(nowMs: number): number {
  return Math.floor((((nowMs % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR);
}

export function isInFailbackWindow(nowMs: number, start: number, end: number): boolean {
  if (start === FAILBACK_WINDOW_ANY || end === FAILBACK_WINDOW_ANY) return true;
  const hour = utcHourOf(nowMs);
  return start <= end ? hour >= start && hour <= end : hour >= start || hour <= end;
}

export type FailbackDecision =
  | { readonly failback: true; readonly node: string }
  | { readonly failback: false; readonly reason: string };

/**
 * Whether the group should fail back now, and to which node: the first of its
 * PreferredOwners that is Up and a possible owner of every resource. Anti-
 * affinity does not stop a failback (the preferred node is the operator's
 * explicit choice). Groups without an owner have nothing to fail back.
 */
export function decideFailback(view: ClusterView, groupName: string, nowMs: number): FailbackDecision {
  const group = view.groups.find((g) => g.name === groupName);
  const no = (reason: string): FailbackDecision => ({ failback: false, reason: `group ${JSON.stringify(groupName)}: ${reason}` });
  if (!group) return no('not found');
  const c = group.common;
  if (c.AutoFailbackType !== 1) return no('AutoFailbackType is 0 (no failback)');
  if (group.owner === undefined) return no('has no owner');
  const limit = possibleOwnerLimit(group);
  const best = c.PreferredOwners.find((name) => {
    const node = view.nodes.find((n) => n.name === name);
    return node !== undefined && node.state === 'Up' && (limit === undefined || limit.has(name));
  });
  if (best === undefined) return no('no preferred owner is Up and able to host it');
  if (best === group.owner) return no(`already on its most preferred available node ${JSON.stringify(best)}`);
  if (!isInFailbackWindow(nowMs, c.FailbackWindowStart, c.FailbackWindowEnd)) {
    return no(`outside its failback window (${c.FailbackWindowStart}-${c.FailbackWindowEnd} h UTC)`);
  }
  return { failback: true, node: best };
}
