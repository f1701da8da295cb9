import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterConfigStore, OWNER_LISTS_PER_CHANGE_MAX } from '../../src/database/config.ts';
import { encodePrivateProperties } from '../../src/database/config-codec.ts';
import { ClusterDatabase, type DatabaseEvent } from '../../src/database/registry.ts';
import { DEPENDENCY_DEPTH_MAX } from '../../src/model/dependency.ts';
import type { ResourceTypeDescriptor } from '../../src/model/objects.ts';
import { defaultsOf, groupCommonProperties, resourceCommonProperties } from '../../src/model/properties.ts';
import type { Store } from '../../src/store/store.ts';
import { memoryStore, refusedUnchanged, rejectsWith } from './helpers.ts';

const genericType: ResourceTypeDescriptor = {
  name: 'Generic Service',
  description: 'A service',
  looksAlivePollIntervalMs: 5000,
  isAlivePollIntervalMs: 60000,
  privateProperties: [
    { name: 'Path', kind: 'string', default: '', description: 'Executable' },
    { name: 'Port', kind: 'dword', default: 80, min: 1, max: 65535, description: 'TCP port' },
    { name: 'Flags', kind: 'qword', description: 'Optional flags' },
    { name: 'Key', kind: 'binary', default: new Uint8Array([1, 2, 3]), description: 'A key' },
    { name: 'Tags', kind: 'multiString', default: [], description: 'Tags' },
  ],
};

async function cluster(): Promise<{ store: Store; db: ClusterDatabase; config: ClusterConfigStore }> {
  const store = await memoryStore();
  const db = new ClusterDatabase(store);
  const config = new ClusterConfigStore(db);
  await config.addNode('Node1', 1);
  await config.addNode('Node2', 2);
  await config.registerResourceType(genericType);
  return { store, db, config };
}

/** A cluster with group G holding A, B, C and group H holding X. */
async function populated(): Promise<Awaited<ReturnType<typeof cluster>>> {
  const c = await cluster();
  await c.config.createGroup('G');
  await c.config.createGroup('H');
  for (const name of ['A', 'B', 'C']) await c.config.createResource({ name, type: 'Generic Service', group: 'G' });
  await c.config.createResource({ name: 'X', type: 'Generic Service', group: 'H' });
  return c;
}

