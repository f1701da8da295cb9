// Resource host processes: entry points run in child processes that a
// deadlock really kills, on the real clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../src/clock/real.ts';
import { ClusterError, errors } from '../../src/model/errors.ts';
import type { LogMessage } from '../../src/model/messages.ts';
import type { PropertyValue } from '../../src/model/properties.ts';
import type { CallEffect, CallResult } from '../../src/host/calls.ts';
import { ResourceHost, type DeadlockReport, type HostedResource } from '../../src/host/resource-host.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { isProcessRunning } from '../../src/types/process-group.ts';
import { until as untilWithin } from '../support/until.ts';

/** Generous on a loaded 2-core machine: a host process starts (tsx loader) in 1-3 s when five test runs share the cores. */
const PROCESS_START_BOUND_MS = 60_000;
/** How late a timer may fire on such a machine. */
const TIMER_SLACK_MS = 20_000;
/** A one-node cluster starting in a process of its own and bringing a group online. */
const FIXTURE_ONLINE_BOUND_MS = 60_000;

function setup(resources: Record<string, Partial<HostedResource> & { parameters?: Record<string, PropertyValue> }>) {
  const clock = new RealClock();
  const lines: LogMessage[] = [];
  const deadlocks: DeadlockReport[] = [];
  let reads = 0;
  const host = new ResourceHost({
    clock,
    types: builtinResourceTypes(),
    services: {
      clock,
      clusterDatabase: {
        readParameters: async (r) => {
          reads++;
          if (r === 'Paused') throw new ClusterError('ERROR_SHARING_PAUSED', `cluster database not available (${r})`);
          return { Answer: 42 };
        },
      },
    },
    directory: {
      lookup: (name) => {
        const r = resources[name];
        return r && { type: 'Dummy', parameters: {}, deadlockTimeoutMs: PROCESS_START_BOUND_MS, epoch: 3, ...r };
      },
    },
    log: (l) => lines.push(l),
    onDeadlock: (d) => deadlocks.push(d),
    processes: {},
  });
  let nextId = 1;
  const call = (resource: string, entryPoint: CallEffect['entryPoint'], deadlineMs = PROCESS_START_BOUND_MS, extra: Pick<CallEffect, 'control'> = {}): Promise<CallResult> =>
    host.call({ type: 'call', resource, entryPoint, callId: nextId++, deadlineMs, ...extra });
  return { host, call, lines, deadlocks, reads: () => reads };
}

test('entry points run in one host process: results, control output, errors and cluster database reads cross the IPC channel', async () => {
  const { host, call, lines, reads } = setup({
    A: { parameters: { OnlineDelayMs: 10 } },
    B: {},
    Fails: { parameters: { OnlineFail: errors.ERROR_INVALID_STATE.code } },
    Paused: {},
  });
  try {
    assert.equal((await call('A', 'open')).outcome, 'ok');
    assert.equal(reads(), 1, 'open read the Parameters key through the node');
    assert.equal((await call('A', 'online')).outcome, 'ok');
    assert.equal((await call('B', 'online')).outcome, 'ok');
    const pid = host.hostPidOf('A');
    assert.ok(pid !== undefined && pid !== process.pid, 'calls ran in a child process');
    assert.equal(host.hostPidOf('B'), pid, 'one host process per node by default');
    const state = await call('A', 'control', 5_000, { control: { code: 'GetState' } });
    assert.equal(state.outcome, 'ok');
    assert.deepEqual((state.output as { online: boolean }).online, true, 'the type instance in the host keeps its state between calls');
    const fails = await call('Fails', 'online');
    assert.equal(fails.error?.name, 'ERROR_INVALID_STATE');
    assert.ok(lines.some((l) => l.component === 'RES' && l.text.startsWith('Dummy <Fails>: online failed: ERROR_INVALID_STATE')));
    const paused = await call('Paused', 'open');
    assert.equal(paused.error?.name, 'ERROR_SHARING_PAUSED', 'a service error reaches the type as its ClusterError');
    const unsupported = await call('B', 'control', 5_000, { control: { code: 'Nope' } });
    assert.equal(unsupported.error?.name, 'ERROR_NOT_SUPPORTED');
  } finally {
    host.stop();
  }
});

