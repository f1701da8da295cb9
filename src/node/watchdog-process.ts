// The watchdog process: `node --import tsx watchdog-process.ts --mark M [--log FILE]`.
// Spawned by the node agent in a process group of its own (so a terminal's
// Ctrl-C or a kill of the agent's group does not take it down first). Reads
// commands on stdin (see watchdog-protocol.ts), reports on stdout, and fires
// when the agent stops petting it or its stdin closes. Kept small on purpose:
// it must keep working when everything else has gone wrong.
import { readdirSync } from 'node:fs';
import { RealClock } from '../clock/real.ts';
import { ClusterLogWriter } from '../log/writer.ts';
import { markedProcesses as markedProcessesOf, signalGroup } from '../types/process-group.ts';
import { WatchdogCore } from './watchdog-core.ts';
import { decodeCommand, encodeLine, LineSplitter, WATCHDOG_MARK_ENV, type WatchdogReport } from './watchdog-protocol.ts';

/** After SIGKILL, how long to wait for the killed processes to be gone before exiting anyway. */
const killSettleWaitMs = 2_000;
const killSettlePollMs = 10;

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

async function settleAndExit(): Promise<void> {
  const until = clock.now() + killSettleWaitMs;
  while (hasProc && markedProcesses().length > 0 && clock.now() < until) {
    await new Promise((r) => setTimeout(r, killSettlePollMs));
  }
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
  exit: () => void settleAndExit(),
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
