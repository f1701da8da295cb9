// Declarative configuration: parsing, validation findings, the plan, apply
// (idempotent, all or nothing) and the export round trip, over the real
// in-process cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterApi } from '../../src/api/types.ts';
import { parseConfig, stringifyConfig } from '../../src/config/document.ts';
import { readRunning, toExport } from '../../src/config/running.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { describeChange, isNoOp, planApply } from '../../src/config/plan.ts';
import { applyPlan, type ApplyProgress } from '../../src/config/apply.ts';
import { ClusterError } from '../../src/model/errors.ts';
import { operationEnded, startCluster, typeDescriptors } from '../support/cluster.ts';

const sample = `
version: 1
nodes: [node1, node2, node3]
groups:
  Mailbox CMS01:
    properties:
      PreferredOwners: [node1, node2]
      FailoverThreshold: 2
    resources:
      CMS01 Disk:
        type: Typed Dummy
        parameters: { Weight: 7, Blob: !!binary AQID }
      CMS01/First Storage Group:
        type: Dummy
        properties: { PersistentState: 0 }
      CMS01 Mailbox:
        type: Dummy
        dependencies: "[CMS01 Disk]   AND [CMS01/First Storage Group]"
  Web:
    state: offline
    properties: { Priority: 3000 }
    resources:
      Site:
        type: Generic Application
        parameters: { CommandLine: node server.js }
`;

async function fresh(t: { after: (fn: () => Promise<void>) => void }): Promise<ClusterApi> {
  const running = await startCluster();
  t.after(() => running.stop());
  return running.api;
}

async function apply(api: ClusterApi, text: string, prune = false) {
  const desired = parseConfig(text, 'test.yaml');
  const running = await readRunning(api);
  const changes = planApply(desired, running, { prune });
  await applyPlan(api, changes);
  return changes;
}

test('parse: the shape is checked and every problem is reported with its path', () => {
  assert.throws(
    () => parseConfig('version: 2\ncolour: red\ngroups:\n  G:\n    resources:\n      R: { properties: 5 }\n      S: { type: Dummy, depends: x }\n', 'f.yaml'),
    (e: any) =>
      e.name === 'ERROR_INVALID_PARAMETER' &&
      /version: must be 1/.test(e.message) &&
      /colour: unknown field/.test(e.message) &&
      /groups\.G\.resources\.R\.type: required/.test(e.message) &&
      /groups\.G\.resources\.S\.depends: unknown field/.test(e.message),
  );
  assert.throws(() => parseConfig('version: 1\ngroups: [\n', 'f.yaml'), (e: any) => e.name === 'ERROR_CLUSTER_CANT_DESERIALIZE_DATA' && /f\.yaml:\d+:\d+/.test(e.message));
  const doc = parseConfig(sample);
  assert.ok(doc.groups['Mailbox CMS01']!.resources!['CMS01 Disk']!.parameters!.Blob instanceof Uint8Array);
});

test('validate: flags what a WSFC validate would, each with its severity', () => {
  const doc = parseConfig(`
version: 1
groups:
  A:
    properties: { PreferredOwners: [node1, node9], FailoverThreshold: 0 }
    resources:
      Disk: { type: Dummy, properties: { PossibleOwners: [node1] } }
      Loop1: { type: Dummy, dependencies: "[Loop2]" }
      Loop2: { type: Dummy, dependencies: "[Loop1]" }
      Cross: { type: Dummy, dependencies: "[Site]" }
      Typo: { type: Dumy }
      Bad: { type: Dummy, properties: { RestartAction: 9 }, parameters: { OnlineDelayMs: "x" } }
      Offline: { type: Dummy, properties: { PersistentState: 0 } }
      NeedsOffline: { type: Dummy, dependencies: "[Offline]" }
  B:
    resources:
      Site: { type: Dummy, properties: { PossibleOwners: [node7] } }
`);
  const findings = validateConfig(doc, { nodes: ['node1', 'node2', 'node3'], types: typeDescriptors() });
  const has = (severity: string, object: string, re: RegExp): boolean => findings.some((f) => f.severity === severity && f.object === object && re.test(f.message));
  assert.ok(has('error', 'group "A"', /PreferredOwners names "node9"/));
  assert.ok(has('warning', 'group "A"', /FailoverThreshold is 0/));
  assert.ok(has('error', 'resource "Loop1"', /dependency cycle/));
  assert.ok(has('error', 'resource "Cross"', /another group/));
  assert.ok(has('error', 'resource "Typo"', /unknown resource type "Dumy"/));
  assert.ok(has('error', 'resource "Bad"', /RestartAction/));
  assert.ok(has('error', 'resource "Bad"', /OnlineDelayMs/));
  assert.ok(has('error', 'resource "Site"', /no possible owner is a node/));
  assert.ok(has('error', 'group "B"', /no node is a possible owner of every resource/));
  assert.ok(has('warning', 'group "A"', /only "node1" can host it/));
  assert.ok(has('warning', 'resource "NeedsOffline"', /KB2893882/));
  const clean = validateConfig(parseConfig(sample), { nodes: ['node1', 'node2', 'node3'], types: typeDescriptors() });
  // The sample itself has the seed's shape: the mailbox depends on a storage group kept offline.
  assert.deepEqual(
    clean.filter((f) => f.severity !== 'info').map((f) => [f.severity, f.object]),
    [['warning', 'resource "CMS01 Mailbox"']],
  );
});

