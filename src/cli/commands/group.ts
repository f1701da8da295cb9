import type { Command } from 'commander';
import { groupCommonProperties } from '../../model/properties.ts';
import type { GroupCommon } from '../../model/objects.ts';
import { act, parseAssignments, withClusterOptions, type CliDeps } from '../kit.ts';
import { followOperation } from '../wait.ts';
import { groupsTable, propertiesBlock, resourcesTable, waitOptionsOf, withWaitOptions } from './common.ts';

const groupProps = groupCommonProperties.map((p) => p.name).join(', ');

export function registerGroup(program: Command, deps: CliDeps): void {
  const group = program.command('group').description('Groups: resources that move together between nodes.');

  withClusterOptions(group.command('list').description('List the groups with state, owner and any move in progress.').addHelpText('after', '\nExample:\n  failover group list')).action(
    act(deps, async (ctx) => {
      const groups = await (await ctx.api()).listGroups();
      if (ctx.json) ctx.emitJson(groups);
      else ctx.say(groups.length > 0 ? groupsTable(groups) : 'No groups.');
    }),
  );

  withClusterOptions(group.command('show').argument('<group>').description('Show a group: state, owner, move, common properties and its resources.').addHelpText('after', '\nExample:\n  failover group show "Mailbox CMS01"')).action(
    act(deps, async (ctx, name: string) => {
      const api = await ctx.api();
      const g = await api.getGroup(name);
      if (ctx.json) return ctx.emitJson(g);
      ctx.say(`Group ${g.name}: ${g.state}, owner ${g.owner ?? '(none)'}, epoch ${g.epoch}`);
      if (g.move) ctx.say(`Moving: ${g.move.phase} ${g.move.from} -> ${g.move.to}, deadline in ${Math.max(0, Math.round((g.move.deadlineAt - ctx.deps.clock.now()) / 1000))} s`);
      ctx.say('');
      ctx.say(propertiesBlock(g.common as unknown as Record<string, unknown>));
      ctx.say('');
      const resources = await api.listResources({ group: name });
      ctx.say(resources.length > 0 ? resourcesTable(resources) : 'No resources.');
    }),
  );

  withClusterOptions(
    group
      .command('create')
      .argument('<group>')
      .argument('[properties...]', `common properties as KEY=VALUE (${groupProps})`)
      .description('Create a group, optionally with common properties.')
      .addHelpText('after', '\nExample:\n  failover group create Web PreferredOwners=node2,node1 Priority=3000'),
  ).action(
    act(deps, async (ctx, name: string, props: string[]) => {
      const common = props.length > 0 ? (parseAssignments(props, groupCommonProperties, 'group property') as Partial<GroupCommon>) : undefined;
      const g = await (await ctx.api()).createGroup(name, common);
      if (ctx.json) ctx.emitJson(g);
      else ctx.say(`Group ${g.name} created.`);
    }),
  );

  withClusterOptions(group.command('delete').argument('<group>').description('Delete an empty group.').addHelpText('after', '\nExample:\n  failover group delete Web')).action(
    act(deps, async (ctx, name: string) => {
      await (await ctx.api()).deleteGroup(name);
      if (ctx.json) ctx.emitJson({ deleted: name });
      else ctx.say(`Group ${name} deleted.`);
    }),
  );

  withClusterOptions(group.command('rename').argument('<group>').argument('<new-name>').description('Rename a group.').addHelpText('after', '\nExample:\n  failover group rename Web Website')).action(
    act(deps, async (ctx, name: string, newName: string) => {
      await (await ctx.api()).renameGroup(name, newName);
      if (ctx.json) ctx.emitJson({ renamed: name, to: newName });
      else ctx.say(`Group ${name} renamed to ${newName}.`);
    }),
  );

  withClusterOptions(
    group
      .command('set')
      .argument('<group>')
      .argument('<properties...>', `KEY=VALUE (${groupProps}); lists are comma-separated`)
      .description('Set common properties of a group.')
      .addHelpText('after', '\nExample:\n  failover group set Web PreferredOwners=node2,node1 AutoFailbackType=1'),
  ).action(
    act(deps, async (ctx, name: string, props: string[]) => {
      const g = await (await ctx.api()).setGroupProperties(name, parseAssignments(props, groupCommonProperties, 'group property') as Partial<GroupCommon>);
      if (ctx.json) ctx.emitJson(g);
      else ctx.say(`Group ${name}: ${props.join(' ')}`);
    }),
  );

  for (const verb of ['online', 'offline'] as const) {
    withWaitOptions(
      withClusterOptions(
        group
          .command(verb)
          .argument('<group>')
          .description(`Bring a group ${verb} and wait, showing each resource's state, until it is ${verb} or fails.`)
          .addHelpText('after', `\nExample:\n  failover group ${verb} Web\n  failover group ${verb} Web --no-wait`),
      ),
    ).action(
      act(deps, async (ctx, name: string) => {
        const api = await ctx.api();
        await followOperation(ctx, api, () => (verb === 'online' ? api.onlineGroup(name) : api.offlineGroup(name)), waitOptionsOf(ctx.options as never, name));
      }),
    );
  }

  withWaitOptions(
    withClusterOptions(
      group
        .command('move')
        .argument('<group>')
        .option('--to <node>', 'target node (default: the best node by preferred owners and possible owners)')
        .option('--return-on-error', 'if the group fails to come online on the target, bring it back to the source')
        .description('Move a group to another node and wait, showing the phase (offline on source, transfer, online on target) and resource states; ends at the move\'s deadline with its outcome.')
        .addHelpText('after', '\nExample:\n  failover group move "Mailbox CMS01" --to node2\n  failover group move Web            # best node'),
    ),
  ).action(
    act(deps, async (ctx, name: string) => {
      const opts = ctx.options as { to?: string; returnOnError?: boolean; wait?: boolean; timeout?: string };
      const api = await ctx.api();
      const move = { ...(opts.to !== undefined ? { to: opts.to } : {}), ...(opts.returnOnError ? { returnToSourceOnError: true } : {}) };
      await followOperation(ctx, api, () => api.moveGroup(name, move), waitOptionsOf(opts, name));
    }),
  );
}
