// The OCF resource type: exit codes, meta-data, and the entry points against a
// fixture agent in the repository (test/types/fixtures/ocf) and, when it is
// installed (npm test installs Debian's resource-agents), ocf:heartbeat:Dummy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../src/clock/real.ts';
import { ClusterError, errors } from '../../src/model/errors.ts';
import { validateProperties } from '../../src/model/properties.ts';
import {
  OCF_ROOT_DEFAULT,
  ocfExitCodes,
  ocfOutcome,
  ocfTypeDefinition,
  ocfTypeDefinitions,
  parseOcfDuration,
  parseOcfMetaData,
} from '../../src/types/ocf.ts';
import { ResourceTypeRegistry, type ResourceType } from '../../src/types/resource-type.ts';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { contextFor } from './context.ts';
import { until as untilWithin } from '../support/until.ts';

const fixtureRoot = fileURLToPath(new URL('./fixtures/ocf', import.meta.url));
const clock = new RealClock();
/** A cluster with host processes bringing a group online on a loaded machine. */
const ONLINE_BOUND_MS = 60_000;

test('OCF exit codes map to running, stopped or a WSFC error', () => {
  assert.equal(ocfOutcome(ocfExitCodes.OCF_SUCCESS), 'running');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_DEGRADED), 'running');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_RUNNING_PROMOTED), 'running');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_NOT_RUNNING), 'stopped');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_GENERIC), 'ERROR_RESOURCE_FAILED');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_FAILED_PROMOTED), 'ERROR_RESOURCE_FAILED');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_ARGS), 'ERROR_INVALID_PARAMETER');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_CONFIGURED), 'ERROR_INVALID_PARAMETER');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_UNIMPLEMENTED), 'ERROR_NOT_SUPPORTED');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_PERM), 'ERROR_ACCESS_DENIED');
  assert.equal(ocfOutcome(ocfExitCodes.OCF_ERR_INSTALLED), 'ERROR_FILE_NOT_FOUND');
  assert.equal(ocfOutcome(null), 'ERROR_RESOURCE_FAILED');
  assert.equal(ocfOutcome(42), 'ERROR_RESOURCE_FAILED');
});

test('OCF durations: seconds by default, ms, minutes, hours', () => {
  assert.equal(parseOcfDuration('10s'), 10_000);
  assert.equal(parseOcfDuration('20'), 20_000);
  assert.equal(parseOcfDuration('500ms'), 500);
  assert.equal(parseOcfDuration('2m'), 120_000);
  assert.equal(parseOcfDuration('1h'), 3_600_000);
  assert.equal(parseOcfDuration('soon'), undefined);
  assert.equal(parseOcfDuration(undefined), undefined);
});

test('meta-data: parameters become typed private properties, monitor intervals the poll intervals', async () => {
  const def = await ocfTypeDefinition(fixtureRoot, 'failover-test', 'Flag');
  const d = def.descriptor;
  assert.equal(d.name, 'ocf:failover-test:Flag');
  assert.equal(d.description, 'Flag file');
  assert.deepEqual(
    d.privateProperties.map((p) => [p.name, p.kind, p.default]),
    [
      ['dir', 'string', undefined],
      ['start_exit', 'dword', 0],
      ['verbose', 'dword', 0],
      ['hang', 'string', undefined],
    ],
  );
  assert.match(d.privateProperties[0]!.description, /\(required\)/);
  assert.equal(d.looksAlivePollIntervalMs, 7_000);
  assert.equal(d.isAlivePollIntervalMs, 45_000);
  // Typed and validated like any private property.
  assert.equal(validateProperties('Flag', d.privateProperties, { start_exit: 'x' })?.code, errors.ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH.code);
  assert.equal(validateProperties('Flag', d.privateProperties, { verbose: 2 })?.code, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code);
  assert.equal(validateProperties('Flag', d.privateProperties, { dir: '/tmp', start_exit: 1, verbose: 1 }), undefined);
  // A resource host process finds the same definition through its module.
  assert.deepEqual(def.module?.args, [fixtureRoot, 'failover-test', 'Flag']);
});

test('meta-data that is not OCF is refused with ERROR_INVALID_DATA', () => {
  assert.throws(() => parseOcfMetaData('ocf:x:y', '<other/>'), (e: ClusterError) => e.name === 'ERROR_INVALID_DATA');
  const one = parseOcfMetaData('ocf:x:y', '<resource-agent name="y"><actions><action name="monitor" interval="3s"/></actions></resource-agent>');
  assert.equal(one.descriptor.looksAlivePollIntervalMs, 3_000);
  assert.equal(one.descriptor.isAlivePollIntervalMs, 60_000);
  assert.deepEqual(one.descriptor.privateProperties, []);
});

async function flagType(): Promise<ResourceType> {
  const def = await ocfTypeDefinition(fixtureRoot, 'failover-test', 'Flag');
  return def.create({ clock, clusterDatabase: { readParameters: async () => ({}) } });
}

