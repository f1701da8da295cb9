// One node of 64 fails with 10,000 groups / 50,000 resources spread over the
// nodes: how long the node-down plan (placement decisions only) takes.
// Target: < 100 ms. The cluster is generated from a fixed seed, so runs compare.
import { performance } from 'node:perf_hooks';
import { planNodeDown } from '../src/policy/node-down.ts';
import { isPlacementError } from '../src/policy/placement.ts';
import type { ClusterView, PolicyGroup, PolicyNode } from '../src/policy/view.ts';
import { report, summary } from './stats.ts';
import { Prng } from '../src/sim/prng.ts';

const nodeCount = 64;
const groupCount = 10_000;
const resourcesPerGroup = 5;
const antiAffinityClassCount = 50;
const runs = 60;
const warmupRuns = 5;


function buildCluster(): ClusterView {
  const prng = new Prng(42);
  const random = (): number => prng.float();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const nodes: PolicyNode[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node${String(i + 1).padStart(2, '0')}`,
    id: i + 1,
    // A few nodes are not available, so searches skip over them.
    state: i % 16 === 15 ? 'Paused' : i % 21 === 20 ? 'Down' : 'Up',
  }));
  const names = nodes.map((n) => n.name);
  const up = nodes.filter((n) => n.state === 'Up').map((n) => n.name);
  const groups: PolicyGroup[] = [];
  for (let g = 0; g < groupCount; g++) {
    const owner = pick(up);
    const preferred = [owner, ...Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(names))];
    const resources = Array.from({ length: resourcesPerGroup }, (_, r) => ({
      name: `g${g}-r${r}`,
      // One resource in ten may run on only eight nodes (always including its owner).
      common: { PossibleOwners: random() < 0.1 ? [owner, ...Array.from({ length: 7 }, () => pick(names))] : [] },
    }));
    groups.push({
      name: `group${g}`,
      owner,
      common: {
        PreferredOwners: preferred,
        // One group in five belongs to an anti-affinity class.
        AntiAffinityClassNames: random() < 0.2 ? [`class${Math.floor(random() * antiAffinityClassCount)}`] : [],
        Priority: pick([0, 1000, 2000, 3000]),
        AutoFailbackType: 0,
        FailbackWindowStart: 0xffffffff,
        FailbackWindowEnd: 0xffffffff,
      },
      resources,
    });
  }
  return { nodes, groups };
}

const view = buildCluster();
const up = view.nodes.filter((n) => n.state === 'Up');
const samples: number[] = [];
let decisions = 0;
let errorsSeen = 0;
for (let i = 0; i < warmupRuns + runs; i++) {
  const failing = up[i % up.length]!.name; // a different node each run
  const start = performance.now();
  const plan = planNodeDown(view, failing);
  const elapsed = performance.now() - start;
  if (i < warmupRuns) continue;
  samples.push(elapsed);
  decisions += plan.decisions.length;
  errorsSeen += plan.decisions.filter((d) => isPlacementError(d.target)).length;
}
const s = summary(samples);
report('placement: node-down plan, 64 nodes / 10k groups, median', s.median, 'ms');
report('placement: node-down plan, 64 nodes / 10k groups, p99', s.p99, 'ms');
report('placement: groups planned per failed node (mean)', Math.round(decisions / runs));
report('placement: groups with no possible target (total)', errorsSeen);
if (s.median >= 100) {
  console.error(`placement median ${s.median.toFixed(1)} ms misses the 100 ms target`);
  process.exitCode = 1;
}
