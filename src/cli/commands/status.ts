import type { Command } from 'commander';
import { act, withClusterOptions, type CliDeps } from '../kit.ts';
import type { GroupView } from '../../api/types.ts';
import { groupsTable, nodesTable } from './common.ts';

/** Beyond this many groups status sums them up and lists only those not Online (`failover group list` lists all). */
export const STATUS_GROUPS_LISTED_MAX = 50;

/** A large cluster's groups at a glance: how many in each state, on each node, then the ones not Online. */
function groupsSummary(groups: readonly GroupView[]): string {
  const count = (keyOf: (g: GroupView) => string): string => {
    const counts = new Map<string, number>();
    for (const g of groups) counts.set(keyOf(g), (counts.get(keyOf(g)) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${n} ${k}`).join(', ');
  };
  const notOnline = groups.filter((g) => g.state !== 'Online');
  const lines = [`Groups: ${count((g) => g.state)}`, `Owners: ${count((g) => g.owner ?? 'no owner')}`];
  if (notOnline.length > 0) {
    lines.push('', groupsTable(notOnline.slice(0, STATUS_GROUPS_LISTED_MAX)));
    if (notOnline.length > STATUS_GROUPS_LISTED_MAX) lines.push(`... and ${notOnline.length - STATUS_GROUPS_LISTED_MAX} more not Online`);
  }
  lines.push('', 'Every group: failover group list');
  return lines.join('\n');
}

export function registerStatus(program: Command, deps: CliDeps): void {
  withClusterOptions(
    program
      .command('status')
      .description('Show the cluster at a glance: nodes, groups with their owners, and resources that need attention.')
      .addHelpText('after', '\nExample:\n  failover status\n  failover status --json | jq .groups'),
  ).action(
    act(deps, async (ctx) => {
      const api = await ctx.api();
      // Only the resources that need attention travel: a large cluster's full list is megabytes.
      const [cluster, nodes, groups, attention] = await Promise.all([api.getCluster(), api.listNodes(), api.listGroups(), api.listResources({ states: ['Failed', 'OpenCallFailed'] })]);
      if (ctx.json) return ctx.emitJson({ cluster, nodes, groups, attention });
      ctx.say(`Cluster ${cluster.name}: ${nodes.filter((n) => n.state === 'Up').length}/${nodes.length} nodes up, ${groups.length} groups, ${cluster.resources} resources (revision ${cluster.revision})\n`);
      ctx.say(nodesTable(nodes));
      ctx.say('');
      if (groups.length === 0) ctx.say('No groups.');
      else if (groups.length <= STATUS_GROUPS_LISTED_MAX) ctx.say(groupsTable(groups));
      else ctx.say(groupsSummary(groups));
      if (attention.length > 0) {
        ctx.say('\nNeeds attention:');
        for (const r of attention) ctx.say(`  ${r.name} (${r.group}): ${r.state}${r.lastError ? ` — ${r.lastError.message}` : ''}; try: failover resource reset ${JSON.stringify(r.name)}`);
      }
    }),
  );
}