test('apply creates everything, a second apply is a no-op, export -> apply is a no-op', async (t) => {
  const api = await fresh(t);
  const first = await apply(api, sample);
  assert.ok(first.some((c) => c.op === 'createGroup'));
  const mailbox = await api.getResource('CMS01 Mailbox');
  assert.equal(mailbox.dependencies, '[CMS01 Disk] and [CMS01/First Storage Group]');
  assert.equal((await api.getGroup('Mailbox CMS01')).common.FailoverThreshold, 2);
  assert.deepEqual((await api.getResource('CMS01 Disk')).parameters.Blob, new Uint8Array([1, 2, 3]));
  const again = planApply(parseConfig(sample), await readRunning(api));
  assert.ok(isNoOp(again), again.map(describeChange).join('\n'));
  const exported = stringifyConfig(toExport(await readRunning(api)));
  const roundTrip = planApply(parseConfig(exported), await readRunning(api));
  assert.deepEqual(roundTrip, []);
  assert.match(exported, /Blob: !!binary/);
  assert.doesNotMatch(exported, /RestartThreshold/, 'defaults are left out');
});

test('apply updates: properties back to defaults, parameters, dependencies, group changes, and --prune', async (t) => {
  const api = await fresh(t);
  await apply(api, sample);
  await api.createGroup('Stray');
  const edited = sample
    .replace('FailoverThreshold: 2', 'Priority: 1000')
    .replace('PreferredOwners: [node1, node2]', 'PreferredOwners: [node2]')
    .replace('properties: { PersistentState: 0 }', '')
    .replace('"[CMS01 Disk]   AND [CMS01/First Storage Group]"', '"[CMS01 Disk]"')
    .replace('Weight: 7', 'Weight: 8')
    .replace('    properties: { Priority: 3000 }\n    resources:\n      Site:', '    properties: { Priority: 3000 }\n    resources:\n      Site2:')
    .replace('      CMS01 Disk:', '      Site:\n        type: Generic Application\n        parameters: { CommandLine: node server.js }\n      CMS01 Disk:');
  const desired = parseConfig(edited);
  const dry = planApply(desired, await readRunning(api), { prune: true });
  const text = dry.map(describeChange).join('\n');
  assert.match(text, /~ group "Mailbox CMS01": PreferredOwners \["node1","node2"\] -> \["node2"\], Priority 2000 -> 1000/);
  assert.match(text, /~ resource "CMS01\/First Storage Group": PersistentState 0 -> 1/);
  assert.match(text, /~ resource "Site": group "Web" -> "Mailbox CMS01"/);
  assert.match(text, /parameters: Weight 7 -> 8/);
  assert.match(text, /- group "Stray"/);
  assert.match(text, /\+ resource "Site2"/);
  await applyPlan(api, dry);
  assert.equal((await api.getResource('Site')).group, 'Mailbox CMS01');
  assert.equal((await api.getResource('CMS01 Mailbox')).dependencies, '[CMS01 Disk]');
  assert.equal((await api.getGroup('Mailbox CMS01')).common.FailoverThreshold, 2, 'no default: left as it is');
  await assert.rejects(api.getGroup('Stray'), { name: 'ERROR_GROUP_NOT_FOUND' });
  assert.ok(isNoOp(planApply(desired, await readRunning(api), { prune: true })));
});

