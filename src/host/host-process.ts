// A resource host process: `node --import tsx host-process.ts`, spawned by
// the node's resource host (process-host.ts) with an IPC channel. It runs the
// entry points of the resources placed in it — WSFC's rhs.exe. Deadlines and
// DeadlockTimeout are the parent's business: a host whose entry point blocks
// its thread is simply killed and replaced.
//
// It never outlives its node: it leaves when the IPC channel closes, and a
// worker thread (which keeps running while an entry point blocks the main
// thread) notices when the parent process is gone and kills every process
// this host started (they carry its mark in their environment) and the host's
// own process group.
import { Worker } from 'node:worker_threads';
import { RealClock } from '../clock/real.ts';
import { ClusterError, isClusterError, type ClusterErrorValue } from '../model/errors.ts';
import { defaultsOf, type PropertyValue } from '../model/properties.ts';
import type { EntryPointContext, ResourceType, ResourceTypeDefinition, ResourceTypeServices, TypeModule } from '../types/resource-type.ts';
import { HOST_MARK_ENV, HOST_NODE_ENV, Outbox, type FromHost, type RemoteOutcome, type ToHost } from './protocol.ts';

/** How often the guard thread looks whether the node process is still there. */
const parentCheckIntervalMs = 250;

const outbox = new Outbox<FromHost>((batch) => {
  if (process.connected) process.send!(batch);
});
const send = (m: FromHost): void => outbox.push(m);

// The guard thread: plain JavaScript (no loader in worker threads), reading /proc directly.
const guardSource = `
const { workerData } = require('node:worker_threads');
const { readdirSync, readFileSync } = require('node:fs');
const { parentPid, markEntry, intervalMs } = workerData;
function killMarked() {
  let entries = [];
  try { entries = readdirSync('/proc'); } catch { return; }
  for (const e of entries) {
    if (!/^\\d+$/.test(e) || Number(e) === process.pid) continue;
    let environ;
    try { environ = readFileSync('/proc/' + e + '/environ', 'latin1'); } catch { continue; }
    if (!environ.split('\\0').includes(markEntry)) continue;
    try { const stat = readFileSync('/proc/' + e + '/stat', 'utf8'); const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]); if (pgid > 1 && pgid !== process.pid) process.kill(-pgid, 'SIGKILL'); } catch {}
    try { process.kill(Number(e), 'SIGKILL'); } catch {}
  }
}
function die() {
  killMarked();
  try { process.kill(-process.pid, 'SIGKILL'); } catch {}
  process.kill(process.pid, 'SIGKILL');
}
require('node:worker_threads').parentPort.on('message', die);
setInterval(() => { if (process.ppid !== parentPid) die(); }, intervalMs);
`;

const mark = process.env[HOST_MARK_ENV];
if (!mark) {
  process.stderr.write(`resource host: ${HOST_MARK_ENV} is not set\n`);
  process.exit(2);
}
const guard = new Worker(guardSource, { eval: true, workerData: { parentPid: process.ppid, markEntry: `${HOST_MARK_ENV}=${mark}`, intervalMs: parentCheckIntervalMs } });
guard.unref();

let nextServiceId = 1;
const serviceWaiters = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

const services: ResourceTypeServices = {
  clock: new RealClock(),
  clusterDatabase: {
    readParameters: (resource) =>
      new Promise<Record<string, PropertyValue>>((resolve, reject) => {
        const id = nextServiceId++;
        serviceWaiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send({ t: 'service', id, op: 'readParameters', resource });
      }),
  },
  ...(process.env[HOST_NODE_ENV] ? { node: process.env[HOST_NODE_ENV] } : {}),
  inHostProcess: true,
};

const modules = new Map<string, TypeModule>();
const instances = new Map<string, Promise<ResourceType>>();
const calls = new Map<number, AbortController>();

async function load(module: TypeModule): Promise<ResourceType> {
  const exported = ((await import(module.url)) as Record<string, unknown>)[module.export];
  const definition = (typeof exported === 'function' ? await (exported as (...a: unknown[]) => unknown)(...(module.args ?? [])) : exported) as
    | ResourceTypeDefinition
    | undefined;
  if (!definition || typeof definition.create !== 'function') {
    throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `${module.url} has no resource type definition in its export ${JSON.stringify(module.export)}`);
  }
  return definition.create(services);
}

function instance(name: string): Promise<ResourceType> {
  let p = instances.get(name);
  if (!p) {
    const module = modules.get(name);
    if (!module) return Promise.reject(new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${JSON.stringify(name)} was not announced to this host`));
    p = load(module);
    p.catch(() => instances.delete(name)); // a failed load is tried again on the next call
    instances.set(name, p);
  }
  return p;
}

function outcomeOf(e: unknown): RemoteOutcome {
  if (isClusterError(e)) return { ok: false, error: e.toJSON() };
  return { ok: false, thrown: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

async function run(m: Extract<ToHost, { t: 'call' }>): Promise<void> {
  const abort = new AbortController();
  calls.set(m.id, abort);
  let outcome: RemoteOutcome;
  try {
    const type = await instance(m.type);
    const ctx: EntryPointContext = {
      resource: m.resource,
      parameters: { ...defaultsOf(type.descriptor.privateProperties), ...m.parameters },
      signal: abort.signal,
      deadlineMs: m.deadlineMs,
      epoch: m.epoch,
      log: (text) => send({ t: 'log', resource: m.resource, type: m.type, text }),
    };
    const value = m.entryPoint === 'control' ? await type.control(ctx, m.control ?? { code: '' }) : await type[m.entryPoint](ctx);
    outcome = { ok: true, value };
  } catch (e) {
    outcome = outcomeOf(e);
  }
  calls.delete(m.id);
  send({ t: 'result', id: m.id, ...outcome });
}

function serviceAnswered(id: number, value: unknown, error: ClusterErrorValue | undefined): void {
  const w = serviceWaiters.get(id);
  if (!w) return;
  serviceWaiters.delete(id);
  if (error) w.reject(Object.assign(new ClusterError(error.name), { message: error.message }));
  else w.resolve(value);
}

function received(m: ToHost): void {
  switch (m.t) {
    case 'type':
      modules.set(m.name, m.module);
      break;
    case 'call':
      void run(m);
      break;
    case 'abort':
      calls.get(m.id)?.abort();
      break;
    case 'service':
      serviceAnswered(m.id, m.value, m.error);
      break;
  }
}

process.on('message', (batch: ToHost[]) => {
  for (const m of batch) received(m);
});
// The node closed the channel (it stopped, or died): nothing more will be asked,
// and nothing this host started may run on.
process.on('disconnect', () => guard.postMessage('gone'));
// Terminal signals are the node's business: it stops its hosts itself.
process.on('SIGINT', () => undefined);
send({ t: 'ready', pid: process.pid });