describe('nodes', () => {
  it('adds, lists by id and removes nodes', async () => {
    const { config } = await cluster();
    await config.addNode('Node0', 7);
    assert.deepEqual(await config.listNodes(), [
      { name: 'Node1', id: 1 },
      { name: 'Node2', id: 2 },
      { name: 'Node0', id: 7 },
    ]);
    await config.removeNode('node0');
    assert.deepEqual((await config.listNodes()).map((n) => n.name), ['Node1', 'Node2']);
  });

  it('removing a node takes it out of owner lists in the same change', async () => {
    const { config } = await cluster();
    await config.createGroup('G', { PreferredOwners: ['Node2', 'node1'] });
    await config.createResource({ name: 'R', type: 'generic service', group: 'g', common: { PossibleOwners: ['Node1'] } });
    await config.removeNode('Node1');
    assert.deepEqual((await config.getGroup('G')).common.PreferredOwners, ['Node2']);
    assert.deepEqual((await config.getResource('R')).common.PossibleOwners, []);
  });

  it('removing a node named in more owner lists than one change holds rewrites them in parts, then removes the node', async () => {
    const { config } = await cluster();
    const groups = 3 * OWNER_LISTS_PER_CHANGE_MAX + 5;
    for (let i = 0; i < groups; i++) {
      await config.createGroup(`G${i}`, { PreferredOwners: ['Node1', 'Node2'] });
      if (i % 3 === 0) await config.createResource({ name: `R${i}`, type: 'Generic Service', group: `G${i}`, common: { PossibleOwners: ['Node2', 'Node1'] } });
    }
    await config.removeNode('node1');
    const snapshot = await config.snapshot();
    assert.deepEqual(snapshot.nodes.map((n) => n.name), ['Node2']);
    assert.equal(snapshot.groups.filter((g) => g.common.PreferredOwners.join() !== 'Node2').length, 0);
    assert.equal(snapshot.resources.filter((r) => r.common.PossibleOwners.join() !== 'Node2').length, 0);
  });

  it('a configuration change too large for one transaction is refused whole, with an error naming the limit', async () => {
    const { store, config } = await cluster();
    await config.createGroup('Big');
    for (let i = 0; i < 70; i++) await config.createResource({ name: `R${i}`, type: 'Generic Service', group: 'Big' });
    // Renaming rewrites the Group value of every member in one change: 70 writes, and a touch of each key written.
    const error = await refusedUnchanged(store, () => config.renameGroup('Big', 'Bigger'), 'ERROR_NOT_ENOUGH_QUOTA', ['STORE_TXN_OPS_MAX', '128', 'smaller parts']);
    assert.equal((error as { code?: number }).code, 1816);
  });

  it('refuses bad nodes', async () => {
    const { store, config } = await cluster();
    await refusedUnchanged(store, () => config.addNode('NODE1', 9), 'ERROR_CLUSTER_NODE_EXISTS', ['NODE1']);
    await refusedUnchanged(store, () => config.addNode('Node3', 2), 'ERROR_CLUSTER_NODE_EXISTS', ['id 2', 'Node2']);
    await refusedUnchanged(store, () => config.addNode('Node3', 0), 'ERROR_INVALID_PARAMETER', ['Node3', 'id 0']);
    await refusedUnchanged(store, () => config.addNode('Node3', 1.5), 'ERROR_INVALID_PARAMETER', ['1.5']);
    await refusedUnchanged(store, () => config.addNode('a\\b', 3), 'ERROR_INVALID_PARAMETER', ['a\\\\b']);
    await refusedUnchanged(store, () => config.addNode(' ', 3), 'ERROR_INVALID_PARAMETER', ['empty']);
    await refusedUnchanged(store, () => config.removeNode('Ghost'), 'ERROR_CLUSTER_NODE_NOT_FOUND', ['Ghost']);
  });
});

describe('resource types', () => {
  it('registers, lists and reads back a type with its private property schema', async () => {
    const { config } = await cluster();
    assert.deepEqual(await config.getResourceType('GENERIC SERVICE'), genericType);
    assert.deepEqual((await config.listResourceTypes()).map((t) => t.name), ['Generic Service']);
  });

  it('refuses bad descriptors and unknown or busy types', async () => {
    const { store, config } = await cluster();
    const bad = (over: Partial<ResourceTypeDescriptor>): ResourceTypeDescriptor => ({ ...genericType, name: 'T2', ...over });
    await refusedUnchanged(store, () => config.registerResourceType({ ...genericType, name: 'generic service' }), 'ERROR_OBJECT_ALREADY_EXISTS', ['generic service']);
    await refusedUnchanged(store, () => config.registerResourceType(bad({ looksAlivePollIntervalMs: -1 })), 'ERROR_INVALID_PARAMETER', ['T2', 'looksAlivePollIntervalMs']);
    await refusedUnchanged(
      store,
      () => config.registerResourceType(bad({ privateProperties: [{ name: 'P', kind: 'dword', default: 70000, max: 65535, description: '' }] })),
      'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS',
      ['T2', 'P', '70000'],
    );
    await refusedUnchanged(
      store,
      () => config.registerResourceType(bad({ privateProperties: [{ name: 'P', kind: 'float' as never, description: '' }] })),
      'ERROR_INVALID_PARAMETER',
      ['"P"', 'float'],
    );
    await refusedUnchanged(
      store,
      () => config.registerResourceType(bad({ privateProperties: [{ name: 'P', kind: 'dword', description: '' }, { name: 'p', kind: 'string', description: '' }] })),
      'ERROR_INVALID_PARAMETER',
      ['"p"', 'twice'],
    );
    await rejectsWith(config.getResourceType('Nope'), 'ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', ['Nope']);
    await config.createGroup('G');
    await config.createResource({ name: 'R', type: 'Generic Service', group: 'G' });
    await refusedUnchanged(store, () => config.unregisterResourceType('Generic Service'), 'ERROR_CLUSTER_RESOURCE_TYPE_BUSY', ['"R"']);
    await config.deleteResource('R');
    await config.unregisterResourceType('Generic Service');
    assert.deepEqual(await config.listResourceTypes(), []);
  });
});

