// The clustered mailbox server under load, on an in-process cluster with the
// real clock, real sockets and fsync:
//
// - SMTP ingest rate: messages/s acknowledged (250) by a server on one node
//   (single copy: each group commit fsynced once), and by a CCR server (each
//   group commit fsynced on the active and the passive copy before the 250),
//   with 16 nodemailer connections sending for a fixed time.
// - Unavailability per move: a prober sends one message after another while
//   the mailbox console moves the server back and forth; for each move, the
//   longest gap between two consecutive 250s around it. Median and max.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { RealClock } from '../src/clock/real.ts';
import { createInProcessApi } from '../src/api/service.ts';
import type { ClusterApi } from '../src/api/types.ts';
import { LocalCluster } from '../src/node/cluster.ts';
import { mailboxResourceTypes } from '../src/types/index.ts';
import { MailboxConsole, type ServerMode } from '../src/mailbox/console.ts';
import { resolveNetworkName } from '../src/mailbox/client.ts';
import { report, summary } from './stats.ts';

const ingestDurationMs = 5_000;
/** Untimed sending first, so JIT warm-up and first-connection costs do not count. */
const warmUpMs = 1_000;
const ingestConnections = 16;
const moves = 10;
const proberRetryDelayMs = 5;
const settleBetweenMovesMs = 300;

interface Setup {
  cluster: LocalCluster;
  api: ClusterApi;
  console: MailboxConsole;
  dir: string;
  address: string;
  smtpPort: number;
}

async function setup(mode: ServerMode, nodes: string[], n: number): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  const clock = new RealClock();
  const cluster = await LocalCluster.start({ clock, nodes, types: () => mailboxResourceTypes() });
  const api = createInProcessApi({ store: cluster.store, clock });
  const mailboxConsole = new MailboxConsole(api, { clock, limits: { operationPollIntervalMs: 20 } });
  const address = `127.${200 + n}.${process.pid % 250}.1`;
  const smtpPort = 25_000 + (process.pid % 5_000);
  await mailboxConsole.createServer('CMS01', { mode, nodes, storageRoot: dir, address, smtpPort, httpPort: smtpPort + 1 });
  return { cluster, api, console: mailboxConsole, dir, address, smtpPort };
}

async function teardown(s: Setup): Promise<void> {
  await s.cluster.stop();
  fs.rmSync(s.dir, { recursive: true, force: true });
}

async function ingest(s: Setup, durationMs = ingestDurationMs): Promise<number> {
  const transports = Array.from({ length: ingestConnections }, () => nodemailer.createTransport({ host: s.address, port: s.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 }));
  let sent = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    transports.map(async (t, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        try {
          await t.sendMail({ from: 'bench@cms01', to: `user${w}@cms01`, subject: `bench ${w}/${i}`, text: 'x'.repeat(1024), messageId: `<bench-${durationMs}-${w}-${i}@bench>` });
          sent++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  for (const t of transports) t.close();
  if (failed > 0) console.log(`  (${failed} sends failed)`);
  return sent / seconds;
}

async function moveUnavailability(s: Setup): Promise<number[]> {
  const successes: number[] = [];
  let running = true;
  const prober = (async () => {
    let address = s.address;
    for (let i = 0; running; i++) {
      const t = nodemailer.createTransport({ host: address, port: s.smtpPort, secure: false, ignoreTLS: true, connectionTimeout: 2_000 });
      try {
        await t.sendMail({ from: 'probe@cms01', to: 'probe@cms01', subject: `probe ${i}`, text: 'probe', messageId: `<probe-${i}@bench>` });
        successes.push(performance.now());
      } catch {
        await new Promise((r) => setTimeout(r, proberRetryDelayMs));
        address = await resolveNetworkName(s.api, 'cms01').then((r) => r.address, () => address);
      } finally {
        t.close();
      }
    }
  })();
  const windows: Array<{ start: number; end: number }> = [];
  for (let m = 0; m < moves; m++) {
    await new Promise((r) => setTimeout(r, settleBetweenMovesMs));
    const owner = (await s.api.getGroup('CMS01')).owner;
    const to = owner === 'node1' ? 'node2' : 'node1';
    const start = performance.now();
    const r = await s.console.move('CMS01', { to, comment: `bench move ${m + 1}` });
    if (!r.ok) throw new Error(`move ${m + 1} failed: ${JSON.stringify(r)}`);
    windows.push({ start, end: performance.now() });
  }
  await new Promise((r) => setTimeout(r, settleBetweenMovesMs));
  running = false;
  await prober;
  return windows.map((w) => {
    const before = successes.filter((t) => t <= w.start).at(-1) ?? w.start;
    const after = successes.find((t) => t >= w.end) ?? w.end;
    const inside = [before, ...successes.filter((t) => t > before && t < after), after];
    let gap = 0;
    for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i]! - inside[i - 1]!);
    return gap;
  });
}

const single = await setup('scc', ['node1'], 1);
try {
  await ingest(single, warmUpMs);
  report('mailbox SMTP ingest, one node (SCC), durable', Math.round(await ingest(single)), 'messages/s');
} finally {
  await teardown(single);
}

const ccr = await setup('ccr', ['node1', 'node2'], 2);
try {
  await ingest(ccr, warmUpMs);
  report('mailbox SMTP ingest, CCR (shipped to the passive copy)', Math.round(await ingest(ccr)), 'messages/s');
  const gaps = summary(await moveUnavailability(ccr));
  report(`mailbox unavailable during a move, median of ${gaps.n}`, Math.round(gaps.median), 'ms');
  report('mailbox unavailable during a move, max', Math.round(gaps.max), 'ms');
} finally {
  await teardown(ccr);
}