test('an entry point that spins forever: its host is killed at DeadlockTimeout, the others answered 5910, a fresh host serves next; the second deadlock isolates the resource', async () => {
  const DEADLOCK_MS = 1_500;
  const { host, call, deadlocks, lines } = setup({
    Spin: { parameters: { OnlineHang: 3 }, deadlockTimeoutMs: DEADLOCK_MS },
    Other: { parameters: { OfflineDelayMs: 60_000 } },
  });
  try {
    assert.equal((await call('Other', 'open')).outcome, 'ok'); // the host process is up
    const firstPid = host.hostPidOf('Spin')!;
    const other = call('Other', 'offline');
    const started = Date.now();
    const spin = await call('Spin', 'online', 600_000);
    const tookMs = Date.now() - started;
    assert.equal(spin.error?.name, 'ERROR_RESOURCE_CALL_TIMED_OUT');
    assert.match(spin.error!.message, /online of resource "Spin" exceeded its DeadlockTimeout of 1500 ms; resource host \d+ is restarted/);
    assert.ok(tookMs >= DEADLOCK_MS - 50 && tookMs < DEADLOCK_MS + TIMER_SLACK_MS, `answered after ${tookMs} ms`);
    const o = await other;
    assert.equal(o.error?.name, 'ERROR_RESOURCE_CALL_TIMED_OUT', 'a call sharing the deadlocked host fails with it');
    assert.equal(deadlocks.length, 1);
    assert.equal(deadlocks[0]!.isolated, false, 'one deadlock does not isolate the resource yet');
    await until('the deadlocked host process is gone', () => !isProcessRunning(firstPid));
    assert.ok(lines.some((l) => l.component === 'RHS' && /deadlocked on online of resource "Spin" \(deadlock 1 of this resource\) and was killed/.test(l.text)));

    assert.equal((await call('Other', 'online')).outcome, 'ok', 'a fresh host serves the next call');
    const secondPid = host.hostPidOf('Other')!;
    assert.notEqual(secondPid, firstPid);
    assert.equal(host.hostPidOf('Spin'), secondPid, 'still shared after one deadlock');

    assert.equal((await call('Spin', 'online', 600_000)).error?.name, 'ERROR_RESOURCE_CALL_TIMED_OUT');
    assert.equal(deadlocks.length, 2);
    assert.equal(deadlocks[1]!.isolated, true);
    assert.equal(host.isIsolated('Spin'), true);
    assert.equal((await call('Other', 'online')).outcome, 'ok');
    assert.equal((await call('Spin', 'isAlive')).outcome, 'ok', 'the isolated resource is served by a host of its own');
    assert.notEqual(host.hostPidOf('Spin'), host.hostPidOf('Other'));
  } finally {
    host.stop();
  }
});

test('SeparateMonitor=1 runs a resource in a host process of its own; stop kills every host', async () => {
  const { host, call } = setup({ Shared: {}, Alone: { separateMonitor: true } });
  await call('Shared', 'open');
  await call('Alone', 'open');
  const shared = host.hostPidOf('Shared')!;
  const alone = host.hostPidOf('Alone')!;
  assert.ok(shared && alone && shared !== alone);
  assert.equal(host.isIsolated('Alone'), true);
  host.stop();
  await until('both host processes are gone', () => !isProcessRunning(shared) && !isProcessRunning(alone));
});

test('a host process that dies fails its calls with a clear error; the next call gets a new one', async () => {
  const { host, call, lines } = setup({ R: { parameters: { OnlineDelayMs: 60_000 } } });
  try {
    await call('R', 'open');
    const pid = host.hostPidOf('R')!;
    const online = call('R', 'online');
    process.kill(pid, 'SIGKILL');
    const r = await online;
    assert.equal(r.error?.name, 'ERROR_RESOURCE_FAILED');
    assert.match(r.error!.message, /resource host \d+ \(pid \d+\) ended during the call \(killed by SIGKILL\)/);
    assert.ok(lines.some((l) => l.component === 'RHS' && /ended unexpectedly/.test(l.text)));
    assert.equal((await call('R', 'close')).outcome, 'ok');
    assert.notEqual(host.hostPidOf('R'), pid);
  } finally {
    host.stop();
  }
});

test('kill -9 of the node process leaves no orphan: its host process and the services it started are gone', async () => {
  const fixture = fileURLToPath(new URL('./fixtures/node-with-hosts.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no pids within ${FIXTURE_ONLINE_BOUND_MS} ms: ${out}`)), FIXTURE_ONLINE_BOUND_MS);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.split('\n')[0]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`the node process exited (${code}): ${out}`)));
    });
    const { hostPid, appPid } = JSON.parse(line) as { hostPid: number; appPid: number };
    assert.ok(isProcessRunning(hostPid) && isProcessRunning(appPid), 'both run while the node runs');
    assert.notEqual(hostPid, child.pid);
    child.kill('SIGKILL');
    await until('the host process and the service are gone', () => !isProcessRunning(hostPid) && !isProcessRunning(appPid));
  } finally {
    child.kill('SIGKILL');
  }
});

const until = (what: string, cond: () => Promise<boolean> | boolean, maxMs = PROCESS_START_BOUND_MS): Promise<void> => untilWithin(what, cond, maxMs);