describe('groups', () => {
  it('creates a group with its resources and their dependencies in one change', async () => {
    const { store, config } = await cluster();
    const before = (await store.revision());
    await config.createGroup('Web', { PreferredOwners: ['Node2'] }, [
      { name: 'Disk', type: 'Generic Service' },
      { name: 'IP', type: 'generic service', parameters: { Port: 8080 } },
      { name: 'App', type: 'Generic Service', common: { PersistentState: 0 }, dependencies: '[disk] and [IP]' },
    ]);
    assert.equal(await store.revision(), before + 1, 'one store transaction');
    const app = await config.getResource('App');
    assert.equal(app.group, 'Web');
    assert.equal(app.dependencies, '[Disk] and [IP]');
    assert.equal(app.common.PersistentState, 0);
    assert.equal((await config.getResource('IP')).parameters.Port, 8080);
    assert.deepEqual((await config.getGroup('web')).common.PreferredOwners, ['Node2']);
  });

  it('refuses a group with bad resources whole', async () => {
    const { store, config } = await cluster();
    await config.createGroup('Other');
    await config.createResource({ name: 'Elsewhere', type: 'Generic Service', group: 'Other' });
    const create = (resources: Parameters<ClusterConfigStore['createGroup']>[2]) => () => config.createGroup('Web', {}, resources);
    await refusedUnchanged(store, create([{ name: 'A', type: 'Generic Service' }, { name: 'a', type: 'Generic Service' }]), 'ERROR_OBJECT_ALREADY_EXISTS', ['a']);
    await refusedUnchanged(store, create([{ name: 'Elsewhere', type: 'Generic Service' }]), 'ERROR_OBJECT_ALREADY_EXISTS', ['Elsewhere']);
    await refusedUnchanged(store, create([{ name: 'A', type: 'No Such Type' }]), 'ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', ['No Such Type']);
    await refusedUnchanged(store, create([{ name: 'A', type: 'Generic Service', parameters: { Port: 0 } }]), 'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', ['Port']);
    await refusedUnchanged(store, create([{ name: 'A', type: 'Generic Service', dependencies: '[Elsewhere]' }]), 'ERROR_INVALID_PARAMETER', ['another group']);
    await refusedUnchanged(store, create([{ name: 'A', type: 'Generic Service', dependencies: '[Ghost]' }]), 'ERROR_RESOURCE_NOT_FOUND', ['Ghost']);
    await refusedUnchanged(
      store,
      create([
        { name: 'A', type: 'Generic Service', dependencies: '[B]' },
        { name: 'B', type: 'Generic Service', dependencies: '[A]' },
      ]),
      'ERROR_CIRCULAR_DEPENDENCY',
      ['A', 'B'],
    );
    await refusedUnchanged(store, create(Array.from({ length: 40 }, (_, i) => ({ name: `R${i}`, type: 'Generic Service' }))), 'ERROR_NOT_ENOUGH_QUOTA', ['smaller parts']);
  });

  it('creates with WSFC defaults and given properties, gets, lists and sets properties', async () => {
    const { config } = await cluster();
    const g = await config.createGroup('Mail', { Priority: 3000, PreferredOwners: ['node2', 'Node1'] });
    assert.deepEqual(g.common, { ...defaultsOf(groupCommonProperties), Priority: 3000, PreferredOwners: ['Node2', 'Node1'] });
    assert.deepEqual(await config.getGroup('MAIL'), g);
    await config.setGroupCommon('Mail', { FailoverThreshold: 5, Description: 'mail' });
    assert.equal((await config.getGroup('Mail')).common.FailoverThreshold, 5);
    await config.setGroupCommon('Mail', { FailoverThreshold: null, Priority: null });
    const after = await config.getGroup('Mail');
    assert.equal(after.common.FailoverThreshold, undefined, 'null unsets an optional property');
    assert.equal(after.common.Priority, 2000, 'null restores the default');
    assert.equal(after.common.Description, 'mail');
    assert.deepEqual((await config.listGroups()).map((x) => x.name), ['Mail']);
  });

  it('refuses bad group input', async () => {
    const { store, config } = await populated();
    await refusedUnchanged(store, () => config.createGroup('g'), 'ERROR_OBJECT_ALREADY_EXISTS', ['"g"']);
    await refusedUnchanged(store, () => config.createGroup('New', { Priority: 20000 }), 'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', ['New', 'Priority', '20000']);
    await refusedUnchanged(store, () => config.createGroup('New', { Priority: 'high' }), 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['Priority', '"high"']);
    await refusedUnchanged(store, () => config.createGroup('New', { Colour: 1 }), 'ERROR_INVALID_PARAMETER', ['New', 'Colour']);
    await refusedUnchanged(store, () => config.createGroup('New', { PreferredOwners: ['Node9'] }), 'ERROR_CLUSTER_NODE_NOT_FOUND', ['Node9']);
    await refusedUnchanged(store, () => config.createGroup('New', { PreferredOwners: ['Node1', 'NODE1'] }), 'ERROR_OBJECT_IN_LIST', ['Node1', 'twice']);
    await refusedUnchanged(store, () => config.createGroup('New', { AntiAffinityClassNames: [''] }), 'ERROR_INVALID_PARAMETER', ['AntiAffinityClassNames']);
    await refusedUnchanged(store, () => config.createGroup('[bad]'), 'ERROR_INVALID_PARAMETER', ['[bad]']);
    await refusedUnchanged(store, () => config.setGroupCommon('G', { FailbackWindowStart: 24 }), 'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', ['FailbackWindowStart', '24']);
    await refusedUnchanged(store, () => config.setGroupCommon('Nope', { Priority: 1 }), 'ERROR_GROUP_NOT_FOUND', ['Nope']);
    await rejectsWith(config.getGroup('Nope'), 'ERROR_GROUP_NOT_FOUND', ['Nope']);
    await refusedUnchanged(store, () => config.deleteGroup('G'), 'ERROR_DIR_NOT_EMPTY', ['"G"', '"A"']);
    await refusedUnchanged(store, () => config.renameGroup('G', 'h'), 'ERROR_OBJECT_ALREADY_EXISTS', ['"h"']);
  });

  it('deletes an empty group; renames a group and its resources follow', async () => {
    const { config } = await populated();
    await config.createGroup('Empty');
    await config.deleteGroup('empty');
    await rejectsWith(config.getGroup('Empty'), 'ERROR_GROUP_NOT_FOUND');
    await config.setGroupCommon('G', { Priority: 1234 });
    const renamed = await config.renameGroup('G', 'Mailbox');
    assert.equal(renamed.name, 'Mailbox');
    assert.equal((await config.getGroup('mailbox')).common.Priority, 1234);
    await rejectsWith(config.getGroup('G'), 'ERROR_GROUP_NOT_FOUND');
    assert.deepEqual((await config.listResources('Mailbox')).map((r) => r.name).sort(), ['A', 'B', 'C']);
    await config.renameGroup('Mailbox', 'MAILBOX');
    assert.deepEqual((await config.listGroups()).map((g) => g.name), ['H', 'MAILBOX']);
    assert.equal((await config.getResource('A')).group, 'MAILBOX');
  });
});

