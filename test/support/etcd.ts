// Runs a real single-member etcd for tests: installs it from Debian's packages
// when missing, starts it on free loopback ports in a temporary data directory,
// and stops it (only the process it started) when done.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { ensureDebianPackage, findExecutable } from '../../scripts/debian.ts';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** How long a fresh etcd may take to answer /health. */
const etcdStartTimeoutMs = 20_000;
const etcdHealthPollIntervalMs = 50;
/** How long etcd gets to exit on SIGTERM before SIGKILL. */
const etcdStopTimeoutMs = 5_000;
/** Free ports are picked then released, so another process can grab one first; retry then. */
const etcdStartAttemptsMax = 3;
/** One request to a member's JSON gateway (status, member list). */
const etcdGatewayRequestTimeoutMs = 2_000;
/** Keep the tail of etcd's stderr to explain a failed start. */
const etcdStderrTailBytesMax = 8_192;

/** The variable through which `npm test` hands its shared etcd to test files. */
export const TEST_ETCD_ENV = 'FAILOVER_TEST_ETCD';

export interface RunningEtcd {
  /** Client URL, e.g. http://127.0.0.1:40123 */
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The etcd binary on PATH or in /usr/bin, or undefined. */
export function findEtcdBinary(): string | undefined {
  return findExecutable('etcd', ['/usr/bin']);
}

let installation: Promise<string> | undefined;

/**
 * Returns the path of the etcd binary, installing Debian's etcd-server package
 * with apt-get first if there is none (once per process).
 */
export function ensureEtcdInstalled(): Promise<string> {
  installation ??= installEtcd();
  return installation;
}

function installEtcd(): Promise<string> {
  return ensureDebianPackage('etcd-server', 'etcd', findEtcdBinary);
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free loopback port'));
      });
    });
  });
}

