// The watchdog process: `node watchdog.mjs --mark M [--log FILE] [--etcd URLS
// --confirm-key KEY]`, this file bundled into plain JavaScript by esbuild
// (watchdog.ts), so it starts fast and without the TypeScript loader.
// Spawned by the node agent in a process group of its own (so a terminal's
// Ctrl-C or a kill of the agent's group does not take it down first), at
// realtime priority where it can be. Reads commands on stdin (see
// watchdog-protocol.ts), reports on stdout, and fires when the agent stops
// petting it or its stdin closes. When it fired because the agent is gone (or
// asked it to, stopping), once every process it killed is gone it confirms the
// kill in etcd (KEY = { lease }), so the node taking the groups over need not
// wait out the fence margin. Kept small on purpose: it must keep
// working when everything else has gone wrong.
import { readdirSync } from 'node:fs';
import { RealClock } from '../clock/real.ts';
import { ClusterLogWriter } from '../log/writer.ts';
import { markedProcesses as markedProcessesOf, signalGroup } from '../types/process-group.ts';
import { WatchdogCore } from './watchdog-core.ts';
import { decodeCommand, encodeLine, LineSplitter, WATCHDOG_MARK_ENV, type WatchdogReport } from './watchdog-protocol.ts';

/** After SIGKILL, how long to wait for the killed processes to be gone before exiting anyway. */
const killSettleWaitMs = 2_000;
const killSettlePollMs = 10;
/** One attempt to write the kill confirmation to one etcd endpoint. */
const confirmRequestTimeoutMs = 1_000;
/** The confirmation is tried on every endpoint in turn for at most this long, then given up (the fence margin applies). */
const confirmDeadlineMs = 5_000;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const mark = argValue('--mark');
if (!mark) {
  process.stderr.write('watchdog: --mark is required\n');
  process.exit(2);
}
const logPath = argValue('--log');
const etcdEndpoints = (argValue('--etcd') ?? '').split(',').filter((e) => e !== '');
const confirmKey = argValue('--confirm-key');
const clock = new RealClock();
const log = new ClusterLogWriter({ ...(logPath ? { path: logPath } : {}), pid: process.pid, clock, memoryLines: 10 });
const markEntry = `${WATCHDOG_MARK_ENV}=${mark}`;
const hasProc = ((): boolean => {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
})();

/** Live (not zombie) processes that carry the agent's mark, with their process groups. */
function markedProcesses(): Array<{ pid: number; pgid: number }> {
  return markedProcessesOf(markEntry);
}

function killAll(pgids: readonly number[]): number[] {
  const killed = new Set<number>();
  if (!hasProc) {
    // Without /proc there is no way to tell a recycled group id from ours: trust the agent's list.
    for (const pgid of pgids) if (signalGroup(pgid, 'SIGKILL')) killed.add(pgid);
    return [...killed];
  }
  // Every marked process and its whole group: this covers the guarded groups
  // (their processes carry the mark) and any the agent had no time to report.
  for (const p of markedProcesses()) {
    if (p.pgid > 1 && signalGroup(p.pgid, 'SIGKILL')) killed.add(p.pgid);
    try {
      process.kill(p.pid, 'SIGKILL'); // in case it left its group
    } catch {
      // already gone
    }
  }
  return [...killed];
}

/** Writes { lease } to the confirmation key through etcd's JSON gateway; true once one endpoint took it. */
async function confirmInStore(lease: string): Promise<boolean> {
  if (!confirmKey || etcdEndpoints.length === 0) return false;
  const body = JSON.stringify({
    key: Buffer.from(confirmKey).toString('base64'),
    value: Buffer.from(JSON.stringify({ lease, watchdog: process.pid, at: Date.now() })).toString('base64'),
  });
  const until = clock.now() + confirmDeadlineMs;
  for (let i = 0; clock.now() < until; i++) {
    const endpoint = etcdEndpoints[i % etcdEndpoints.length]!;
    try {
      const r = await fetch(`${endpoint.replace(/\/$/, '')}/v3/kv/put`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(confirmRequestTimeoutMs) });
      if (r.ok) return true;
      log.writeMessage({ level: 'WARN', component: 'NM', text: `Watchdog ${process.pid}: etcd ${endpoint} refused the kill confirmation (HTTP ${r.status}).` });
    } catch (e) {
      log.writeMessage({ level: 'WARN', component: 'NM', text: `Watchdog ${process.pid}: cannot confirm the kill at etcd ${endpoint}: ${e instanceof Error ? e.message : String(e)}` });
      await new Promise((r) => setTimeout(r, killSettlePollMs));
    }
  }
  return false;
}

async function settleConfirmAndExit(): Promise<void> {
  const until = clock.now() + killSettleWaitMs;
  while (hasProc && markedProcesses().length > 0 && clock.now() < until) {
    await new Promise((r) => setTimeout(r, killSettlePollMs));
  }
  // Only a kill seen through (/proc shows none of the marked processes) is confirmed.
  const allGone = hasProc && markedProcesses().length === 0;
  const lease = core.confirmableLease;
  const stored = allGone && lease !== undefined && (await confirmInStore(lease));
  log.writeMessage({ level: 'INFO', component: 'NM', text: `Watchdog ${process.pid}: ${allGone ? 'every marked process is gone' : 'marked processes may be left'}; kill ${stored ? `confirmed in the store for lease ${lease}` : 'not confirmed in the store'}.` });
  report({ type: 'confirmed', lease, stored });
  log.close();
  process.exit(0);
}

function report(r: WatchdogReport): void {
  // The agent may be gone; a write to a closed pipe must not kill the watchdog before it has done its job.
  try {
    process.stdout.write(encodeLine(r));
  } catch {
    // nobody is listening
  }
}

process.stdout.on('error', () => undefined);
const core = new WatchdogCore(clock, {
  killAll,
  report,
  log: (text) => log.writeMessage({ level: 'WARN', component: 'NM', text: `Watchdog ${process.pid}: ${text}` }),
  exit: () => void settleConfirmAndExit(),
});

// Terminal signals are the agent's business; SIGTERM to the watchdog itself is taken as "fire".
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('SIGTERM', () => core.onCommand({ type: 'fire', reason: 'the watchdog received SIGTERM' }));

const splitter = new LineSplitter();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of splitter.push(chunk)) {
    const command = decodeCommand(line);
    if (command) core.onCommand(command);
    else log.writeMessage({ level: 'WARN', component: 'NM', text: `Watchdog ${process.pid}: ignored a malformed command ${JSON.stringify(line.slice(0, 200))}` });
  }
});
process.stdin.on('end', () => core.onAgentGone());
process.stdin.on('close', () => core.onAgentGone());
process.stdin.on('error', () => core.onAgentGone());

log.writeMessage({ level: 'INFO', component: 'NM', text: `Watchdog ${process.pid} started for mark ${mark}.` });
report({ type: 'ready', pid: process.pid });