describe('resources', () => {
  it('creates with common defaults and the type private defaults under Parameters', async () => {
    const { db, config } = await cluster();
    await config.createGroup('G');
    const r = await config.createResource({ name: 'Web', type: 'generic service', group: 'g', parameters: { Port: 8080 } });
    assert.deepEqual(r, {
      name: 'Web',
      type: 'Generic Service',
      group: 'G',
      common: defaultsOf(resourceCommonProperties),
      parameters: { Path: '', Port: 8080, Key: new Uint8Array([1, 2, 3]), Tags: [] },
      dependencies: '',
    });
    assert.deepEqual(await config.getResource('WEB'), r);
    assert.deepEqual(await db.queryValue('Resources\\Web\\Parameters', 'Port'), { type: 'dword', data: 8080 });
    // Only what was given is stored; a default is read as such, not written (as in WSFC).
    await assert.rejects(db.queryValue('Resources\\Web', 'PendingTimeout'), /does not exist/);
    await assert.rejects(db.queryValue('Resources\\Web\\Parameters', 'Path'), /does not exist/);
  });

  it("a private property left unset reads its type's current default", async () => {
    const { db, config } = await cluster();
    await config.createGroup('G');
    await config.createResource({ name: 'Web', type: 'Generic Service', group: 'G', parameters: { Path: '/srv/web' } });
    // The type's schema edited in the database (types are not re-registered while in use).
    const schema = genericType.privateProperties.map((d) => (d.name === 'Port' ? { ...d, default: 8443 } : d));
    await db.setValue('ResourceTypes\\Generic Service', 'PrivateProperties', { type: 'string', data: encodePrivateProperties(schema) });
    const r = await config.getResource('Web');
    assert.equal(r.parameters.Port, 8443);
    assert.equal(r.parameters.Path, '/srv/web');
  });

  it('sets common and private properties', async () => {
    const { config } = await populated();
    await config.setResourceCommon('A', { PersistentState: 0, LooksAlivePollInterval: 1000 });
    await config.setResourceParameters('A', { Flags: 2 ** 40, Path: '/usr/bin/a', Tags: ['x', 'y'] });
    const a = await config.getResource('A');
    assert.equal(a.common.PersistentState, 0);
    assert.equal(a.common.LooksAlivePollInterval, 1000);
    assert.equal(a.parameters.Flags, 2 ** 40);
    assert.deepEqual(a.parameters.Tags, ['x', 'y']);
    await config.setResourceParameters('A', { Flags: null });
    assert.equal((await config.getResource('A')).parameters.Flags, undefined);
  });

  it('refuses bad resource input', async () => {
    const { store, config } = await populated();
    await refusedUnchanged(store, () => config.createResource({ name: 'a', type: 'Generic Service', group: 'G' }), 'ERROR_OBJECT_ALREADY_EXISTS', ['"a"']);
    await refusedUnchanged(store, () => config.createResource({ name: 'N', type: 'Generic Service', group: 'Nope' }), 'ERROR_GROUP_NOT_FOUND', ['Nope']);
    await refusedUnchanged(store, () => config.createResource({ name: 'N', type: 'Nope', group: 'G' }), 'ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', ['Nope']);
    await refusedUnchanged(store, () => config.createResource({ name: 'N', type: 'Generic Service', group: 'G', parameters: { Port: 0 } }), 'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', ['"N"', 'Port']);
    await refusedUnchanged(store, () => config.createResource({ name: 'N', type: 'Generic Service', group: 'G', common: { RestartAction: 3 } }), 'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', ['RestartAction', '3']);
    await refusedUnchanged(store, () => config.setResourceParameters('A', { Nope: 1 }), 'ERROR_INVALID_PARAMETER', ['"A"', 'Nope']);
    await refusedUnchanged(store, () => config.setResourceParameters('A', { Path: 7 }), 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['Path']);
    await refusedUnchanged(store, () => config.setResourceParameters('A', { Path: 'a\0b' }), 'ERROR_INVALID_PARAMETER', ['Path', 'NUL']);
    await refusedUnchanged(store, () => config.setResourceCommon('A', { PossibleOwners: ['Ghost'] }), 'ERROR_CLUSTER_NODE_NOT_FOUND', ['Ghost']);
    await refusedUnchanged(store, () => config.setResourceCommon('Nope', { PersistentState: 0 }), 'ERROR_RESOURCE_NOT_FOUND', ['Nope']);
    await rejectsWith(config.getResource('Nope'), 'ERROR_RESOURCE_NOT_FOUND', ['Nope']);
  });

  it('lists all resources or those of one group', async () => {
    const { config } = await populated();
    assert.deepEqual((await config.listResources()).map((r) => r.name).sort(), ['A', 'B', 'C', 'X']);
    assert.deepEqual((await config.listResources('h')).map((r) => r.name), ['X']);
    await rejectsWith(config.listResources('Nope'), 'ERROR_GROUP_NOT_FOUND');
  });
});

