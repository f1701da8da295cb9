// Pure functions only (no store): how fast property names are resolved. A
// profile of a busy cluster once showed case folding one character at a time
// and a linear search per property at 15.8% of all CPU; names now go through
// a map built once per schema and once per decoded key.
// 1. canonicalName over typical (ASCII) names.
// 2. decodeResource (every common property of a resource plus its parameters,
//    read from its key tree) for 10,000 resources, as one configuration read does.
import { performance } from 'node:perf_hooks';
import { canonicalName } from '../src/model/names.ts';
import { resourceCommonProperties, type PropertyDescriptor } from '../src/model/properties.ts';
import { decodeResource } from '../src/database/config-codec.ts';
import type { KeyTree } from '../src/database/registry.ts';
import { report, summary } from './stats.ts';

const runs = 30;
const warmupRuns = 5;
const resourceCount = 10_000;

function resourceTree(i: number): KeyTree {
  const path = `Resources\\res${i}`;
  const values = [
    { name: 'Type', value: { type: 'string' as const, data: 'Dummy' } },
    { name: 'Group', value: { type: 'string' as const, data: `group${Math.floor(i / 5)}` } },
    { name: 'DependsOn', value: { type: 'string' as const, data: i % 5 === 0 ? '' : `[res${i - 1}]` } },
    // Every other common property stored, as after `failover apply` of a full file.
    ...(resourceCommonProperties as readonly PropertyDescriptor[])
      .filter((d, j) => j % 2 === 0 && d.default !== undefined)
      .map((d) => ({ name: d.name, value: d.kind === 'multiString' ? { type: 'multiString' as const, data: [] } : d.kind === 'string' ? { type: 'string' as const, data: '' } : { type: 'dword' as const, data: 1 } })),
  ];
  const parameters: KeyTree = { name: 'Parameters', path: `${path}\\Parameters`, values: [{ name: 'OnlineDelayMs', value: { type: 'dword', data: 10 } }], subkeys: [] };
  return { name: `res${i}`, path, values, subkeys: [parameters] };
}

const names = resourceCommonProperties.map((d) => d.name);
const foldSamples: number[] = [];
const foldsPerRun = 100_000;
for (let r = 0; r < warmupRuns + runs; r++) {
  const start = performance.now();
  for (let i = 0; i < foldsPerRun; i++) canonicalName(names[i % names.length]!);
  if (r >= warmupRuns) foldSamples.push(performance.now() - start);
}
const fold = summary(foldSamples);
report('properties (pure): canonicalName, names per second (target >= 2,000,000)', Math.round((foldsPerRun / fold.median) * 1000));

const decodeSamples: number[] = [];
const trees = Array.from({ length: resourceCount }, (_, i) => resourceTree(i));
for (let r = 0; r < warmupRuns + runs; r++) {
  const start = performance.now();
  for (const t of trees) decodeResource(t);
  if (r >= warmupRuns) decodeSamples.push(performance.now() - start);
}
const decode = summary(decodeSamples);
report('properties (pure): decodeResource x 10,000, median (target < 300)', decode.median, 'ms');
if (fold.median > (foldsPerRun / 2_000_000) * 1000 || decode.median >= 300) {
  console.error('property name resolution misses its target');
  process.exitCode = 1;
}
