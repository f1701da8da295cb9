// The console's data: a full read kept current by events, without letting an
// older report or a read older than an event undo what the page already shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterModel, type ClusterSnapshot } from '../../src/console/web/model.ts';
import type { GroupView, MoveView, ResourceView } from '../../src/api/types.ts';
import { defaultsOf, groupCommonProperties, resourceCommonProperties } from '../../src/model/properties.ts';
import type { GroupCommon, ResourceCommon } from '../../src/model/objects.ts';

const resourceCommon = defaultsOf(resourceCommonProperties) as unknown as ResourceCommon;
const groupCommon = defaultsOf(groupCommonProperties) as unknown as GroupCommon;

function resource(name: string, group: string, state: ResourceView['state'], stateSeq: number, owner = 'node1'): ResourceView {
  return { name, type: 'Dummy', group, state, owner, stateSeq, common: resourceCommon, parameters: {}, dependencies: '' };
}

function group(name: string, resources: string[], owner = 'node1'): GroupView {
  return { name, state: 'Online', owner, epoch: 1, moving: false, common: groupCommon, resources };
}

function snapshot(resources: ResourceView[]): ClusterSnapshot {
  return {
    cluster: { name: 'c', nodes: 2, groups: 1, resources: resources.length, revision: 10 },
    nodes: [
      { name: 'node2', id: 2, state: 'Up', draining: false },
      { name: 'node1', id: 1, state: 'Up', draining: false },
    ],
    groups: [group('Web', ['Web Server', 'Web IP'])],
    resources,
  };
}

test('a resource event newer than what is shown is applied; an older one is ignored', () => {
  const m = new ClusterModel();
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 10)]));
  assert.equal(m.apply({ type: 'resourceState', resource: 'Web IP', group: 'Web', node: 'node2', state: 'OfflinePending', stateSeq: 12, revision: 12 }), true);
  assert.equal(m.resources.get('Web IP')?.state, 'OfflinePending');
  assert.equal(m.resources.get('Web IP')?.owner, 'node2');
  assert.equal(m.apply({ type: 'resourceState', resource: 'Web IP', group: 'Web', node: 'node1', state: 'Online', stateSeq: 11, revision: 11 }), false);
  assert.equal(m.resources.get('Web IP')?.state, 'OfflinePending');
});

test('a full read older than an applied event keeps the newer resource state', () => {
  const m = new ClusterModel();
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 10)]));
  m.apply({ type: 'resourceState', resource: 'Web IP', group: 'Web', node: 'node1', state: 'Offline', stateSeq: 14, revision: 14 });
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 10)]));
  assert.equal(m.resources.get('Web IP')?.state, 'Offline');
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 15)]));
  assert.equal(m.resources.get('Web IP')?.state, 'Online');
});

test('group, node and move events update what they carry; unknown objects, config and reconnect change nothing', () => {
  const m = new ClusterModel();
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 10)]));
  assert.equal(m.apply({ type: 'groupState', group: 'Web', state: 'Pending', owner: 'node2', revision: 11 }), true);
  assert.deepEqual([m.groups.get('Web')?.state, m.groups.get('Web')?.owner], ['Pending', 'node2']);
  assert.equal(m.apply({ type: 'groupState', group: 'Web', state: 'Offline', revision: 12 }), true);
  assert.equal(m.groups.get('Web')?.owner, undefined, 'an event without an owner means the group has none');
  assert.equal(m.apply({ type: 'nodeState', node: 'node2', state: 'Paused', revision: 13 }), true);
  assert.equal(m.nodes.get('node2')?.state, 'Paused');

  const move: MoveView = { moveId: 'm1', group: 'Web', from: 'node1', to: 'node2', phase: 'transfer', startedAt: 0, deadlineAt: 600_000 };
  assert.equal(m.apply({ type: 'move', move, revision: 14 }), true);
  assert.equal(m.groups.get('Web')?.moving, true);
  assert.equal(m.apply({ type: 'move', move: { ...move, phase: 'ended', outcome: 'completed' }, revision: 15 }), true);
  assert.equal(m.groups.get('Web')?.moving, false);
  assert.equal(m.groups.get('Web')?.move?.outcome, 'completed');

  assert.equal(m.apply({ type: 'resourceState', resource: 'New', group: 'Web', node: 'node1', state: 'Online', stateSeq: 20, revision: 20 }), false);
  assert.equal(m.apply({ type: 'groupState', group: 'Other', state: 'Online', revision: 21 }), false);
  assert.equal(m.apply({ type: 'config', object: 'group', name: 'Web', revision: 22 }), false);
  assert.equal(m.apply({ type: 'reconnect', revision: 23 }), false);
});

test('nodes and groups are listed by name; a group\'s resources in the group\'s order, then any it does not list', () => {
  const m = new ClusterModel();
  m.load(snapshot([resource('Web IP', 'Web', 'Online', 1), resource('Web Server', 'Web', 'Online', 2), resource('Late', 'Web', 'Offline', 3), resource('Elsewhere', 'Mail', 'Online', 4)]));
  assert.deepEqual(m.sortedNodes().map((n) => n.name), ['node1', 'node2']);
  assert.deepEqual(m.resourcesOf('Web').map((r) => r.name), ['Web Server', 'Web IP', 'Late']);
  assert.deepEqual(m.resourcesOf('Mail').map((r) => r.name), ['Elsewhere']);
});