describe('dependencies', () => {
  it('sets an expression, normalizing names to their display case', async () => {
    const { config } = await populated();
    const a = await config.setDependencies('A', '[b]   AND ([c])');
    assert.equal(a.dependencies, '[B] and [C]');
    assert.equal((await config.getResource('A')).dependencies, '[B] and [C]');
    await config.setDependencies('A', '');
    assert.equal((await config.getResource('A')).dependencies, '');
  });

  it('refuses self, cycles, other groups, unknown names and bad syntax, changing nothing', async () => {
    const { store, config } = await populated();
    await config.setDependencies('A', '[B]');
    await config.setDependencies('B', '[C]');
    await refusedUnchanged(store, () => config.setDependencies('A', '[a]'), 'ERROR_CIRCULAR_DEPENDENCY', ['"A"', 'itself']);
    await refusedUnchanged(store, () => config.setDependencies('C', '[A]'), 'ERROR_CIRCULAR_DEPENDENCY', ['C -> A -> B -> C']);
    await refusedUnchanged(store, () => config.setDependencies('C', '[x]'), 'ERROR_INVALID_PARAMETER', ['"X"', 'another group']);
    await refusedUnchanged(store, () => config.setDependencies('C', '[Ghost]'), 'ERROR_RESOURCE_NOT_FOUND', ['Ghost']);
    await refusedUnchanged(store, () => config.setDependencies('C', '[A] and'), 'ERROR_CLUSTER_INVALID_STRING_FORMAT', ['[A] and']);
    await refusedUnchanged(store, () => config.setDependencies('C', '[A] and [B] or [X]'), 'ERROR_CLUSTER_INVALID_STRING_FORMAT', ['parentheses']);
    await refusedUnchanged(store, () => config.setDependencies('Ghost', '[A]'), 'ERROR_RESOURCE_NOT_FOUND', ['Ghost']);
  });

  it(`refuses a chain deeper than ${DEPENDENCY_DEPTH_MAX}`, async () => {
    const { store, config } = await cluster();
    await config.createGroup('Deep');
    const names = Array.from({ length: DEPENDENCY_DEPTH_MAX + 2 }, (_, i) => `R${i}`);
    for (const name of names) await config.createResource({ name, type: 'Generic Service', group: 'Deep' });
    for (let i = 1; i <= DEPENDENCY_DEPTH_MAX; i++) await config.setDependencies(names[i]!, `[${names[i - 1]}]`);
    const last = names[DEPENDENCY_DEPTH_MAX + 1]!;
    await refusedUnchanged(store, () => config.setDependencies(last, `[${names[DEPENDENCY_DEPTH_MAX]}]`), 'ERROR_DEPENDENCY_TREE_TOO_COMPLEX', [last, String(DEPENDENCY_DEPTH_MAX)]);
    await refusedUnchanged(store, () => config.addDependency(last, names[DEPENDENCY_DEPTH_MAX]!), 'ERROR_DEPENDENCY_TREE_TOO_COMPLEX');
  });

  it('adds and removes single dependencies as MS-CMRP does', async () => {
    const { store, config } = await populated();
    assert.equal((await config.addDependency('A', 'b')).dependencies, '[B]');
    assert.equal((await config.addDependency('A', 'C')).dependencies, '[B] and [C]');
    await refusedUnchanged(store, () => config.addDependency('A', 'c'), 'ERROR_DEPENDENCY_ALREADY_EXISTS', ['"A"', '"C"']);
    await refusedUnchanged(store, () => config.addDependency('A', 'X'), 'ERROR_INVALID_PARAMETER', ['"X"']);
    await refusedUnchanged(store, () => config.addDependency('A', 'Ghost'), 'ERROR_RESOURCE_NOT_FOUND', ['Ghost']);
    await refusedUnchanged(store, () => config.addDependency('B', 'A'), 'ERROR_CIRCULAR_DEPENDENCY');
    assert.equal((await config.removeDependency('A', 'b')).dependencies, '[C]');
    await refusedUnchanged(store, () => config.removeDependency('A', 'B'), 'ERROR_DEPENDENCY_NOT_FOUND', ['"A"', '"B"']);
    await config.setDependencies('A', '[B] and ([C] or [B])');
    assert.equal((await config.removeDependency('A', 'B')).dependencies, '[C]');
    await config.setDependencies('A', '([B] or [C])');
    await refusedUnchanged(store, () => config.addDependency('A', 'C'), 'ERROR_DEPENDENCY_ALREADY_EXISTS', ['"C"']);
  });

  it('refuses deleting a resource others depend on; deletes it otherwise, Parameters and all', async () => {
    const { store, db, config } = await populated();
    await config.setDependencies('A', '[B] or [C]');
    await refusedUnchanged(store, () => config.deleteResource('B'), 'ERROR_DEPENDENT_RESOURCE_EXISTS', ['"B"', '"A"']);
    await db.createKey('Resources\\A\\Extra\\Deeper');
    await config.deleteResource('A');
    await config.deleteResource('B');
    assert.deepEqual((await config.listResources()).map((r) => r.name).sort(), ['C', 'X']);
    assert.equal(await db.keyExists('Resources\\A'), false);
  });

  it('renaming a resource rewrites the expressions that name it', async () => {
    const { config } = await populated();
    await config.setDependencies('A', '[B] and [C]');
    await config.setDependencies('C', '[B]');
    await config.setResourceParameters('B', { Port: 99 });
    const renamed = await config.renameResource('b', 'Database');
    assert.equal(renamed.name, 'Database');
    assert.equal((await config.getResource('A')).dependencies, '[Database] and [C]');
    assert.equal((await config.getResource('C')).dependencies, '[Database]');
    assert.equal((await config.getResource('database')).parameters.Port, 99);
    await rejectsWith(config.getResource('B'), 'ERROR_RESOURCE_NOT_FOUND');
    await config.renameResource('A', 'a');
    assert.equal((await config.getResource('A')).name, 'a');
    assert.equal((await config.getResource('a')).dependencies, '[Database] and [C]');
  });

  it('refuses renaming onto another resource or to a bad name', async () => {
    const { store, config } = await populated();
    await refusedUnchanged(store, () => config.renameResource('A', 'b'), 'ERROR_OBJECT_ALREADY_EXISTS', ['"b"']);
    await refusedUnchanged(store, () => config.renameResource('A', 'x]'), 'ERROR_INVALID_PARAMETER', ['x]']);
  });

  it('changes the group of an unlinked resource; refuses one whose dependencies would cross groups', async () => {
    const { store, config } = await populated();
    await config.setDependencies('A', '[B]');
    await refusedUnchanged(store, () => config.changeResourceGroup('A', 'H'), 'ERROR_DEPENDENT_RESOURCE_EXISTS', ['"A"', '"B"']);
    await refusedUnchanged(store, () => config.changeResourceGroup('B', 'H'), 'ERROR_DEPENDENT_RESOURCE_EXISTS', ['"B"', '"A"']);
    await refusedUnchanged(store, () => config.changeResourceGroup('C', 'Nope'), 'ERROR_GROUP_NOT_FOUND', ['Nope']);
    assert.equal((await config.changeResourceGroup('C', 'h')).group, 'H');
    assert.deepEqual((await config.listResources('H')).map((r) => r.name).sort(), ['C', 'X']);
  });
});

