// Custom resource types loaded from a directory: the example in
// examples/resource-types runs through a cluster whose types run in resource
// host processes, and modules that are not types are refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ClusterError } from '../../src/model/errors.ts';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { loadTypesDir } from '../../src/types/types-dir.ts';
import { until as untilWithin } from '../support/until.ts';

const examples = fileURLToPath(new URL('../../examples/resource-types', import.meta.url));
/** Two nodes starting host processes on a loaded machine. */
const STEP_BOUND_MS = 60_000;

test('every definition a module in the directory exports becomes a type that a host process can load', async () => {
  const defs = await loadTypesDir(examples);
  assert.deepEqual(defs.map((d) => d.descriptor.name), ['Heartbeat File']);
  assert.deepEqual(defs[0]!.module, { url: pathToFileURL(join(examples, 'heartbeat-file.ts')).href, export: 'heartbeatFileType' });
});

test('a missing directory, or a module without a definition, is refused naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-types-'));
  try {
    await assert.rejects(loadTypesDir(join(dir, 'missing')), (e: ClusterError) => e.name === 'ERROR_FILE_NOT_FOUND' && /cannot be read/.test(e.message));
    writeFileSync(join(dir, 'notes.txt'), 'ignored: not a module');
    writeFileSync(join(dir, 'helper.mjs'), 'export const answer = 42;\n');
    await assert.rejects(loadTypesDir(dir), (e: ClusterError) => e.name === 'ERROR_INVALID_DATA' && /helper\.mjs exports no resource type definition/.test(e.message));
    rmSync(join(dir, 'helper.mjs'));
    writeFileSync(join(dir, 'broken.mjs'), 'export const broken = ;\n');
    await assert.rejects(loadTypesDir(dir), (e: ClusterError) => e.name === 'ERROR_INVALID_DATA' && /broken\.mjs cannot be loaded/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the example type runs in host processes: online writes the file on the owner, a move rewrites it from the other node, offline removes it', async () => {
  const defs = await loadTypesDir(examples);
  const dir = mkdtempSync(join(tmpdir(), 'failover-heartbeat-'));
  const cluster = await LocalCluster.start({
    nodes: ['node1', 'node2'],
    hostProcesses: true,
    types: () => {
      const r = builtinResourceTypes();
      for (const d of defs) r.register(d);
      return r;
    },
  });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  const file = join(dir, 'beat');
  const writtenBy = (node: string) => () => existsSync(file) && readFileSync(file, 'utf8').startsWith(`${node} `);
  try {
    await api.createGroup('G', { PreferredOwners: ['node1'] });
    await api.createResource('Beat', 'Heartbeat File', 'G', { parameters: { Path: file, IntervalMs: 100 } });
    await api.onlineGroup('G');
    await until('written by node1', writtenBy('node1'));
    assert.equal(cluster.agent('node1').host.isIsolated('Beat'), false);
    assert.ok(cluster.agent('node1').host.hostPidOf('Beat'), 'runs in a host process');
    const op = await api.moveGroup('G', { to: 'node2' });
    await until('the move ended', async () => (await api.getOperation(op.id)).done);
    await until('written by node2', writtenBy('node2'));
    await api.offlineGroup('G');
    await until('G Offline', async () => (await api.getGroup('G')).state === 'Offline');
    assert.equal(existsSync(file), false);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const until = (what: string, cond: () => Promise<boolean> | boolean, maxMs = STEP_BOUND_MS): Promise<void> => untilWithin(what, cond, maxMs);
