// Declarative configuration: parsing, validation findings, the plan, apply
// (idempotent, all or nothing) and the export round trip, over the in-memory
// ClusterApi double.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryApi, type MemoryClusterApi } from '../../src/api/memory.ts';
import { parseConfig, stringifyConfig } from '../../src/config/document.ts';
import { readRunning, toExport } from '../../src/config/running.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { describeChange, isNoOp, planApply } from '../../src/config/plan.ts';
import { applyPlan } from '../../src/config/apply.ts';
import { memoryApiDefaultTypes } from '../../src/api/memory.ts';

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
        type: Dummy
        parameters: { Weight: 7, Blob: !!binary AQID }
      CMS01/First Storage Group:
        type: Dummy
        properties: { PersistentState: 0 }
      CMS01 Mailbox:
        type: Dummy
        dependencies: "[CMS01 Disk]   AND [CMS01/First Storage Group]"
  Web:
    properties: { Priority: 3000 }
    resources:
      Site:
        type: Generic Application
        parameters: { CommandLine: node server.js }
`;

function fresh(t: { after: (fn: () => void) => void }): MemoryClusterApi {
  const mem = createMemoryApi({ stepDelayMs: 1 });
  t.after(() => mem.dispose());
  return mem;
}

async function apply(api: MemoryClusterApi, text: string, prune = false) {
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
      Bad: { type: Dummy, properties: { RestartAction: 9 }, parameters: { Weight: "x" } }
      Offline: { type: Dummy, properties: { PersistentState: 0 } }
      NeedsOffline: { type: Dummy, dependencies: "[Offline]" }
  B:
    resources:
      Site: { type: Dummy, properties: { PossibleOwners: [node7] } }
`);
  const findings = validateConfig(doc, { nodes: ['node1', 'node2', 'node3'], types: memoryApiDefaultTypes });
  const has = (severity: string, object: string, re: RegExp): boolean => findings.some((f) => f.severity === severity && f.object === object && re.test(f.message));
  assert.ok(has('error', 'group "A"', /PreferredOwners names "node9"/));
  assert.ok(has('warning', 'group "A"', /FailoverThreshold is 0/));
  assert.ok(has('error', 'resource "Loop1"', /dependency cycle/));
  assert.ok(has('error', 'resource "Cross"', /another group/));
  assert.ok(has('error', 'resource "Typo"', /unknown resource type "Dumy"/));
  assert.ok(has('error', 'resource "Bad"', /RestartAction/));
  assert.ok(has('error', 'resource "Bad"', /Weight/));
  assert.ok(has('error', 'resource "Site"', /no possible owner is a node/));
  assert.ok(has('error', 'group "B"', /no node is a possible owner of every resource/));
  assert.ok(has('warning', 'group "A"', /only "node1" can host it/));
  assert.ok(has('warning', 'resource "NeedsOffline"', /KB2893882/));
  const clean = validateConfig(parseConfig(sample), { nodes: ['node1', 'node2', 'node3'], types: memoryApiDefaultTypes });
  // The sample itself has the seed's shape: the mailbox depends on a storage group kept offline.
  assert.deepEqual(
    clean.filter((f) => f.severity !== 'info').map((f) => [f.severity, f.object]),
    [['warning', 'resource "CMS01 Mailbox"']],
  );
});

test('apply creates everything, a second apply is a no-op, export -> apply is a no-op', async (t) => {
  const api = fresh(t);
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
  const api = fresh(t);
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
  const api = fresh(t);
  await apply(api, sample);
  // Bring the mailbox online, then ask for a new provider it cannot have while online (5019).
  const op = await api.onlineResource('CMS01 Mailbox');
  for (let i = 0; i < 500 && !(await api.getOperation(op.id)).done; i++) await new Promise((r) => setTimeout(r, 2));
  const before = toExport(await readRunning(api));
  const edited = sample
    .replace('Priority: 3000', 'Priority: 4000')
    .replace('"[CMS01 Disk]   AND [CMS01/First Storage Group]"', '"[CMS01 Disk] and [CMS01/First Storage Group] and [New]"')
    .replace('      CMS01 Disk:', '      New:\n        type: Dummy\n      CMS01 Disk:');
  const changes = planApply(parseConfig(edited), await readRunning(api));
  await assert.rejects(applyPlan(api, changes), (e: any) => e.name === 'ERROR_RESOURCE_ONLINE' && /every change made before it was undone/.test(e.message));
  assert.deepEqual(toExport(await readRunning(api)), before);
});

test('a resource whose type differs from the cluster\'s is refused before anything changes', async (t) => {
  const api = fresh(t);
  await apply(api, sample);
  const running = await readRunning(api);
  assert.throws(() => planApply(parseConfig(sample.replace('type: Generic Application', 'type: Dummy')), running), /type cannot change/);
});