describe('snapshot and watch', () => {
  it('snapshot has everything at one revision', async () => {
    const { store, config } = await populated();
    const snap = await config.snapshot();
    assert.equal(snap.revision, await store.revision());
    assert.deepEqual(snap.nodes.map((n) => n.name), ['Node1', 'Node2']);
    assert.deepEqual(snap.types, [genericType]);
    assert.deepEqual(snap.groups.map((g) => g.name), ['G', 'H']);
    assert.deepEqual(snap.resources.map((r) => r.name), ['A', 'B', 'C', 'X']);
  });

  it('one watch sees every configuration change, and not other database writes', async () => {
    const { db, config } = await populated();
    const revisions: number[] = [];
    const seen: DatabaseEvent[][] = [];
    const watcher = await config.watch((events, revision) => {
      revisions.push(revision);
      seen.push([...events]);
    });
    await config.addNode('Node3', 3);
    await config.setGroupCommon('G', { Priority: 1 });
    await config.setDependencies('A', '[B]');
    await db.createKey('Scratch');
    await config.deleteResource('X');
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.cancel();
    assert.equal(revisions.length, 4, 'one notification per configuration change');
    assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!));
    assert.ok(seen[0]!.some((e) => e.type === 'keyCreated' && e.path === 'Nodes\\Node3'));
    assert.ok(seen[1]!.some((e) => e.type === 'valueSet' && e.name === 'Priority'));
    assert.ok(seen[3]!.some((e) => e.type === 'keyDeleted' && e.path === 'Resources\\X'));
  });
});

