// Generic Application with real child processes (real clock, short timings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealClock } from '../../src/clock/real.ts';
import { ClusterError, errors } from '../../src/model/errors.ts';
import type { PropertyValue } from '../../src/model/properties.ts';
import { GenericApplicationType, type GenericApplicationTimings } from '../../src/types/generic-application.ts';
import { isGroupRunning, isProcessRunning } from '../../src/types/process-group.ts';
import { contextFor } from './context.ts';

const timings: GenericApplicationTimings = { onlineSettleMs: 150, offlineGraceMs: 400, killWaitMs: 3_000, exitPollMs: 10 };
const node = JSON.stringify(process.execPath);
/** A node process that ignores SIGTERM; it creates $READY_FILE once its handler is installed. */
const stubborn = `${node} -e "process.on('SIGTERM', () => {}); require('fs').writeFileSync(process.env.READY_FILE, ''); setInterval(() => {}, 1000)"`;

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function setup(t: { after(fn: () => unknown): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  const type = new GenericApplicationType({ clock: new RealClock(), clusterDatabase: { readParameters: async () => ({}) } }, timings);
  const lines: string[] = [];
  const started = new Set<string>();
  const ctx = (resource: string, parameters: Record<string, PropertyValue>, signal?: AbortSignal) => {
    started.add(resource);
    return contextFor(type, resource, parameters, signal, lines);
  };
  t.after(async () => {
    for (const r of started) await type.terminate(contextFor(type, r));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, type, ctx, lines };
}

test('online starts the command; looksAlive while it runs; offline stops it with SIGTERM', async (t) => {
  const { type, ctx, lines } = setup(t);
  const c = ctx('App', { CommandLine: 'exec sleep 30' });
  await type.online(c);
  const pid = type.pidOf('App');
  assert.ok(pid !== undefined && isProcessRunning(pid));
  assert.deepEqual(await type.control(c, { code: 'GetPid' }), { pid });
  assert.ok(lines.some((l) => l.includes(`pid ${pid}`)));
  assert.equal(await type.looksAlive(c), true);
  assert.equal(await type.isAlive(c), true);
  const start = Date.now();
  await type.offline(c);
  assert.ok(Date.now() - start < timings.offlineGraceMs, 'SIGTERM was enough; no wait for the grace period');
  assert.equal(isProcessRunning(pid), false);
  assert.equal(await type.looksAlive(c), false);
  assert.equal(type.pidOf('App'), undefined);
  assert.deepEqual(await type.control(c, { code: 'GetPid' }), { pid: undefined });
});

test('online is idempotent while the command runs', async (t) => {
  const { type, ctx } = setup(t);
  const c = ctx('App', { CommandLine: 'exec sleep 30' });
  await type.online(c);
  const pid = type.pidOf('App');
  await type.online(c);
  assert.equal(type.pidOf('App'), pid);
});

test('offline sends SIGKILL after the grace period to a command that ignores SIGTERM', async (t) => {
  const { dir, type, ctx, lines } = setup(t);
  const ready = path.join(dir, 'ready');
  const c = ctx('App', { CommandLine: `exec ${stubborn}`, Environment: [`READY_FILE=${ready}`] });
  await type.online(c);
  assert.ok(await waitFor(() => fs.existsSync(ready), 10_000), 'the command installed its SIGTERM handler');
  const pid = type.pidOf('App')!;
  const start = Date.now();
  await type.offline(c);
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= timings.offlineGraceMs, `waited ${elapsed} ms`);
  assert.ok(elapsed < timings.offlineGraceMs + 2_000, `waited ${elapsed} ms`);
  assert.equal(isProcessRunning(pid), false);
  assert.ok(lines.some((l) => /after SIGTERM; sending SIGKILL/.test(l)));
});

test('offline and terminate stop the whole process group, children included', async (t) => {
  const { dir, type, ctx } = setup(t);
  for (const how of ['offline', 'terminate'] as const) {
    const pidFile = path.join(dir, `${how}.pid`);
    const c = ctx(how, { CommandLine: `sleep 30 & echo $! > ${JSON.stringify(pidFile)}; sleep 30` });
    await type.online(c);
    const leader = type.pidOf(how)!;
    assert.ok(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '', 2_000));
    const child = Number(fs.readFileSync(pidFile, 'utf8').trim());
    assert.ok(isProcessRunning(child), 'the background child runs');
    await type[how](c);
    assert.equal(isProcessRunning(leader), false, `${how}: leader`);
    assert.equal(isProcessRunning(child), false, `${how}: child of the command`);
    assert.equal(isGroupRunning(leader), false);
  }
});