function isHealthy(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { timeout: 1_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Every etcd this process started and has not stopped, so they are killed
// even if the process exits without calling stop().
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a single-member etcd on free loopback ports with its data in a temp dir. */
export async function startEtcd(): Promise<RunningEtcd> {
  const binary = await ensureEtcdInstalled();
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= etcdStartAttemptsMax; attempt++) {
    try {
      return await startEtcdOnce(binary);
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError ?? new Error('etcd did not start');
}

async function startEtcdOnce(binary: string): Promise<RunningEtcd> {
  const clientPort = await freeLoopbackPort();
  let peerPort = await freeLoopbackPort();
  while (peerPort === clientPort) peerPort = await freeLoopbackPort();
  const member = spawnEtcdMember(binary, { name: 'failover-test', client: `http://127.0.0.1:${clientPort}`, peer: `http://127.0.0.1:${peerPort}` }, []);
  try {
    await member.healthy();
  } catch (e) {
    await member.stop();
    throw e;
  }
  return { endpoint: member.endpoint, pid: member.pid, stop: member.stop };
}

export interface EtcdMemberSpec {
  readonly name: string;
  /** Client URL, e.g. http://10.0.0.1:2379 */
  readonly client: string;
  /** Peer URL, e.g. http://10.0.0.1:2380 */
  readonly peer: string;
  /** A command prefix the member runs under (e.g. `ip netns exec NS`). */
  readonly command?: readonly string[];
}

interface EtcdMemberProcess extends RunningEtcd {
  /** Resolves once the member answers /health; throws (with its stderr) if it exits or takes too long first. */
  healthy(): Promise<void>;
}

/** etcd's raft timing (its flags --heartbeat-interval and --election-timeout; etcd's defaults are 100 and 1000 ms). */
export interface EtcdTiming {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
}

/** Starts one etcd member of the cluster `all` (the member itself included) with its data in a temp dir. */
function spawnEtcdMember(binary: string, self: EtcdMemberSpec, all: readonly EtcdMemberSpec[], timing?: EtcdTiming): EtcdMemberProcess {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'failover-etcd-'));
  const members = all.length > 0 ? all : [self];
  const argv = [
    ...(self.command ?? []),
    binary,
    '--name', self.name,
    '--data-dir', dataDir,
    '--listen-client-urls', self.client,
    '--advertise-client-urls', self.client,
    '--listen-peer-urls', self.peer,
    '--initial-advertise-peer-urls', self.peer,
    '--initial-cluster', members.map((m) => `${m.name}=${m.peer}`).join(','),
    '--initial-cluster-state', 'new',
    ...(timing ? ['--heartbeat-interval', String(timing.heartbeatIntervalMs), '--election-timeout', String(timing.electionTimeoutMs)] : []),
    '--logger', 'zap',
    '--log-level', 'error',
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-etcdStderrTailBytesMax);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
    child.on('error', (err) => {
      stderrTail += String(err);
      exited = true;
      running.delete(child);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), etcdStopTimeoutMs).unref());
      if ((await Promise.race([exit, timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exit;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const healthy = async (): Promise<void> => {
    const deadline = Date.now() + etcdStartTimeoutMs;
    while (!(await isHealthy(self.client))) {
      if (exited || Date.now() > deadline) {
        throw new Error(`etcd (${binary}) did not become healthy at ${self.client}${exited ? ' (it exited)' : ` within ${etcdStartTimeoutMs} ms`}:\n${stderrTail}`);
      }
      await sleep(etcdHealthPollIntervalMs);
    }
  };
  assertPid(child);
  return { endpoint: self.client, pid: child.pid, stop, healthy };
}

export interface RunningEtcdCluster {
  /** Client URLs, in the order of the members given. */
  readonly endpoints: readonly string[];
  readonly names: readonly string[];
  /** The name of the member that is leader as `via` (a client URL) sees it, or undefined if it knows none or does not answer. */
  leader(via: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * Starts an etcd cluster of the given members (each under its own command
 * prefix, e.g. in a network namespace) and waits until every member is
 * healthy, i.e. the cluster has a leader.
 */
export async function startEtcdCluster(members: readonly EtcdMemberSpec[], timing?: EtcdTiming): Promise<RunningEtcdCluster> {
  const binary = await ensureEtcdInstalled();
  const started = members.map((m) => spawnEtcdMember(binary, m, members, timing));
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((m) => m.stop()));
  };
  try {
    await Promise.all(started.map((m) => m.healthy()));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoints: members.map((m) => m.client),
    names: members.map((m) => m.name),
    async leader(via) {
      // etcd's JSON gateway: the member's status names the leader by id, the member list maps ids to names.
      const status = (await postJson(`${via}/v3/maintenance/status`)) as { leader?: string } | undefined;
      const list = (await postJson(`${via}/v3/cluster/member/list`)) as { members?: Array<{ ID?: string; name?: string }> } | undefined;
      if (!status?.leader || status.leader === '0') return undefined;
      return list?.members?.find((m) => m.ID === status.leader)?.name;
    },
    stop,
  };
}

/** One POST with an empty JSON body to etcd's gateway; undefined when it does not answer in time. */
function postJson(url: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', timeout: etcdGatewayRequestTimeoutMs, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end('{}');
  });
}

function assertPid(child: ChildProcess): asserts child is ChildProcess & { pid: number } {
  if (child.pid === undefined) throw new Error('etcd was spawned without a pid');
}

/**
 * The etcd a test file should use: the shared one `npm test` started (its
 * endpoint in FAILOVER_TEST_ETCD), or else one of its own, stopped by release().
 */
export async function useTestEtcd(): Promise<{ endpoint: string; release(): Promise<void> }> {
  const shared = process.env[TEST_ETCD_ENV];
  if (shared) return { endpoint: shared, release: async () => {} };
  const etcd = await startEtcd();
  return { endpoint: etcd.endpoint, release: () => etcd.stop() };
}