test('entry points run the agent: validate-all at open, start, monitor at both check levels, stop; exit codes become errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-ocf-'));
  try {
    const type = await flagType();
    const ctx = (parameters: Record<string, string | number> = {}, deadlineMs = 10_000) => ({ ...contextFor(type, 'My Res/1', { dir, ...parameters }), deadlineMs });
    await type.open(ctx());
    await assert.rejects(type.open(ctx({ dir: '' })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER' && /required parameter dir not set/.test(e.message));
    await assert.rejects(type.open(ctx({ dir: join(dir, 'missing') })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER' && /validate-all failed with exit code 6 \(OCF_ERR_CONFIGURED\); output: no directory/.test(e.message));
    assert.equal(await type.looksAlive(ctx()), false, 'OCF_NOT_RUNNING before start');
    await type.online(ctx({ verbose: 1 }, 12_345));
    const flag = join(dir, 'My_Res_1');
    assert.equal(readFileSync(flag, 'utf8'), 'level= verbose=true timeout=12345\n', 'parameters as OCF_RESKEY_*, the deadline as OCF_RESKEY_CRM_meta_timeout');
    assert.equal(await type.looksAlive(ctx()), true);
    assert.equal(await type.isAlive(ctx()), true);
    assert.match(readFileSync(flag, 'utf8'), /monitor level=0\nmonitor level=10\n$/);
    await type.offline(ctx());
    assert.equal(existsSync(flag), false);
    await type.offline(ctx()); // stop of a stopped resource succeeds
    await assert.rejects(type.online(ctx({ start_exit: 5 })), (e: ClusterError) => e.name === 'ERROR_FILE_NOT_FOUND' && /start failed with exit code 5 \(OCF_ERR_INSTALLED\)/.test(e.message));
    assert.deepEqual(await type.control(ctx(), { code: 'ValidateAll' }), { exitCode: 0, meaning: 'exit code 0 (OCF_SUCCESS)' });
    assert.match(((await type.control(ctx(), { code: 'GetMetaData' })) as { xml: string }).xml, /<resource-agent name="Flag"/);
    await assert.rejects(type.control(ctx(), { code: 'Nope' }), (e: ClusterError) => e.name === 'ERROR_NOT_SUPPORTED');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an agent action past the call's deadline is killed with its process group", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-ocf-'));
  try {
    const type = await flagType();
    const abort = new AbortController();
    const started = Date.now();
    const online = type.online(contextFor(type, 'R', { dir, hang: 'start' }, abort.signal));
    setTimeout(() => abort.abort(), 300);
    await assert.rejects(online, (e: ClusterError) => e.name === 'ERROR_OPERATION_ABORTED');
    assert.ok(Date.now() - started < 10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every agent under a root becomes a type; agents without meta-data are skipped and named', async () => {
  const { definitions, skipped } = await ocfTypeDefinitions(fixtureRoot);
  assert.deepEqual(definitions.map((d) => d.descriptor.name), ['ocf:failover-test:Flag']);
  assert.deepEqual(skipped, []);
  const none = await ocfTypeDefinitions(join(fixtureRoot, 'missing'));
  assert.deepEqual(none.definitions, []);
});

const heartbeatDummy = join(OCF_ROOT_DEFAULT, 'resource.d', 'heartbeat', 'Dummy');

test('ocf:heartbeat:Dummy from resource-agents (installed by npm test) runs through a cluster whose types run in host processes', async () => {
  assert.ok(existsSync(heartbeatDummy), `${heartbeatDummy} is missing: npm test installs Debian's resource-agents (apt-get install resource-agents)`);
  const dir = mkdtempSync(join(tmpdir(), 'failover-ocf-dummy-'));
  const { definitions } = await ocfTypeDefinitions(OCF_ROOT_DEFAULT, ['heartbeat:Dummy']);
  const types = (): ResourceTypeRegistry => {
    const r = builtinResourceTypes();
    for (const d of definitions) r.register(d);
    return r;
  };
  const cluster = await LocalCluster.start({ nodes: ['node1', 'node2'], hostProcesses: true, types });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  try {
    const state = join(dir, 'dummy.state');
    await api.createGroup('G', { PreferredOwners: ['node1'] });
    const created = await api.createResource('D', 'ocf:heartbeat:Dummy', 'G', { parameters: { state } });
    assert.equal(created.parameters['state'], state);
    await api.onlineGroup('G');
    await until('G Online', async () => (await api.getGroup('G')).state === 'Online');
    assert.ok(existsSync(state), 'the agent started: its state file exists');
    const op = await api.moveGroup('G', { to: 'node2' });
    await until('the move ended', async () => (await api.getOperation(op.id)).done);
    await until('G Online on node2', async () => {
      const g = await api.getGroup('G');
      return g.state === 'Online' && g.owner === 'node2';
    });
    assert.ok(existsSync(state));
    // The agent's own monitor notices the resource is gone: the resource fails and is restarted.
    rmSync(state);
    await until('the monitor noticed and the resource was restarted', async () => existsSync(state) && (await api.getGroup('G')).state === 'Online');
    assert.ok(cluster.log('node2').lines().some((l) => /TransitionToState\(D\) Online-->Terminating/.test(l)));
    await api.offlineGroup('G');
    await until('G Offline', async () => (await api.getGroup('G')).state === 'Offline');
    assert.equal(existsSync(state), false, 'stop removed the state file');
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const until = (what: string, cond: () => Promise<boolean> | boolean, maxMs = ONLINE_BOUND_MS): Promise<void> => untilWithin(what, cond, maxMs);
