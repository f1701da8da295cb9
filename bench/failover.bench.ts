// Distributed mode on a real etcd, three `failover agent` processes with the
// default settings:
// - failover time: from kill -9 of the owning agent to the group Online on
//   another agent, as the API shows it (median, p99 over FAILOVER_BENCH_KILLS
//   kills). Target: p99 < 3 s.
// - planned move time: a group of 10 zero-delay Dummy resources, from the
//   move request to the operation done (median, p99). Target: median < 250 ms.
// The killed agent is restarted in the background while the next kill goes
// on, so the run stays near a minute.
import { report, summary } from './stats.ts';
import { startTestCluster, waitUntil, type TestCluster } from '../test/distributed/harness.ts';
import { defaultAgentLimits } from '../src/node/limits.ts';

const KILLS = Number(process.env.FAILOVER_BENCH_KILLS ?? 20);
const MOVES = Number(process.env.FAILOVER_BENCH_MOVES ?? 20);
/** How often the API is asked whether the group is online elsewhere: the measurement's resolution. */
const POLL_MS = 10;
const NODES = ['n1', 'n2', 'n3'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function isUp(c: TestCluster, node: string, except: string): Promise<boolean> {
  try {
    return (await c.anyApi(except).getNode(node)).state === 'Up';
  } catch {
    return false;
  }
}

async function failoverTimes(c: TestCluster): Promise<number[]> {
  const api = c.anyApi();
  await api.createGroup('F', { PreferredOwners: NODES, FailoverThreshold: 1000 });
  await api.createResource('F-R', 'Dummy', 'F', { parameters: { OpenReadsDatabase: 0 } });
  await api.onlineGroup('F'); // in case the coordinator placed F before F-R existed
  await waitUntil('F online', async () => (await api.getGroup('F')).state === 'Online', 30_000);
  const samples: number[] = [];
  const restarts = new Map<string, Promise<unknown>>();
  for (let i = 0; i < KILLS; i++) {
    const owner = (await c.anyApi().getGroup('F')).owner!;
    // The owner may be an agent whose restart is still finishing: kill the new process, not the old one.
    await restarts.get(owner);
    // Somewhere to fail over to: another agent must be Up (a restarted one may still be joining).
    await waitUntil('another node Up', async () => {
      for (const n of NODES) if (n !== owner && !restarts.has(n) && (await isUp(c, n, owner))) return true;
      return false;
    }, 60_000);
    c.kill(owner, 'SIGKILL');
    const killedAt = performance.now();
    const pollApi = c.anyApi(owner);
    for (;;) {
      const g = await pollApi.getGroup('F').catch(() => undefined);
      if (g && g.state === 'Online' && g.owner !== owner) break;
      if (performance.now() - killedAt > 60_000) throw new Error(`kill ${i + 1}: F not online elsewhere within 60 s`);
      await sleep(POLL_MS);
    }
    samples.push(performance.now() - killedAt);
    const restart = c.agents.get(owner)!.exited.then(() => c.start(owner));
    restarts.set(owner, restart);
    void restart.finally(() => restarts.delete(owner));
  }
  await Promise.all(restarts.values());
  return samples;
}

async function moveTimes(c: TestCluster): Promise<number[]> {
  const api = c.anyApi();
  await api.createGroup('M', { PreferredOwners: ['n1', 'n2'] });
  for (let i = 0; i < 10; i++) await api.createResource(`M-R${i}`, 'Dummy', 'M', { parameters: { OpenReadsDatabase: 0 } });
  // The coordinator may place M while its resources are still being added; those come up on request.
  await api.onlineGroup('M');
  await waitUntil('M online', async () => (await api.getGroup('M')).state === 'Online', 30_000);
  const samples: number[] = [];
  for (let i = 0; i < MOVES; i++) {
    const from = (await api.getGroup('M')).owner!;
    const to = from === 'n1' ? 'n2' : 'n1';
    const start = performance.now();
    const op = await api.moveGroup('M', { to });
    for (;;) {
      const o = await api.getOperation(op.id);
      if (o.done) {
        if (!o.ok) throw new Error(`move ${i + 1} failed: ${JSON.stringify(o.error)}`);
        break;
      }
      await sleep(2);
    }
    samples.push(performance.now() - start);
    await waitUntil('M online on the target', async () => {
      const g = await api.getGroup('M');
      return g.state === 'Online' && g.owner === to;
    });
  }
  return samples;
}

const c = await startTestCluster(NODES);
try {
  console.log(
    `settings: lease TTL ${defaultAgentLimits.leaseTtlSeconds} s, keep-alive every ${defaultAgentLimits.leaseKeepAliveIntervalMs} ms, ` +
      `self-fence margin ${defaultAgentLimits.selfFenceMarginMs} ms, watchdog margin ${defaultAgentLimits.watchdogMarginMs} ms`,
  );
  const f = summary(await failoverTimes(c));
  report(`failover after kill -9 (${f.n} kills): median`, f.median, 'ms');
  report(`failover after kill -9 (${f.n} kills): p99`, f.p99, 'ms');
  report(`failover after kill -9 (${f.n} kills): max`, f.max, 'ms');
  const m = summary(await moveTimes(c));
  report(`planned move on etcd, 10 resources (${m.n} moves): median`, m.median, 'ms');
  report(`planned move on etcd, 10 resources (${m.n} moves): p99`, m.p99, 'ms');
  if (f.p99 >= 3_000) console.log('note: failover p99 is above the 3 s target');
  if (m.median >= 250) console.log('note: move median is above the 250 ms target');
} catch (e) {
  console.error(c.logsTail(30));
  console.error(await c.storeDump());
  throw e;
} finally {
  await c.close();
}
