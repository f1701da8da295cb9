// failover simulate on a violation: exit 1 with the seed, the step, the
// invariant and the last events; logs diagnosable by failover log diagnose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin', 'failover.js');

test('a violated expectation: exit 1, seed, step, invariant and last events are printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  try {
    const file = join(dir, 'offline.yaml');
    // The operator takes the resource offline; the scenario (wrongly) expects it online: the checker must say so.
    writeFileSync(
      file,
      [
        'name: wrong expectation',
        'nodes: 2',
        'steps: 40',
        'groups:',
        '  - { name: G, preferredOwners: [node1], resources: [{ name: R }] }',
        'events:',
        '  - { step: 10, action: offlineResource, resource: R }',
        'expect:',
        '  - { step: 30, resource: R, state: Online }',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [cli, 'simulate', '--seed', '3', '--scenario', file, '--log', join(dir, 'logs')], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /seed 3/);
    assert.match(r.stdout, /VIOLATION of persistent-state at step 30 \(safety phase/);
    assert.match(r.stdout, /scenario expects R Online after step 30, but it is Offline on node1/);
    assert.match(r.stdout, /reproduce: failover simulate --seed 3 --steps 40 --scenario /);
    assert.match(r.stdout, /last events:\n(.*\n)*.*operator: offlineResource R/);
    const d = spawnSync(process.execPath, [cli, 'log', 'diagnose', join(dir, 'logs', 'node1_cluster.log'), join(dir, 'logs', 'node2_cluster.log')], { cwd: root, encoding: 'utf8' });
    assert.ok(d.status === 0 || d.status === 1, d.stderr);
    assert.match(d.stdout, /node1_cluster\.log \(node node1\): \d+ lines, \d+ parsed, 0 unparsed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scenario with a mistake is refused with exit 2, naming the place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'events:\n  - { step: 3, action: explode, node: node1 }\n');
    const r = spawnSync(process.execPath, [cli, 'simulate', '--scenario', file], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /events\[0\]: action must be one of crashNode, .*"explode"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
