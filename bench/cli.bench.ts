// Start-up of the command line, whole processes: `node bin/failover.js ...`
// from the build in dist/ (rebuilt first, so it is the sources' build), each
// command 10 times after one warm-up run, wall time from spawn to exit. The
// cluster commands run against a `failover up` started here; `log diagnose`
// reads a generated 1 MB cluster log. Targets (issue 13): --help < 150 ms and
// < 60 MB RSS; status and group list --json < 300 ms; log diagnose < 400 ms.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatLine, type LogRecord } from '../src/log/format.ts';
import { report, summary } from './stats.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'failover.js');
const runs = 10;
const upStartTimeoutMs = 60_000;
const upStopTimeoutMs = 30_000;
const logBytes = 1024 * 1024;
const targets = { helpMs: 150, helpRssMb: 60, clusterCommandMs: 300, diagnoseMs: 400 };

/** Preloaded into a run: prints the process's peak RSS (kB) on stderr as it exits. */
const peakRssProbe = `data:text/javascript,${encodeURIComponent("process.on('exit', () => process.stderr.write(`\\npeak-rss-kb ${process.resourceUsage().maxRSS}\\n`));")}`;

interface Run {
  ms: number;
  code: number | null;
  stderr: string;
}

function failover(args: readonly string[], cwd: string, nodeArgs: readonly string[] = []): Run {
  const started = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, bin, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  return { ms: performance.now() - started, code: r.status, stderr: r.stderr };
}

/** Median wall time of `runs` runs after a warm-up; every run must end with one of the expected exit codes. */
function medianMs(args: readonly string[], cwd: string, okCodes: readonly number[] = [0]): number {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const r = failover(args, cwd);
    if (r.code === null || !okCodes.includes(r.code)) throw new Error(`failover ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    if (/running the TypeScript sources/.test(r.stderr)) throw new Error('bin/failover.js did not run dist/ (is it current?)');
    if (i > 0) samples.push(r.ms);
  }
  return summary(samples).median;
}

function medianPeakRssMb(args: readonly string[], cwd: string): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const kb = /peak-rss-kb (\d+)/.exec(failover(args, cwd, ['--import', peakRssProbe]).stderr)?.[1];
    if (kb === undefined) throw new Error(`failover ${args.join(' ')} did not report its peak RSS`);
    samples.push(Number(kb) / 1024);
  }
  return summary(samples).median;
}

function line(name: string, value: number, target: number, unit: string): void {
  report(`cli: ${name} (target < ${target} ${unit})`, value, `${unit}${value < target ? '' : '  MISSED'}`);
}

/**
 * 1 MB of a busy cluster (resources polled, moved, failing) before the
 * KB2893882 node log from the test fixtures, so the rules find a known issue.
 */
function writeClusterLog(file: string): void {
  const seed = readFileSync(path.join(root, 'test', 'fixtures', 'cluster-logs', 'kb2893882-node2.log'), 'utf8');
  const lines: string[] = [];
  let bytes = seed.length;
  let t = Date.UTC(2013, 9, 9); // the day of the fixture, before its first line
  const states = ['Offline', 'OnlineCallIssued', 'OnlinePending', 'Online', 'WaitingToGoOffline', 'OfflineCallIssued', 'OfflinePending'];
  const add = (level: LogRecord['level'], component: string, text: string): void => {
    const l = formatLine({ pid: 0xa1c, tid: 0xa00 + (lines.length % 64), timeMs: t, level, component, text });
    lines.push(l);
    bytes += l.length + 1;
  };
  for (let i = 0; bytes < logBytes; i++) {
    t += 1 + (i % 3);
    const r = `Resource ${i % 200} (Group ${i % 40})`;
    if (i % 10 < 2) add('INFO', 'RCM', `TransitionToState(${r}) ${states[i % 7]}-->${states[(i + 1) % 7]}.`);
    else if (i % 10 === 2) add('INFO', 'RCM', `rcm::RcmApi::OnlineResource: (${r})`);
    else if (i % 10 === 3) add('INFO', 'GUM', `Node 2: Processing RequestLock 1:${i % 1000}`);
    else add('INFO', 'RES', `Physical Disk <Cluster Disk ${i % 16}>: HardDiskpIsAlive: Polled at ${i % 100_000}, status 0.`);
  }
  writeFileSync(file, `${lines.join('\n')}\n${seed}`);
}

async function startUp(dir: string): Promise<ChildProcess> {
  // A loopback address of this run's own for the sample mailbox server, so it never collides with another cluster's.
  const sampleAddress = `127.79.${1 + (process.pid % 250)}.${1 + (Math.floor(process.pid / 250) % 250)}`;
  const child = spawn(process.execPath, [bin, 'up', '--port', '0', '--sample-address', sampleAddress, '--data-dir', path.join(dir, '.failover')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`failover up did not start within ${upStartTimeoutMs} ms:\n${out}`)), upStartTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^API: /m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`failover up exited ${code}:\n${out}`)));
  });
  return child;
}

async function stopUp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), upStopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

const build = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'build.ts')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('the build failed');

const dir = mkdtempSync(path.join(os.tmpdir(), 'failover-bench-cli-'));
let up: ChildProcess | undefined;
try {
  line('failover --help, median wall', medianMs(['--help'], dir), targets.helpMs, 'ms');
  line('failover --help, median peak RSS', medianPeakRssMb(['--help'], dir), targets.helpRssMb, 'MB');

  up = await startUp(dir);
  line('failover status, median wall', medianMs(['status'], dir), targets.clusterCommandMs, 'ms');
  line('failover group list --json, median wall', medianMs(['group', 'list', '--json'], dir), targets.clusterCommandMs, 'ms');
  await stopUp(up);

  const log = path.join(dir, 'node1_cluster.log');
  writeClusterLog(log);
  // Exit code 1: a known issue was found (the log ends with one).
  line('failover log diagnose (1 MB log), median wall', medianMs(['log', 'diagnose', log], dir, [0, 1]), targets.diagnoseMs, 'ms');
  report('cli: for comparison, node -e 0, median wall', summary(Array.from({ length: runs }, () => timeNode())).median, 'ms');
} finally {
  if (up) await stopUp(up);
  rmSync(dir, { recursive: true, force: true });
}

/** Node's own start-up on this machine: the floor under every figure above. */
function timeNode(): number {
  const started = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - started;
}
