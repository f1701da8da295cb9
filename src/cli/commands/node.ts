import type { Command } from 'commander';
import { act, withClusterOptions, type CliDeps } from '../kit.ts';
import { followOperation } from '../wait.ts';
import { nodesTable, waitOptionsOf, withWaitOptions } from './common.ts';

export function registerNode(program: Command, deps: CliDeps): void {
  const node = program.command('node').description('Cluster nodes: list, show, pause (with drain), resume, evict.');

  withClusterOptions(node.command('list').description('List the nodes and their states.').addHelpText('after', '\nExample:\n  failover node list')).action(
    act(deps, async (ctx) => {
      const nodes = await (await ctx.api()).listNodes();
      if (ctx.json) ctx.emitJson(nodes);
      else ctx.say(nodesTable(nodes));
    }),
  );

  withClusterOptions(node.command('show').argument('<node>').description('Show one node and the groups it owns.').addHelpText('after', '\nExample:\n  failover node show node1')).action(
    act(deps, async (ctx, name: string) => {
      const api = await ctx.api();
      const n = await api.getNode(name);
      const owned = (await api.listGroups()).filter((g) => g.owner === name).map((g) => g.name);
      if (ctx.json) return ctx.emitJson({ ...n, groups: owned });
      ctx.say(`Node ${n.name} (id ${n.id}): ${n.state}${n.draining ? ', draining' : ''}`);
      ctx.say(`Groups: ${owned.length > 0 ? owned.join(', ') : '(none)'}`);
    }),
  );

  withWaitOptions(
    withClusterOptions(
      node
        .command('pause')
        .argument('<node>')
        .option('--drain', 'move the groups it owns to other nodes first (waits for the moves)')
        .description('Pause a node: it hosts no new groups. With --drain its groups move away first.')
        .addHelpText('after', '\nExample:\n  failover node pause node2 --drain'),
    ),
  ).action(
    act(deps, async (ctx, name: string) => {
      const opts = ctx.options as { drain?: boolean; wait?: boolean; timeout?: string };
      const api = await ctx.api();
      if (!opts.drain) {
        await api.pauseNode(name);
        if (ctx.json) ctx.emitJson(await api.getNode(name));
        else ctx.say(`Node ${name} paused.`);
        return;
      }
      // A drain moves several groups: progress shows every group's events.
      await followOperation(
        ctx,
        api,
        async () => (await api.pauseNode(name, { drain: true })) ?? { id: '', kind: 'drainNode', target: name, done: true, ok: true },
        { ...waitOptionsOf(opts, ''), group: '' },
      );
    }),
  );

  withClusterOptions(node.command('resume').argument('<node>').description('Resume a paused node: it may host groups again.').addHelpText('after', '\nExample:\n  failover node resume node2')).action(
    act(deps, async (ctx, name: string) => {
      const api = await ctx.api();
      await api.resumeNode(name);
      if (ctx.json) ctx.emitJson(await api.getNode(name));
      else ctx.say(`Node ${name} resumed.`);
    }),
  );

  withClusterOptions(node.command('evict').argument('<node>').description('Remove a node from the cluster (it must be down, or the last node).').addHelpText('after', '\nExample:\n  failover node evict node3')).action(
    act(deps, async (ctx, name: string) => {
      await (await ctx.api()).evictNode(name);
      if (ctx.json) ctx.emitJson({ evicted: name });
      else ctx.say(`Node ${name} evicted.`);
    }),
  );
}
