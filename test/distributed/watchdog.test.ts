import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { RealClock } from '../../src/clock/real.ts';
import { WatchdogCore, type WatchdogActions } from '../../src/node/watchdog-core.ts';
import { decodeCommand, LineSplitter, WATCHDOG_MARK_ENV } from '../../src/node/watchdog-protocol.ts';
import { Watchdog } from '../../src/node/watchdog.ts';
import { guardedEnvironment, guardedResourceTypes } from '../../src/node/guarded-types.ts';
import { builtinResourceTypes, GENERIC_APPLICATION_TYPE_NAME } from '../../src/types/index.ts';
import { isGroupRunning, signalGroup } from '../../src/types/process-group.ts';
import type { EntryPointContext } from '../../src/types/resource-type.ts';
import type { LogMessage } from '../../src/model/messages.ts';
import { readFileSync } from 'node:fs';
import { openEtcdStore } from '../../src/store/etcd.ts';
import { useTestEtcd } from '../support/etcd.ts';

function recordingActions(): WatchdogActions & { killedWith: number[][]; exits: number; lines: string[] } {
  const a = {
    killedWith: [] as number[][],
    exits: 0,
    lines: [] as string[],
    killAll(pgids: readonly number[]) {
      a.killedWith.push([...pgids]);
      return [...pgids];
    },
    report() {},
    log(line: string) {
      a.lines.push(line);
    },
    exit() {
      a.exits++;
    },
  };
  return a;
}

test('the watchdog core fires when petting stops, killing the guarded groups once', () => {
  const clock = new VirtualClock();
  const actions = recordingActions();
  const core = new WatchdogCore(clock, actions);
  core.onCommand({ type: 'guard', pgid: 101, label: 'A' });
  core.onCommand({ type: 'guard', pgid: 102, label: 'B' });
  core.onCommand({ type: 'unguard', pgid: 102 });
  core.onCommand({ type: 'pet', fireInMs: 1000 });
  clock.advance(900);
  core.onCommand({ type: 'pet', fireInMs: 1000 }); // a pet pushes the deadline out
  clock.advance(999);
  assert.equal(core.hasFired, false);
  assert.equal(actions.exits, 0);
  clock.advance(1);
  assert.equal(core.hasFired, true);
  assert.deepEqual(actions.killedWith, [[101]]);
  assert.equal(actions.exits, 1);
  assert.match(actions.lines.join('\n'), /silent for 1000 ms/);
  // After firing nothing more happens.
  core.onCommand({ type: 'pet', fireInMs: 10 });
  core.onAgentGone();
  clock.advance(100);
  assert.equal(actions.killedWith.length, 1);
});

test('the watchdog core fires at once when the agent is gone or pets with a past deadline', () => {
  const clock = new VirtualClock();
  const gone = recordingActions();
  const a = new WatchdogCore(clock, gone);
  a.onCommand({ type: 'guard', pgid: 7, label: 'X' });
  a.onAgentGone();
  assert.deepEqual(gone.killedWith, [[7]]);
  const late = recordingActions();
  const b = new WatchdogCore(clock, late);
  b.onCommand({ type: 'pet', fireInMs: 0 });
  assert.equal(b.hasFired, true);
  // Without any pet, a watchdog with nothing to guard waits for word.
  const idle = recordingActions();
  const c = new WatchdogCore(clock, idle);
  clock.advance(60_000);
  assert.equal(c.hasFired, false);
});

test('watchdog commands are decoded strictly', () => {
  assert.deepEqual(decodeCommand('{"type":"pet","fireInMs":500}'), { type: 'pet', fireInMs: 500 });
  assert.equal(decodeCommand('{"type":"guard","pgid":-5,"label":"x"}'), undefined);
  assert.equal(decodeCommand('{"type":"guard","pgid":1.5,"label":"x"}'), undefined);
  assert.equal(decodeCommand('not json'), undefined);
  assert.equal(decodeCommand('{"type":"reboot"}'), undefined);
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\n'), ['{"b":2}']);
});

