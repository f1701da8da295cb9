// Pure functions only (no store, no agents): the placement policy's plans.
// 1. One node of 64 fails with 10,000 groups / 50,000 resources spread over
//    the nodes: how long the node-down plan (placement decisions only) takes.
//    Target: < 100 ms.
// 2. A cluster of 3 nodes starts with 2,000 unowned groups x 5 resources
//    (preferred owners on half, 10 anti-affinity classes): how long the
//    coordinator's one-pass plan (planPlacement) takes, and how evenly it
//    spreads load and classes. Target: < 50 ms.
// The clusters are generated from a fixed seed, so runs compare.
import { performance } from 'node:perf_hooks';
import { planNodeDown } from '../src/policy/node-down.ts';
import { planPlacement } from '../src/policy/plan.ts';
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
report('placement (pure): node-down plan, 64 nodes / 10k groups, median (target < 100)', s.median, 'ms');
report('placement: node-down plan, 64 nodes / 10k groups, p99', s.p99, 'ms');
report('placement: groups planned per failed node (mean)', Math.round(decisions / runs));
report('placement: groups with no possible target (total)', errorsSeen);
if (s.median >= 100) {
  console.error(`placement median ${s.median.toFixed(1)} ms misses the 100 ms target`);
  process.exitCode = 1;
}

const startNodes = ['node1', 'node2', 'node3'];
const startGroupCount = 2_000;
const startClassCount = 10;

function buildUnowned(): ClusterView {
  const nodes: PolicyNode[] = startNodes.map((name, i) => ({ name, id: i + 1, state: 'Up' }));
  const groups: PolicyGroup[] = Array.from({ length: startGroupCount }, (_, g) => ({
    name: `group${String(g).padStart(4, '0')}`,
    owner: undefined,
    common: {
      // Half the groups prefer one node (rotating), half have no preference.
      PreferredOwners: g % 2 === 0 ? [startNodes[(g / 2) % startNodes.length]!] : [],
      AntiAffinityClassNames: [`class${g % startClassCount}`],
      Priority: 2000,
      AutoFailbackType: 0,
      FailbackWindowStart: 0xffffffff,
      FailbackWindowEnd: 0xffffffff,
    },
    resources: Array.from({ length: resourcesPerGroup }, (_, r) => ({ name: `g${g}-r${r}`, common: { PossibleOwners: [] } })),
  }));
  return { nodes, groups };
}

const unowned = buildUnowned();
const startSamples: number[] = [];
let lastPlan: ReturnType<typeof planPlacement> = [];
for (let i = 0; i < warmupRuns + runs; i++) {
  const start = performance.now();
  lastPlan = planPlacement(unowned);
  const elapsed = performance.now() - start;
  if (i >= warmupRuns) startSamples.push(elapsed);
}
const placedOn = new Map<string, string>();
for (const d of lastPlan) if (!isPlacementError(d.target)) placedOn.set(d.group, d.target.node);
const loads = startNodes.map((n) => [...placedOn.values()].filter((x) => x === n).length);
let classSpread = 0;
for (let c = 0; c < startClassCount; c++) {
  const perNode = startNodes.map((n) => unowned.groups.filter((g) => g.common.AntiAffinityClassNames[0] === `class${c}` && placedOn.get(g.name) === n).length);
  classSpread = Math.max(classSpread, Math.max(...perNode) - Math.min(...perNode));
}
const st = summary(startSamples);
report('placement (pure): place 2,000 unowned groups in one pass, median (target < 50)', st.median, 'ms');
report('placement: groups placed of 2,000', placedOn.size);
report('placement: groups per node after the pass', loads.join(' / '));
report('placement: widest class spread, max - min per node (target <= 1)', classSpread);
if (st.median >= 50 || placedOn.size !== startGroupCount || classSpread > 1) {
  console.error('placement of 2,000 unowned groups misses its target');
  process.exitCode = 1;
}
