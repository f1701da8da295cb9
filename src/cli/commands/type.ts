import type { Command } from 'commander';
import { act, formatValue, table, withClusterOptions, type CliDeps } from '../kit.ts';
import { ClusterError } from '../../model/errors.ts';

export function registerType(program: Command, deps: CliDeps): void {
  const type = program.command('type').description('Resource types: the code that manages each kind of resource, and its parameters.');

  withClusterOptions(type.command('list').description('List resource types.').addHelpText('after', '\nExample:\n  failover type list')).action(
    act(deps, async (ctx) => {
      const types = await (await ctx.api()).listResourceTypes();
      if (ctx.json) ctx.emitJson(types);
      else ctx.say(table(['TYPE', 'PARAMETERS', 'DESCRIPTION'], types.map((t) => [t.name, String(t.privateProperties.length), t.description])));
    }),
  );

  withClusterOptions(type.command('show').argument('<type>').description('Show a type with its parameters: kind, default and range.').addHelpText('after', '\nExample:\n  failover type show "Generic Application"')).action(
    act(deps, async (ctx, name: string) => {
      const t = (await (await ctx.api()).listResourceTypes()).find((x) => x.name === name);
      if (!t) throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${JSON.stringify(name)} not found`);
      if (ctx.json) return ctx.emitJson(t);
      ctx.say(`Type ${t.name}: ${t.description}`);
      ctx.say(`LooksAlive every ${t.looksAlivePollIntervalMs} ms, IsAlive every ${t.isAlivePollIntervalMs} ms\n`);
      ctx.say(
        table(
          ['PARAMETER', 'KIND', 'DEFAULT', 'RANGE', 'DESCRIPTION'],
          t.privateProperties.map((p) => [p.name, p.kind, formatValue(p.default), p.values ? p.values.join('|') : p.min !== undefined || p.max !== undefined ? `${p.min ?? 0}..${p.max ?? ''}` : '-', p.description]),
        ),
      );
    }),
  );
}
