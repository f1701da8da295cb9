// What the console shows, as data: the last full read of the cluster, kept
// current by events. Events carry states and owners, so they are applied at
// once; they do not carry everything (a resource's last error, a node's drain,
// configuration), so after a burst of events the page also re-reads (main.ts).
// Pure and DOM-free.
import type { ClusterEvent, ClusterView, GroupView, NodeView, ResourceView } from '../../api/types.ts';

export interface ClusterSnapshot {
  readonly cluster: ClusterView;
  readonly nodes: readonly NodeView[];
  readonly groups: readonly GroupView[];
  readonly resources: readonly ResourceView[];
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class ClusterModel {
  cluster: ClusterView | undefined;
  readonly nodes = new Map<string, NodeView>();
  readonly groups = new Map<string, GroupView>();
  readonly resources = new Map<string, ResourceView>();

  /** Replaces everything with a full read. A resource state newer than the read (by state sequence) is kept. */
  load(s: ClusterSnapshot): void {
    this.cluster = s.cluster;
    const previous = new Map(this.resources);
    this.nodes.clear();
    this.groups.clear();
    this.resources.clear();
    for (const n of s.nodes) this.nodes.set(n.name, n);
    for (const g of s.groups) this.groups.set(g.name, g);
    for (const r of s.resources) {
      const old = previous.get(r.name);
      const newer = old !== undefined && old.group === r.group && old.stateSeq > r.stateSeq;
      this.resources.set(r.name, newer ? { ...r, state: old.state, owner: old.owner, stateSeq: old.stateSeq } : r);
    }
  }

  /** Applies what an event carries; false when it changed nothing here (unknown object, stale report, config, reconnect). */
  apply(e: ClusterEvent): boolean {
    switch (e.type) {
      case 'resourceState': {
        const r = this.resources.get(e.resource);
        if (!r) return false;
        // Reports can arrive out of order across nodes; the state sequence orders them.
        if (e.stateSeq < r.stateSeq) return false;
        this.resources.set(r.name, { ...r, state: e.state, owner: e.node, stateSeq: e.stateSeq });
        return true;
      }
      case 'groupState': {
        const g = this.groups.get(e.group);
        if (!g) return false;
        const { owner: _old, ...rest } = g;
        this.groups.set(g.name, e.owner !== undefined ? { ...rest, state: e.state, owner: e.owner } : { ...rest, state: e.state });
        return true;
      }
      case 'nodeState': {
        const n = this.nodes.get(e.node);
        if (!n) return false;
        this.nodes.set(n.name, { ...n, state: e.state });
        return true;
      }
      case 'move': {
        const g = this.groups.get(e.move.group);
        if (!g) return false;
        this.groups.set(g.name, { ...g, move: e.move, moving: e.move.phase !== 'ended' });
        return true;
      }
      case 'config':
      case 'reconnect':
        return false;
    }
  }

  sortedNodes(): NodeView[] {
    return [...this.nodes.values()].sort(byName);
  }

  sortedGroups(): GroupView[] {
    return [...this.groups.values()].sort(byName);
  }

  /** The group's resources in the order the group lists them, then any the group does not list yet. */
  resourcesOf(group: string): ResourceView[] {
    const g = this.groups.get(group);
    const listed = (g?.resources ?? []).map((n) => this.resources.get(n)).filter((r): r is ResourceView => r !== undefined && r.group === group);
    const rest = [...this.resources.values()].filter((r) => r.group === group && !listed.includes(r)).sort(byName);
    return [...listed, ...rest];
  }
}