test('apply is all or nothing: a change the cluster refuses undoes the ones before it', async (t) => {
  const api = await fresh(t);
  await apply(api, sample);
  // The mailbox online (its providers with it): the cluster refuses to delete an online resource (5019).
  const online = await operationEnded(api, await api.onlineResource('CMS01 Mailbox'));
  assert.equal(online.ok, true, JSON.stringify(online));
  const before = toExport(await readRunning(api));
  const edited = sample.replace('Priority: 3000', 'Priority: 4000').replace(/ {6}CMS01 Mailbox:\n.*\n.*\n/, '');
  const changes = planApply(parseConfig(edited), await readRunning(api), { prune: true });
  assert.deepEqual(changes.map(describeChange), [
    '~ group "Web": Priority 3000 -> 4000',
    '~ resource "CMS01 Mailbox": dependencies "[CMS01 Disk] and [CMS01/First Storage Group]" -> "" (it is deleted)',
    '- resource "CMS01 Mailbox" (in group "Mailbox CMS01")',
  ]);
  await assert.rejects(applyPlan(api, changes), (e: any) => e.name === 'ERROR_RESOURCE_ONLINE' && /every change made before it was undone/.test(e.message));
  assert.deepEqual(toExport(await readRunning(api)), before);
});

test('a resource whose type differs from the cluster\'s is refused before anything changes', async (t) => {
  const api = await fresh(t);
  await apply(api, sample);
  const running = await readRunning(api);
  assert.throws(() => planApply(parseConfig(sample.replace('type: Generic Application', 'type: Dummy')), running), /type cannot change/);
});

