// The same seed gives byte-identical output: twice in one process, and in two
// separate processes of the CLI (report and every node's cluster log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../src/sim/simulation.ts';
import { formatReport, formatReportJson } from '../../src/sim/report.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin', 'failover.js');

function logsOf(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

test('one seed twice in one process: identical reports and cluster logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  try {
    const options = { seed: 7, steps: 120, nodes: 3, groups: 3 };
    const a = await runSimulation({ ...options, logDir: join(dir, 'a') });
    const b = await runSimulation({ ...options, logDir: join(dir, 'b') });
    assert.equal(formatReportJson(b), formatReportJson(a));
    assert.equal(formatReport(b), formatReport(a));
    const logsA = logsOf(join(dir, 'a'));
    assert.deepEqual([...logsA.keys()], ['node1_cluster.log', 'node2_cluster.log', 'node3_cluster.log']);
    assert.ok([...logsA.values()].every((text) => text.includes('TransitionToState(')), 'the logs hold the RCM transitions');
    assert.deepEqual(logsOf(join(dir, 'b')), logsA);
    // A different seed is a different run.
    const c = await runSimulation({ ...options, seed: 8 });
    assert.notEqual(formatReportJson(c), formatReportJson(a));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one seed in two processes of failover simulate: byte-identical output and logs, equal to the in-process run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  try {
    const args = ['--seed', '11', '--steps', '100', '--nodes', '3', '--groups', '2', '--json'];
    const runs = ['p1', 'p2'].map((name) => {
      const r = spawnSync(process.execPath, [cli, 'simulate', ...args, '--log', join(dir, name)], { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    });
    assert.equal(runs[1], runs[0]);
    assert.deepEqual(logsOf(join(dir, 'p2')), logsOf(join(dir, 'p1')));
    const inProcess = await runSimulation({ seed: 11, steps: 100, nodes: 3, groups: 2 });
    assert.equal(runs[0], formatReportJson(inProcess));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI exits 2 on bad input, naming it', () => {
  const r = spawnSync(process.execPath, [cli, 'simulate', '--seed', 'x1', '--steps', '10'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--seed must be a whole number/);
});