/** Starts `sleep` as the leader of its own process group, with the given environment added. */
function startSleeper(env: Record<string, string>): number {
  const child = spawn('/bin/sh', ['-c', 'sleep 60 & sleep 60'], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
  child.unref();
  assert.ok(child.pid);
  return child.pid;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, maxMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the watchdog process kills the guarded group and every marked process when petting stops', async () => {
  const lines: LogMessage[] = [];
  const w = await Watchdog.start({ log: (m) => lines.push(m) });
  const [name, value] = w.markEnvironment.split('=') as [string, string];
  assert.equal(name, WATCHDOG_MARK_ENV);
  const guardedGroup = startSleeper({ [name]: value });
  const unreportedGroup = startSleeper({ [name]: value }); // started, but the agent died before reporting it
  const foreignGroup = startSleeper({}); // not ours: must survive
  try {
    const firstPid = w.pid;
    w.guard(guardedGroup, 'App');
    w.pet(300);
    const petAt = Date.now();
    await waitFor('the guarded groups to die', () => !isGroupRunning(guardedGroup) && !isGroupRunning(unreportedGroup));
    const firedAfterMs = Date.now() - petAt;
    assert.ok(firedAfterMs >= 250, `fired after ${firedAfterMs} ms, before the deadline`);
    assert.ok(isGroupRunning(foreignGroup), 'a process without the mark is left alone');
    await waitFor('the fired report', () => lines.some((l) => /Watchdog fired/.test(l.text)));
    // The agent still runs, so a new watchdog takes over.
    await waitFor('a new watchdog process', () => w.pid !== undefined && w.pid !== firstPid);
  } finally {
    signalGroup(foreignGroup, 'SIGKILL');
    signalGroup(guardedGroup, 'SIGKILL');
    signalGroup(unreportedGroup, 'SIGKILL');
    await w.shutdown('test over');
  }
});

