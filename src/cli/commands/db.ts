import type { Command } from 'commander';
import { act, table, withClusterOptions, type CliDeps } from '../kit.ts';
import { ClusterError } from '../../model/errors.ts';
import type { RegistryValue } from '../../api/types.ts';

const kinds = ['string', 'multiString', 'dword', 'qword', 'binary'] as const;

function show(v: RegistryValue): string {
  switch (v.type) {
    case 'binary':
      return `base64:${Buffer.from(v.data).toString('base64')}`;
    case 'multiString':
      return v.data.join(', ');
    default:
      return String(v.data);
  }
}

function parseValue(type: string, text: string): RegistryValue {
  switch (type) {
    case 'string':
      return { type, data: text };
    case 'multiString':
      return { type, data: text === '' ? [] : text.split(',').map((s) => s.trim()) };
    case 'dword':
    case 'qword':
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `a ${type} value is a number, got ${JSON.stringify(text)}`);
      return { type, data: Number(text) };
    case 'binary':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', 'a binary value is given as base64');
      return { type, data: new Uint8Array(Buffer.from(text, 'base64')) };
    default:
      throw new ClusterError('ERROR_INVALID_PARAMETER', `--type ${JSON.stringify(type)}: one of ${kinds.join(', ')}`);
  }
}

export function registerDb(program: Command, deps: CliDeps): void {
  const db = program.command('db').description('The cluster database: keys (paths separated by "\\") and typed values.');

  withClusterOptions(db.command('list').argument('[key]', 'key path, e.g. "Resources\\Web Server\\Parameters"', '').description('List the subkeys and values of a key (the root by default).').addHelpText('after', '\nExample:\n  failover db list\n  failover db list "Cluster\\Settings"')).action(
    act(deps, async (ctx, key: string) => {
      const api = await ctx.api();
      const [keys, values] = await Promise.all([api.registryEnumKeys(key), api.registryEnumValues(key)]);
      if (ctx.json) return ctx.emitJson({ key, keys, values });
      ctx.say(keys.length > 0 ? table(['KEY'], keys.map((k) => [k])) : 'No subkeys.');
      ctx.say('');
      ctx.say(values.length > 0 ? table(['VALUE', 'TYPE', 'DATA'], values.map((v) => [v.name, v.value.type, show(v.value)])) : 'No values.');
    }),
  );

  withClusterOptions(db.command('show').argument('<key>').argument('<name>').description('Show one value.').addHelpText('after', '\nExample:\n  failover db show "Cluster\\Settings" Mode')).action(
    act(deps, async (ctx, key: string, name: string) => {
      const v = await (await ctx.api()).registryGetValue(key, name);
      if (ctx.json) ctx.emitJson(v);
      else ctx.say(`${name} (${v.type}): ${show(v)}`);
    }),
  );

  withClusterOptions(db.command('create').argument('<key>').description('Create a key (and its missing parents).').addHelpText('after', '\nExample:\n  failover db create "Cluster\\Settings"')).action(
    act(deps, async (ctx, key: string) => {
      await (await ctx.api()).registryCreateKey(key);
      if (ctx.json) ctx.emitJson({ created: key });
      else ctx.say(`Key ${key} created.`);
    }),
  );

  withClusterOptions(db.command('delete').argument('<key>').argument('[name]', 'a value to delete; without it the key and its subtree are deleted').description('Delete a value, or a key with everything under it.').addHelpText('after', '\nExample:\n  failover db delete "Cluster\\Settings" Mode\n  failover db delete "Cluster\\Settings"')).action(
    act(deps, async (ctx, key: string, name: string | undefined) => {
      const api = await ctx.api();
      if (name !== undefined) await api.registryDeleteValue(key, name);
      else await api.registryDeleteKey(key);
      if (ctx.json) ctx.emitJson({ deleted: name !== undefined ? { key, value: name } : { key } });
      else ctx.say(name !== undefined ? `Value ${name} deleted from ${key}.` : `Key ${key} deleted.`);
    }),
  );

  withClusterOptions(
    db
      .command('set')
      .argument('<key>')
      .argument('<name>')
      .argument('<value>')
      .option('--type <type>', `value type: ${kinds.join(', ')} (multiString: comma list; binary: base64)`, 'string')
      .description('Set a value.')
      .addHelpText('after', '\nExample:\n  failover db set "Cluster\\Settings" Retries 5 --type dword'),
  ).action(
    act(deps, async (ctx, key: string, name: string, text: string) => {
      const { type } = ctx.options as { type: string };
      await (await ctx.api()).registrySetValue(key, name, parseValue(type, text));
      if (ctx.json) ctx.emitJson({ key, name, type });
      else ctx.say(`${key}: ${name} = ${text} (${type})`);
    }),
  );
}
