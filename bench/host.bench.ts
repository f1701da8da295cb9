// Resource host processes: what one entry-point call costs across the IPC
// channel, next to the same call in the node's own process. The scale target
// is 10,000 Dummy resources on 3 nodes: ~3,400 resources per node, each
// polled by looksAlive every 5 s, is ~700 calls/s per node.
// Targets: a sequential round trip < 1 ms median; > 5,000 calls/s through one
// host process with many calls in flight.
import { performance } from 'node:perf_hooks';
import { RealClock } from '../src/clock/real.ts';
import type { HostProcessOptions } from '../src/host/process-host.ts';
import { ResourceHost } from '../src/host/resource-host.ts';
import { builtinResourceTypes } from '../src/types/index.ts';
import { report, summary } from './stats.ts';

const resources = 3_400;
const sequentialCalls = 2_000;
const burstCalls = 20_000;
const warmupCalls = 500;

function makeHost(processes: HostProcessOptions | undefined): ResourceHost {
  const clock = new RealClock();
  return new ResourceHost({
    clock,
    types: builtinResourceTypes(),
    services: { clock, clusterDatabase: { readParameters: async () => ({}) } },
    directory: { lookup: () => ({ type: 'Dummy', parameters: {}, deadlockTimeoutMs: 300_000, epoch: 1 }) },
    log: () => undefined,
    ...(processes ? { processes } : {}),
  });
}

async function measure(label: string, host: ResourceHost): Promise<void> {
  let id = 0;
  const looksAlive = (i: number) => host.call({ type: 'call', resource: `r${i % resources}`, entryPoint: 'looksAlive', callId: id++, deadlineMs: 60_000 });
  for (let i = 0; i < warmupCalls; i++) await looksAlive(i);
  const samples: number[] = [];
  for (let i = 0; i < sequentialCalls; i++) {
    const t0 = performance.now();
    const r = await looksAlive(i);
    samples.push(performance.now() - t0);
    if (r.outcome !== 'ok') throw new Error(`looksAlive failed: ${JSON.stringify(r)}`);
  }
  const s = summary(samples);
  report(`host ${label}: looksAlive round trip, median (target < 1 ms)`, s.median, 'ms');
  report(`host ${label}: looksAlive round trip, p99`, s.p99, 'ms');
  const t0 = performance.now();
  await Promise.all(Array.from({ length: burstCalls }, (_, i) => looksAlive(i)));
  const seconds = (performance.now() - t0) / 1000;
  report(`host ${label}: ${burstCalls} calls in flight, throughput (target > 5000)`, Math.round(burstCalls / seconds), 'calls/s');
}

const inProcess = makeHost(undefined);
await measure('in-process', inProcess);
inProcess.stop();
const child = makeHost({});
await measure('child process', child);
child.stop();