test('the watchdog process fires at once when its agent dies (pipe closed)', async () => {
  // A stand-in agent: a child process that starts a watchdog, reports its mark and is then killed with SIGKILL.
  const script = `
    import { Watchdog } from ${JSON.stringify(new URL('../../src/node/watchdog.ts', import.meta.url).href)};
    const w = await Watchdog.start({ log: () => {} });
    w.pet(60000);
    process.stdout.write(JSON.stringify({ mark: w.markEnvironment, watchdog: w.pid }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const agent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  agent.stdout.setEncoding('utf8');
  agent.stdout.on('data', (c: string) => (out += c));
  await waitFor('the stand-in agent to start its watchdog', () => out.includes('\n'), 20_000);
  const { mark } = JSON.parse(out) as { mark: string; watchdog: number };
  const [name, value] = mark.split('=') as [string, string];
  const group = startSleeper({ [name]: value });
  try {
    const killedAt = Date.now();
    agent.kill('SIGKILL');
    await waitFor('the marked group to die after the agent', () => !isGroupRunning(group), 5_000);
    // Far sooner than the 60 s deadline of the last pet: the closed pipe is enough.
    assert.ok(Date.now() - killedAt < 5_000);
  } finally {
    signalGroup(group, 'SIGKILL');
  }
});

test('guarded Generic Application: marked environment with node, resource and epoch; the group is reported while online runs', async () => {
  const guarded: number[] = [];
  const unguarded: number[] = [];
  const guard = { markEnvironment: `${WATCHDOG_MARK_ENV}=test-mark`, guard: (p: number) => guarded.push(p), unguard: (p: number) => unguarded.push(p) };
  const types = guardedResourceTypes(builtinResourceTypes(), guard, 'nodeA');
  const clock = new RealClock();
  const type = types.get(GENERIC_APPLICATION_TYPE_NAME).create({ clock, clusterDatabase: { readParameters: async () => ({}) } });
  const ctx: EntryPointContext = {
    resource: 'App',
    parameters: { CommandLine: 'exec sleep 30', Environment: ['EXTRA=1'], CurrentDirectory: '', HealthCheckCommand: '' },
    signal: new AbortController().signal,
    deadlineMs: 10_000,
    epoch: 42,
    log: () => {},
  };
  await type.online(ctx);
  const pid = guarded[0];
  assert.ok(pid !== undefined, 'the process group was reported');
  const { readFileSync } = await import('node:fs');
  const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  for (const want of ['EXTRA=1', `${WATCHDOG_MARK_ENV}=test-mark`, `${guardedEnvironment.node}=nodeA`, `${guardedEnvironment.resource}=App`, `${guardedEnvironment.epoch}=42`]) {
    assert.ok(env.includes(want), `environment has ${want}`);
  }
  await type.terminate(ctx);
  assert.deepEqual(unguarded, [pid]);
  assert.equal(isGroupRunning(pid), false);
});

test('guarded Generic Application: a stop that overtakes a running online kills what the online started', async () => {
  const guard = { markEnvironment: `${WATCHDOG_MARK_ENV}=test-mark-2`, guard: () => {}, unguard: () => {} };
  const types = guardedResourceTypes(builtinResourceTypes(), guard, 'nodeA');
  const type = types.get(GENERIC_APPLICATION_TYPE_NAME).create({ clock: new RealClock(), clusterDatabase: { readParameters: async () => ({}) } });
  const ctx: EntryPointContext = {
    resource: 'App',
    parameters: { CommandLine: 'exec sleep 30', Environment: [], CurrentDirectory: '', HealthCheckCommand: '' },
    signal: new AbortController().signal,
    deadlineMs: 10_000,
    epoch: 1,
    log: () => {},
  };
  // The terminate runs before the spawn has happened: the type itself has nothing to kill yet.
  const online = type.online(ctx);
  await type.terminate(ctx);
  await assert.rejects(online, (e: Error & { name?: string }) => e.name === 'ERROR_OPERATION_ABORTED' || /ended within|stopped while/.test(e.message));
  const pid = (type as unknown as { pidOf(r: string): number | undefined }).pidOf('App');
  assert.equal(pid, undefined, 'nothing runs after the overtaken online');
});

test('the watchdog runs as plain JavaScript at realtime priority (as root); it confirms a kill in etcd only when the agent can start nothing more', async (t) => {
  const etcd = await useTestEtcd();
  const prefix = `test-watchdog-${process.pid}-${Date.now()}/`;
  const key = '/failover/cluster/fenced/n1';
  const lines: LogMessage[] = [];
  const w = await Watchdog.start({ log: (m) => lines.push(m), confirm: { etcd: [etcd.endpoint], key: `${prefix}${key}` } });
  const store = await openEtcdStore({ endpoints: [etcd.endpoint], prefix });
  const [name, value] = w.markEnvironment.split('=') as [string, string];
  const group = startSleeper({ [name]: value });
  try {
    const cmdline = readFileSync(`/proc/${w.pid}/cmdline`, 'latin1').split('\0');
    assert.ok(!cmdline.some((a) => a.includes('tsx')) && cmdline.some((a) => /watchdog-[0-9a-f]+\.mjs$/.test(a)), `started as ${cmdline.join(' ')}`);
    if (process.getuid?.() === 0) {
      // Field 41 of /proc/PID/stat is the scheduling policy: 1 is SCHED_FIFO.
      const policy = Number(readFileSync(`/proc/${w.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[41 - 3]);
      assert.equal(policy, 1, 'SCHED_FIFO');
      assert.equal(w.realtime, true);
    } else {
      t.diagnostic('not root: the watchdog runs at normal priority');
    }
    // A missed deadline: the agent may only be frozen and resume under the same lease, so no confirmation.
    const firstPid = w.pid;
    w.pet(200, 'lease-6');
    await waitFor('the marked group to die', () => !isGroupRunning(group));
    await waitFor('the unconfirmed report', () => lines.some((l) => /Watchdog kill not confirmed in the store/.test(l.text)));
    assert.equal(await store.get(key), undefined);
    // The agent stops: it asks the watchdog to fire, and the kill is confirmed for the lease of its last pet.
    await waitFor('a new watchdog process', () => w.pid !== undefined && w.pid !== firstPid);
    w.pet(60_000, 'lease-7');
    await w.shutdown('the agent stops');
    await waitFor('the kill confirmation in etcd', async () => (await store.get(key)) !== undefined, 10_000);
    assert.equal((JSON.parse((await store.get(key))!.value) as { lease: string }).lease, 'lease-7');
    await waitFor('the confirmed report', () => lines.some((l) => /Watchdog kill confirmed in the store for lease lease-7/.test(l.text)));
  } finally {
    signalGroup(group, 'SIGKILL');
    await w.shutdown('test over');
    await store.deletePrefix('/');
    await store.close();
    await etcd.release();
  }
});
