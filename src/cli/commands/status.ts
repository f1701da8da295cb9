import type { Command } from 'commander';
import { act, withClusterOptions, type CliDeps } from '../kit.ts';
import { groupsTable, nodesTable } from './common.ts';

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
      ctx.say(groups.length > 0 ? groupsTable(groups) : 'No groups.');
      if (attention.length > 0) {
        ctx.say('\nNeeds attention:');
        for (const r of attention) ctx.say(`  ${r.name} (${r.group}): ${r.state}${r.lastError ? ` — ${r.lastError.message}` : ''}; try: failover resource reset ${JSON.stringify(r.name)}`);
      }
    }),
  );
}
