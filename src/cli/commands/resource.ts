import type { Command } from 'commander';
import { resourceCommonProperties, type PropertyValue } from '../../model/properties.ts';
import type { ResourceCommon } from '../../model/objects.ts';
import { ClusterError } from '../../model/errors.ts';
import type { ClusterApi } from '../../api/types.ts';
import { act, parseAssignments, withClusterOptions, type CliDeps, type Ctx } from '../kit.ts';
import { followOperation } from '../wait.ts';
import { propertiesBlock, resourcesTable, waitOptionsOf, withWaitOptions } from './common.ts';

const resourceProps = resourceCommonProperties.map((p) => p.name).join(', ');

async function typeSchema(api: ClusterApi, type: string) {
  const t = (await api.listResourceTypes()).find((x) => x.name === type);
  if (!t) throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${JSON.stringify(type)} not found`);
  return t.privateProperties;
}

export function registerResource(program: Command, deps: CliDeps): void {
  const resource = program.command('resource').description('Resources: instances of a resource type in a group, with properties, parameters and dependencies.');

  const show = async (ctx: Ctx, name: string): Promise<void> => {
    const r = await (await ctx.api()).getResource(name);
    if (ctx.json) return ctx.emitJson(r);
    ctx.say(`Resource ${r.name} (${r.type}) in group ${r.group}: ${r.state}${r.owner ? ` on ${r.owner}` : ''}, state sequence ${r.stateSeq}`);
    ctx.say(`Depends on: ${r.dependencies || '(nothing)'}`);
    if (r.lastError) ctx.say(`Last error: ${r.lastError.message} [${r.lastError.name} ${r.lastError.code}]`);
    ctx.say('');
    ctx.say(propertiesBlock(r.common as unknown as Record<string, unknown>));
    ctx.say('');
    ctx.say(Object.keys(r.parameters).length > 0 ? propertiesBlock(r.parameters).replace(/^PROPERTY/, 'PARAMETER') : 'No parameters.');
  };

  withClusterOptions(resource.command('list').option('--group <group>', 'only the resources of this group').description('List resources with type, group, state, owner and dependencies.').addHelpText('after', '\nExample:\n  failover resource list --group Web')).action(
    act(deps, async (ctx) => {
      const { group } = ctx.options as { group?: string };
      const list = await (await ctx.api()).listResources(group !== undefined ? { group } : undefined);
      if (ctx.json) ctx.emitJson(list);
      else ctx.say(list.length > 0 ? resourcesTable(list) : 'No resources.');
    }),
  );

  withClusterOptions(resource.command('show').argument('<resource>').description('Show a resource: state, owner, dependencies, last error, common properties and parameters.').addHelpText('after', '\nExample:\n  failover resource show "Web Server"')).action(
    act(deps, async (ctx, name: string) => show(ctx, name)),
  );

  withClusterOptions(
    resource
      .command('create')
      .argument('<resource>')
      .requiredOption('--type <type>', 'resource type (see `failover type list`)')
      .requiredOption('--group <group>', 'the group it belongs to')
      .option('--set <KEY=VALUE...>', `common properties (${resourceProps})`)
      .option('--param <KEY=VALUE...>', 'private properties (parameters), typed by the resource type')
      .option('--depend <expression>', 'dependency expression, e.g. "[Disk] and [IP]"')
      .description('Create a resource in a group.')
      .addHelpText('after', '\nExample:\n  failover resource create "Web Server" --type "Generic Application" --group Web \\\n    --param CommandLine="node server.js" --set RestartThreshold=5 --depend "[Web IP]"'),
  ).action(
    act(deps, async (ctx, name: string) => {
      const o = ctx.options as { type: string; group: string; set?: string[]; param?: string[]; depend?: string };
      const api = await ctx.api();
      const common = o.set ? (parseAssignments(o.set, resourceCommonProperties, 'resource property') as Partial<ResourceCommon>) : undefined;
      const parameters = o.param ? parseAssignments(o.param, await typeSchema(api, o.type), `parameter of ${o.type}`) : undefined;
      const r = await api.createResource(name, o.type, o.group, { ...(common ? { common } : {}), ...(parameters ? { parameters } : {}), ...(o.depend !== undefined ? { dependencies: o.depend } : {}) });
      if (ctx.json) ctx.emitJson(r);
      else ctx.say(`Resource ${r.name} (${r.type}) created in group ${r.group}.`);
    }),
  );

  withClusterOptions(resource.command('delete').argument('<resource>').description('Delete an offline resource that nothing depends on.').addHelpText('after', '\nExample:\n  failover resource delete "Old Share"')).action(
    act(deps, async (ctx, name: string) => {
      await (await ctx.api()).deleteResource(name);
      if (ctx.json) ctx.emitJson({ deleted: name });
      else ctx.say(`Resource ${name} deleted.`);
    }),
  );

  withClusterOptions(resource.command('rename').argument('<resource>').argument('<new-name>').description('Rename a resource (dependency expressions follow).').addHelpText('after', '\nExample:\n  failover resource rename IP "Web IP"')).action(
    act(deps, async (ctx, name: string, newName: string) => {
      await (await ctx.api()).renameResource(name, newName);
      if (ctx.json) ctx.emitJson({ renamed: name, to: newName });
      else ctx.say(`Resource ${name} renamed to ${newName}.`);
    }),
  );

  withClusterOptions(resource.command('set-group').argument('<resource>').argument('<group>').description('Move a resource to another group (it must have no dependencies either way).').addHelpText('after', '\nExample:\n  failover resource set-group "Web IP" Web2')).action(
    act(deps, async (ctx, name: string, group: string) => {
      await (await ctx.api()).changeResourceGroup(name, group);
      if (ctx.json) ctx.emitJson({ resource: name, group });
      else ctx.say(`Resource ${name} is now in group ${group}.`);
    }),
  );

  withClusterOptions(
    resource
      .command('set')
      .argument('<resource>')
      .argument('<properties...>', 'KEY=VALUE; numbers for dword properties, comma lists for multi-string ones')
      .option('--private', 'set private properties (parameters) instead of common ones')
      .description(`Set common properties (${resourceProps}) or, with --private, parameters typed by the resource type's schema.`)
      .addHelpText('after', '\nExample:\n  failover resource set Mailbox PersistentState=0 RestartThreshold=5\n  failover resource set "Web Server" --private CommandLine="node app.js"'),
  ).action(
    act(deps, async (ctx, name: string, props: string[]) => {
      const api = await ctx.api();
      const o = ctx.options as { private?: boolean };
      let r;
      if (o.private) {
        const current = await api.getResource(name);
        r = await api.setResourceParameters(name, parseAssignments(props, await typeSchema(api, current.type), `parameter of ${current.type}`) as Record<string, PropertyValue>);
      } else {
        r = await api.setResourceProperties(name, parseAssignments(props, resourceCommonProperties, 'resource property') as Partial<ResourceCommon>);
      }
      if (ctx.json) ctx.emitJson(r);
      else ctx.say(`Resource ${name}: ${props.join(' ')}`);
    }),
  );

  withClusterOptions(
    resource
      .command('depend')
      .argument('<resource>')
      .argument('<expression>', 'e.g. "[Disk] and ([IP1] or [IP2])"; "" for none')
      .description('Replace the dependency expression of a resource (providers in the same group, no cycles).')
      .addHelpText('after', '\nExample:\n  failover resource depend "Web Server" "[Web IP] and [Web Disk]"'),
  ).action(
    act(deps, async (ctx, name: string, expression: string) => {
      const r = await (await ctx.api()).setDependencies(name, expression);
      if (ctx.json) ctx.emitJson(r);
      else ctx.say(`Resource ${name} depends on ${r.dependencies || '(nothing)'}.`);
    }),
  );

  const pair = (verb: string, argName: string, description: string, example: string, run: (api: ClusterApi, a: string, b: string) => Promise<unknown>): void => {
    withClusterOptions(resource.command(verb).argument('<resource>').argument(`<${argName}>`).description(description).addHelpText('after', `\nExample:\n  ${example}`)).action(
      act(deps, async (ctx, name: string, other: string) => {
        const r = await run(await ctx.api(), name, other);
        if (ctx.json) ctx.emitJson(r);
        else ctx.say(`Resource ${name}: ${verb} ${other}.`);
      }),
    );
  };
  pair('add-dependency', 'provider', 'Add a provider (AND) to the dependencies.', 'failover resource add-dependency "Web Server" "Web IP"', (api, a, b) => api.addDependency(a, b));
  pair('remove-dependency', 'provider', 'Remove a provider from the dependencies.', 'failover resource remove-dependency "Web Server" "Web IP"', (api, a, b) => api.removeDependency(a, b));
  pair('add-owner', 'node', 'Add a node to the possible owners (empty list: every node).', 'failover resource add-owner "Web Server" node2', (api, a, b) => api.addPossibleOwner(a, b));
  pair('remove-owner', 'node', 'Remove a node from the possible owners.', 'failover resource remove-owner "Web Server" node3', (api, a, b) => api.removePossibleOwner(a, b));

  const ops: Array<{ verb: 'online' | 'offline' | 'fail' | 'reset'; description: string; run: (api: ClusterApi, n: string) => Promise<import('../../api/types.ts').OperationView> }> = [
    { verb: 'online', description: 'Bring a resource online (its providers first) and wait.', run: (api, n) => api.onlineResource(n) },
    { verb: 'offline', description: 'Take a resource offline (its dependents first) and wait.', run: (api, n) => api.offlineResource(n) },
    { verb: 'fail', description: 'Fail a resource on purpose, to test restart and failover.', run: (api, n) => api.failResource(n) },
    { verb: 'reset', description: 'Close and open a resource again (e.g. after a failed open), then return it to its persistent state; touches nothing else.', run: (api, n) => api.resetResource(n) },
  ];
  for (const { verb, description, run } of ops) {
    withWaitOptions(withClusterOptions(resource.command(verb).argument('<resource>').description(description).addHelpText('after', `\nExample:\n  failover resource ${verb} "Web Server"`))).action(
      act(deps, async (ctx, name: string) => {
        const api = await ctx.api();
        const { group } = await api.getResource(name);
        await followOperation(ctx, api, () => run(api, name), waitOptionsOf(ctx.options as never, group));
      }),
    );
  }
}