test('terminate kills at once, without waiting for a grace period', async (t) => {
  const { dir, type, ctx } = setup(t);
  const ready = path.join(dir, 'ready');
  const c = ctx('App', { CommandLine: `exec ${stubborn}`, Environment: [`READY_FILE=${ready}`] });
  await type.online(c);
  assert.ok(await waitFor(() => fs.existsSync(ready), 10_000), 'the command installed its SIGTERM handler');
  const pid = type.pidOf('App')!;
  const start = Date.now();
  await type.terminate(c);
  assert.ok(Date.now() - start < timings.offlineGraceMs);
  assert.equal(isProcessRunning(pid), false);
});

test('online fails when the command exits at once, quoting its exit status and stderr', async (t) => {
  const { type, ctx } = setup(t);
  await assert.rejects(
    type.online(ctx('App', { CommandLine: 'echo disk not found >&2; exit 3' })),
    (e: ClusterError) => e.code === errors.ERROR_RESOURCE_FAILED.code && /exit code 3/.test(e.message) && /disk not found/.test(e.message) && /<App>/.test(e.message),
  );
  assert.equal(type.pidOf('App'), undefined);
  assert.equal(await type.looksAlive(ctx('App', {})), false);
});

test('online refuses an empty CommandLine, a bad Environment entry and a missing CurrentDirectory', async (t) => {
  const { dir, type, ctx } = setup(t);
  await assert.rejects(type.online(ctx('A', {})), (e: ClusterError) => e.code === errors.ERROR_INVALID_PARAMETER.code && /CommandLine is empty/.test(e.message));
  await assert.rejects(
    type.online(ctx('B', { CommandLine: 'sleep 1', Environment: ['NOEQUALS'] })),
    (e: ClusterError) => e.code === errors.ERROR_INVALID_PARAMETER.code && /NOEQUALS/.test(e.message),
  );
  const missing = path.join(dir, 'missing');
  await assert.rejects(
    type.online(ctx('C', { CommandLine: 'sleep 1', CurrentDirectory: missing })),
    (e: ClusterError) => e.code === errors.ERROR_RESOURCE_FAILED.code && e.message.includes(missing),
  );
});

test('looksAlive turns false when the process dies by itself; online then starts it again', async (t) => {
  const { type, ctx } = setup(t);
  const c = ctx('App', { CommandLine: 'exec sleep 30' });
  await type.online(c);
  const first = type.pidOf('App')!;
  process.kill(first, 'SIGKILL');
  // The exit reaches the type as an event; give it a moment to arrive.
  assert.ok(await waitFor(async () => !(await type.looksAlive(c)), 2_000), 'looksAlive turned false');
  assert.equal(isProcessRunning(first), false);
  assert.equal(await type.isAlive(c), false);
  await type.online(c);
  assert.notEqual(type.pidOf('App'), first);
  assert.equal(await type.looksAlive(c), true);
});

test('isAlive runs HealthCheckCommand with the resource environment and directory', async (t) => {
  const { dir, type, ctx } = setup(t);
  fs.writeFileSync(path.join(dir, 'ready'), '');
  const params = { CommandLine: 'exec sleep 30', CurrentDirectory: dir, Environment: ['FAILOVER_TEST=yes'] };
  const c = ctx('App', params);
  await type.online(c);
  assert.equal(await type.isAlive(ctx('App', { ...params, HealthCheckCommand: 'test -f ready && test "$FAILOVER_TEST" = yes' })), true);
  assert.equal(await type.isAlive(ctx('App', { ...params, HealthCheckCommand: 'test -f absent' })), false);
  const abort = new AbortController();
  const check = type.isAlive(ctx('App', { ...params, HealthCheckCommand: 'exec sleep 30' }, abort.signal));
  setTimeout(() => abort.abort(), 50);
  await assert.rejects(check, (e: ClusterError) => e.code === errors.ERROR_OPERATION_ABORTED.code);
});

test('an online aborted by its deadline during the settle time stops the command', async (t) => {
  const { type, ctx } = setup(t);
  const abort = new AbortController();
  const online = type.online(ctx('App', { CommandLine: 'exec sleep 30' }, abort.signal));
  await waitFor(() => type.pidOf('App') !== undefined, 2_000);
  const pid = type.pidOf('App')!;
  abort.abort();
  await assert.rejects(online, (e: ClusterError) => e.code === errors.ERROR_OPERATION_ABORTED.code);
  assert.equal(isProcessRunning(pid), false);
  assert.equal(type.pidOf('App'), undefined);
});