describe('concurrent configuration writers', () => {
  it('two stores on one database lose no change', async () => {
    const { store, config } = await cluster();
    const other = new ClusterConfigStore(new ClusterDatabase(store));
    await Promise.all([
      (async () => {
        for (let i = 0; i < 10; i++) await config.createGroup(`First${i}`);
      })(),
      (async () => {
        for (let i = 0; i < 10; i++) await other.createGroup(`Second${i}`);
      })(),
    ]);
    assert.equal((await config.listGroups()).length, 20);
  });

  it('a dependency on a resource being deleted concurrently never survives its provider', async () => {
    const { store, config } = await cluster();
    const other = new ClusterConfigStore(new ClusterDatabase(store));
    await config.createGroup('G');
    for (let round = 0; round < 10; round++) {
      await config.createResource({ name: `P${round}`, type: 'Generic Service', group: 'G' });
      await config.createResource({ name: `D${round}`, type: 'Generic Service', group: 'G' });
      const outcomes = await Promise.allSettled([config.deleteResource(`P${round}`), other.addDependency(`D${round}`, `P${round}`)]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}: exactly one of the two wins`);
    }
    const snap = await config.snapshot();
    const names = new Set(snap.resources.map((r) => r.name));
    for (const r of snap.resources) {
      for (const p of r.dependencies.match(/\[([^\]]+)\]/g) ?? []) assert.ok(names.has(p.slice(1, -1)), `${r.name} depends on missing ${p}`);
    }
  });
});
