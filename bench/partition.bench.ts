// Network partitions of a distributed cluster, Jepsen-style
// (test/distributed/partition-run.ts): 3 network namespaces, each with an
// etcd member and a `failover agent`; FAILOVER_BENCH_PARTITION_CYCLES (20)
// cycles cut off the etcd leader's node or another group owner (by link
// and by dropped packets, in turn) and heal it; then the leader's node sits
// on a slow, lossy link. Prints, beside the targets:
// - polls at which a group ran on two nodes (target 0);
// - failover time from the cut until the group is Online on another node,
//   as an agent's API shows it (target p99 < 5 s), over all cuts and per
//   kind of node cut, and until its process runs there;
// - acknowledged writes lost (target 0).
// Needs root (network namespaces); says so and exits otherwise. About
// 10-15 s a cycle. FAILOVER_BENCH_PARTITION_ETCD=defaults runs etcd with
// its default timing instead of the LAN timing; ..._AGENT_ETCD=all gives
// each agent all three endpoints instead of its own member's.
import { report, summary } from './stats.ts';
import { partitionUnavailableReason, runPartitions, slowLink, type CutCycle } from '../test/distributed/partition-run.ts';
import { distributedAgentLimits } from '../src/node/limits.ts';

const CYCLES = Number(process.env.FAILOVER_BENCH_PARTITION_CYCLES ?? 20);
const SLOW_LINK_MS = 20_000;
const FAILOVER_P99_TARGET_MS = 5_000;

const unavailable = await partitionUnavailableReason();
if (unavailable) {
  console.log(`skipped: ${unavailable}`);
  process.exit(0);
}

const start = Date.now();
const r = await runPartitions({
  cycles: CYCLES,
  slowLinkMs: SLOW_LINK_MS,
  ...(process.env.FAILOVER_BENCH_PARTITION_ETCD === 'defaults' ? { etcdTiming: 'etcd-defaults' as const } : {}),
  ...(process.env.FAILOVER_BENCH_PARTITION_AGENT_ETCD === 'all' ? { agentEtcd: 'all' as const } : {}),
  log: (line) => console.log(`  ${line}`),
});
const l = distributedAgentLimits;
const timing = r.etcdTiming === 'etcd-defaults' ? "etcd's defaults (heartbeat 100 ms, election 1000 ms)" : `heartbeat ${r.etcdTiming.heartbeatIntervalMs} ms, election ${r.etcdTiming.electionTimeoutMs} ms`;
console.log(
  `settings: etcd ${timing}; agents on ${r.agentEtcd === 'local' ? 'their own etcd member' : 'all etcd endpoints'}; lease TTL ${l.leaseTtlSeconds} s, ` +
    `self-fence margin ${l.selfFenceMarginMs} ms, fence margin ${l.fenceMarginMs} ms; groups: one Generic Application (Online 1 s after its start)`,
);

const failovers = (cycles: readonly CutCycle[]) => cycles.flatMap((c) => c.failovers);
const all = failovers(r.cycles);
report(`polls with a group on two nodes (${r.watcher.polls} polls, target 0)`, r.doubleOnline.length);
report('groups started before the cut node stopped (target 0)', r.orderViolations.length);
for (const v of r.orderViolations) console.log(`  ${v}`);
const online = summary(all.map((f) => f.ms));
report(`failover, cut to Online elsewhere (${online.n} in ${r.cycles.length} cuts): median`, online.median, 'ms');
report(`failover, cut to Online elsewhere: p99 (target < ${FAILOVER_P99_TARGET_MS})`, online.p99, 'ms');
report('failover, cut to Online elsewhere: max', online.max, 'ms');
for (const [kind, what] of [['leader', "etcd leader's node cut"], ['node', 'another node cut']] as const) {
  const s = summary(failovers(r.cycles.filter((c) => c.kind === kind)).map((f) => f.ms));
  report(`  ${what} (${s.n}): median / p99`, `${s.median} / ${s.p99}`, 'ms');
}
const running = summary(all.flatMap((f) => (f.runningMs === undefined ? [] : [f.runningMs])));
report('  cut to its process running elsewhere: median / p99', `${running.median} / ${running.p99}`, 'ms');
const gaps = all.flatMap((f) => (f.stopToStartMs === undefined ? [] : [f.stopToStartMs]));
report('cut node stopped before the new owner started: least', gaps.length > 0 ? Math.min(...gaps) : NaN, 'ms');
report('cuts during which another node fenced itself', r.cycles.filter((c) => c.othersFenced.length > 0).length);
const recover = summary(r.cycles.map((c) => c.recoverMs));
report('heal to every node Up and every group Online: median / p99', `${recover.median} / ${recover.p99}`, 'ms');
report(`acknowledged guarded writes lost (of ${r.fenced.acked}, target 0)`, r.fenced.lost.length + r.fenced.stale.length);
report(`acknowledged database writes lost (of ${r.database.acked}, target 0)`, r.database.lost.length);
if (r.slow) {
  report(
    `slow link (${slowLink.rate}, ${slowLink.lossPercent}% loss) ${r.slow.heldMs / 1000} s on the leader's node`,
    `${r.slow.moved.length} group(s) moved, ${r.slow.fenced.length} node(s) fenced, whole again ${r.slow.recoverMs} ms after the heal`,
  );
}
console.log(`(${Math.round((Date.now() - start) / 1000)} s)`);
if (r.doubleOnline.length > 0 || r.orderViolations.length > 0) console.log('note: a group ran on two nodes, or started before the cut node stopped it');
if (online.p99 >= FAILOVER_P99_TARGET_MS) console.log(`note: failover p99 is above the ${FAILOVER_P99_TARGET_MS / 1000} s target`);
if (r.fenced.lost.length + r.fenced.stale.length + r.database.lost.length > 0) console.log('note: acknowledged writes were lost');