test('state: online/offline per group is parsed, checked against the resources, applied and exported back', async (t) => {
  assert.throws(() => parseConfig('version: 1\ngroups:\n  G: { state: up }\n'), /groups\.G\.state: must be online or offline, got "up"/);
  const contradiction = validateConfig(parseConfig('version: 1\ngroups:\n  G:\n    state: offline\n    resources:\n      R: { type: Dummy, properties: { PersistentState: 1 } }\n'), {});
  assert.ok(contradiction.some((f) => f.severity === 'error' && /contradicts its group's state: offline/.test(f.message)));

  const api = await fresh(t);
  const text = `
version: 1
groups:
  On:
    state: online
    resources: { On1: { type: Dummy }, On2: { type: Dummy, dependencies: "[On1]" } }
  Off:
    state: offline
    resources: { Off1: { type: Dummy }, Off2: { type: Dummy } }
  Mixed:
    resources: { M1: { type: Dummy }, M2: { type: Dummy, properties: { PersistentState: 0 } } }
`;
  await apply(api, text);
  const ps = async (r: string) => (await api.getResource(r)).common.PersistentState;
  assert.deepEqual(await Promise.all(['On1', 'On2', 'Off1', 'Off2', 'M1', 'M2'].map(ps)), [1, 1, 0, 0, 1, 0]);
  const exported = toExport(await readRunning(api));
  assert.equal(exported.groups.On!.state, 'online');
  assert.equal(exported.groups.Off!.state, 'offline');
  assert.equal(exported.groups.Mixed!.state, undefined, 'resources disagree: each keeps its own PersistentState');
  assert.equal(exported.groups.Off!.resources!.Off1!.properties, undefined, 'the state says it; no PersistentState per resource');
  assert.deepEqual(planApply(parseConfig(stringifyConfig(exported)), await readRunning(api)), []);

  // Turning a group offline is one group operation, not one change per resource.
  const flipped = planApply(parseConfig(text.replace('state: online', 'state: offline')), await readRunning(api));
  assert.deepEqual(flipped.map(describeChange), ['~ group "On": state online -> offline']);
  await applyPlan(api, flipped);
  assert.deepEqual(await Promise.all(['On1', 'On2'].map(ps)), [0, 0]);
  assert.ok(isNoOp(planApply(parseConfig(text.replace('state: online', 'state: offline')), await readRunning(api))));
});

test('new groups are planned whole, one after the other: the group, its resources, their dependencies', async (t) => {
  const api = await fresh(t);
  const changes = planApply(parseConfig('version: 1\ngroups:\n  A: { resources: { A1: { type: Dummy }, A2: { type: Dummy, dependencies: "[A1]" } } }\n  B: { resources: { B1: { type: Dummy } } }\n'), await readRunning(api));
  assert.deepEqual(changes.map(describeChange), ['+ group "A"', '+ resource "A1" (Dummy) in group "A"', '+ resource "A2" (Dummy) in group "A"', '~ resource "A2": dependencies "" -> "[A1]"', '~ group "A": online once created', '+ group "B"', '+ resource "B1" (Dummy) in group "B"', '~ group "B": online once created']);
});

/** n groups of three resources, the third depending on the other two. */
function manyGroups(n: number): string {
  const lines = ['version: 1', 'groups:'];
  for (let i = 0; i < n; i++) lines.push(`  G${i}: { resources: { G${i}a: { type: Dummy }, G${i}b: { type: Dummy }, G${i}c: { type: Dummy, dependencies: "[G${i}a] and [G${i}b]" } } }`);
  return `${lines.join('\n')}\n`;
}

test('a new group whose creation got no answer is looked up: made whole, apply goes on; not made, apply stops there', async (t) => {
  const text = manyGroups(10);
  const timeout = new ClusterError('ERROR_TIMEOUT', 'POST /v1/groups: no answer within 30000 ms');
  for (const made of [true, false]) {
    const api = await fresh(t);
    let calls = 0;
    const lossy = new Proxy(api, {
      get(target, prop, receiver) {
        if (prop === 'createGroup') {
          return async (name: string, ...rest: Parameters<ClusterApi['createGroup']> extends [string, ...infer R] ? R : never) => {
            calls++;
            if (name !== 'G5') return target.createGroup(name, ...rest);
            if (made) await target.createGroup(name, ...rest);
            throw timeout;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const changes = planApply(parseConfig(text), await readRunning(api));
    if (made) {
      await applyPlan(lossy, changes);
      assert.equal((await api.getResource('G5c')).dependencies, '[G5a] and [G5b]');
      assert.ok(isNoOp(planApply(parseConfig(text), await readRunning(api))));
    } else {
      await assert.rejects(applyPlan(lossy, changes), (e: any) => {
        assert.equal(e.name, 'ERROR_TIMEOUT');
        assert.match(e.message, /apply stopped at createGroup "G5"/);
        return true;
      });
      assert.equal(calls, 6, 'no retry of the group change by change after a call without an answer');
      assert.equal((await api.listGroups()).length, 0, 'its batch (every group) was undone');
    }
  }
});

test('a large apply runs in batches with progress; a refusal undoes only its batch, and running it again makes what remains', async (t) => {
  const api = await fresh(t);
  const text = manyGroups(30); // 30 x (group + 3 resources + 1 dependency + online) = 180 changes
  const changes = planApply(parseConfig(text), await readRunning(api));
  assert.equal(changes.length, 180);
  // The cluster refuses group G25 (say, a store hiccup): batch 3 (changes 121-180) stops there.
  let refuse = true;
  const flaky = new Proxy(api, {
    get(target, prop, receiver) {
      if (prop === 'createGroup' && refuse) {
        return (name: string, ...rest: Parameters<ClusterApi['createGroup']> extends [string, ...infer R] ? R : never) =>
          name === 'G25' ? Promise.reject(new ClusterError('ERROR_CLUSTER_NODE_NOT_READY', 'the cluster is busy')) : target.createGroup(name, ...rest);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const seen: ApplyProgress[] = [];
  await assert.rejects(applyPlan(flaky, changes, { batchChangesMax: 60, onProgress: (p) => seen.push(p) }), (e: any) => {
    assert.equal(e.name, 'ERROR_CLUSTER_NODE_NOT_READY');
    assert.match(e.message, /apply stopped at createGroup "G25"/);
    assert.match(e.message, /120 change\(s\) of earlier batches stay applied: run apply again to make the 60 that remain/);
    assert.equal(e.failure.applied, 120);
    return true;
  });
  assert.deepEqual(seen.map((p) => [p.done, p.total, p.batch, p.batches]), [[60, 180, 1, 3], [120, 180, 2, 3]]);
  assert.equal((await api.listGroups()).length, 20, 'two batches of whole groups stay; the third was undone');
  // Running apply again plans only the rest, and then nothing.
  refuse = false;
  const rest = planApply(parseConfig(text), await readRunning(api));
  assert.equal(rest.filter((c) => c.op === 'createGroup').length, 10);
  await applyPlan(api, rest);
  assert.equal((await api.listGroups()).length, 30);
  assert.equal((await api.getResource('G29c')).dependencies, '[G29a] and [G29b]');
  assert.ok(isNoOp(planApply(parseConfig(text), await readRunning(api))));
});
