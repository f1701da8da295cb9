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
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'failover-etcd-'));
  const name = 'failover-test';
  const child = spawn(
    binary,
    [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `${name}=${peer}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-level', 'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
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

  const deadline = Date.now() + etcdStartTimeoutMs;
  while (!(await isHealthy(endpoint))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`etcd (${binary}) did not become healthy at ${endpoint}${exited ? ' (it exited)' : ` within ${etcdStartTimeoutMs} ms`}:\n${stderrTail}`);
    }
    await sleep(etcdHealthPollIntervalMs);
  }
  assertPid(child);
  return { endpoint, pid: child.pid, stop };
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
