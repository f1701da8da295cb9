// Network partitions of a distributed cluster (partition-run.ts), as root:
// three network namespaces, each with an etcd member and an agent. Four
// cycles cut off the etcd leader's node and another group owner, each once
// by its link going down and once by its packets being dropped; then the
// leader's node sits on a slow, lossy link. No group may ever run on two
// nodes, the cut-off node must stop its processes before the new owner
// starts them, every group must be Online again after each heal, and no
// acknowledged write may be lost. bench/partition.bench.ts runs 20 cycles
// and prints the failover times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionUnavailableReason, runPartitions } from './partition-run.ts';

/** FAILOVER_PARTITION_CYCLES changes it; npm test keeps it short. */
const cycles = Number(process.env.FAILOVER_PARTITION_CYCLES ?? 4);
const slowLinkMs = 15_000;
/** A cycle takes 10-20 s (a failover, a heal, the cluster whole again); on a starved machine far more, up to the run's own bounds. */
const runBoundMs = 180_000 + cycles * 60_000;

// As root this installs nftables if it is missing (the cuts by dropping packets and the slow link's loss are nftables rules).
const unavailable = await partitionUnavailableReason();
const name = `network partitions: ${cycles} cuts of the etcd leader's node or another owner, then a slow link; one node per group, stop before start, nothing acknowledged lost`;

test(unavailable ? `${name} (skipped: ${unavailable})` : name, { skip: unavailable !== undefined, timeout: runBoundMs }, async (t) => {
  const report = await runPartitions({ cycles, slowLinkMs, log: (line) => t.diagnostic(line) });
  assert.deepEqual(report.doubleOnline.slice(0, 3), [], 'processes of one group alive on two nodes');
  assert.deepEqual(report.orderViolations, [], 'the cut-off node stopped a group before the new owner started it');
  assert.ok(report.watcher.polls > 1000, `the watcher polled (${report.watcher.polls} polls, longest gap ${report.watcher.maxGapMs} ms)`);
  assert.equal(report.cycles.length, cycles);
  for (const [i, c] of report.cycles.entries()) assert.ok(c.failovers.length > 0, `cycle ${i + 1} failed a group over`);
  assert.ok(report.database.acked > 0 && report.fenced.acked > 0, 'writes were acknowledged');
  assert.deepEqual(report.database.lost.slice(0, 3), [], 'acknowledged database writes missing');
  assert.deepEqual(report.fenced.lost.slice(0, 3), [], 'acknowledged writes missing from the shared logs');
  assert.deepEqual(report.fenced.stale.slice(0, 3), [], "an old owner's write acknowledged after a newer owner's");
  t.diagnostic(
    `${report.fenced.acked} guarded writes and ${report.database.acked} database writes acknowledged, none lost; ` +
      `${report.fenced.refused} stale writers refused; ${report.watcher.polls} polls, longest gap ${report.watcher.maxGapMs} ms`,
  );
});
