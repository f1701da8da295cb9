// Helpers for tests of the in-process cluster on a virtual clock.
import { VirtualClock } from '../../src/clock/virtual.ts';
import { LocalCluster, type LocalClusterOptions } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import type { ClusterApi } from '../../src/api/types.ts';

export interface TestCluster {
  readonly clock: VirtualClock;
  readonly cluster: LocalCluster;
  readonly api: ClusterApi;
  /** Lets `ms` of virtual time pass in small steps, letting async work run between them. */
  run(ms: number): Promise<void>;
  /** Runs virtual time until cond() holds; fails after maxMs of virtual time, naming what was awaited. */
  until(what: string, cond: () => Promise<boolean> | boolean, maxMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export const STEP_MS = 50;

export async function startTestCluster(options: LocalClusterOptions & { clock?: VirtualClock } = {}): Promise<TestCluster> {
  const clock = options.clock ?? new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const cluster = await LocalCluster.start({ clock, ...options });
  const api = createInProcessApi({ store: cluster.store, clock });
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += STEP_MS) await clock.advanceAsync(Math.min(STEP_MS, ms - t));
  };
  return {
    clock,
    cluster,
    api,
    run,
    async until(what, cond, maxMs = 60_000) {
      const start = clock.now();
      while (!(await cond())) {
        if (clock.now() - start > maxMs) throw new Error(`timed out after ${maxMs} ms of virtual time waiting for: ${what}`);
        await run(STEP_MS);
      }
      return clock.now() - start;
    },
    async stop() {
      // A graceful stop takes groups offline in order, which takes virtual time.
      let stopped = false;
      const stopping = cluster.stop().finally(() => (stopped = true));
      while (!stopped) await clock.advanceAsync(STEP_MS);
      await stopping;
    },
  };
}
