// The split-brain watcher must see what it is there to see: one group's
// processes alive under two nodes at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { guardedEnvironment } from '../../src/node/guarded-types.ts';
import { waitUntil, watchResourceProcesses, type SplitBrain } from './harness.ts';

function fakeResource(tag: string, group: string, node: string) {
  // As a Generic Application starts it: sh -c "exec ...", with the node in the environment.
  return spawn('/bin/sh', ['-c', `exec '${process.execPath}' -e 'setTimeout(() => {}, 30000)' -- --tag ${tag} --group ${group}`], {
    env: { ...process.env, [guardedEnvironment.node]: node },
    stdio: 'ignore',
  });
}

test('the process watcher reports a group alive on two nodes, and not one on a single node', async () => {
  const tag = `w${randomBytes(4).toString('hex')}`;
  const watcher = await watchResourceProcesses(tag, 10);
  const procs = [fakeResource(tag, 'G1', 'nA'), fakeResource(tag, 'G2', 'nA')];
  try {
    await waitUntil('G1 seen on nA', () => watcher.nodesOf('G1').join() === 'nA', 5_000);
    assert.deepEqual(watcher.violations, []);
    procs.push(fakeResource(tag, 'G1', 'nB'));
    await waitUntil('the double run reported', () => watcher.violations.length > 0, 5_000);
    const seen: readonly SplitBrain[] = watcher.violations;
    assert.equal(seen[0]!.group, 'G1');
    assert.deepEqual([...seen[0]!.nodes].sort(), ['nA', 'nB']);
    assert.ok(seen.every((v) => v.group === 'G1'));
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await watcher.stop();
  }
});
