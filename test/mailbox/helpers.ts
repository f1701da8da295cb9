// Helpers for the mailbox server's tests: an in-process cluster on the real
// clock (the server needs real sockets and time) with the mailbox types, a
// temporary storage directory and a loopback address and ports of its own, so
// test files running side by side do not collide.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../src/clock/real.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { LocalCluster, type LocalClusterOptions } from '../../src/node/cluster.ts';
import { mailboxResourceTypes } from '../../src/types/index.ts';
import { MailboxConsole } from '../../src/mailbox/console.ts';
import type { MailboxLimits } from '../../src/mailbox/limits.ts';

export interface MailboxTestCluster {
  readonly clock: RealClock;
  readonly cluster: LocalCluster;
  readonly api: ClusterApi;
  readonly console: MailboxConsole;
  readonly dir: string;
  /** A loopback address no other test process uses (with high probability). */
  readonly address: string;
  readonly smtpPort: number;
  readonly httpPort: number;
  /** Polls cond until true; past maxMs fails, with what describe() says of the cluster then. */
  until(what: string, cond: () => Promise<boolean> | boolean, maxMs?: number, describe?: () => Promise<string>): Promise<number>;
  stop(): Promise<void>;
}

/** A random 127.x.y.z address and two ports, so concurrent test files never share a socket. */
export function randomEndpoint(): { address: string; smtpPort: number; httpPort: number } {
  const r = (n: number): number => Math.floor(Math.random() * n);
  return { address: `127.${100 + r(100)}.${r(256)}.${1 + r(254)}`, smtpPort: 20_000 + r(20_000), httpPort: 40_000 + r(20_000) };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'failover-'));
}

export async function startMailboxCluster(options: LocalClusterOptions & { mailboxLimits?: Partial<MailboxLimits> } = {}): Promise<MailboxTestCluster> {
  const dir = tempDir();
  const clock = new RealClock();
  const { mailboxLimits, ...clusterOptions } = options;
  const cluster = await LocalCluster.start({ clock, nodes: ['node1', 'node2'], types: () => mailboxResourceTypes(mailboxLimits), ...clusterOptions });
  const api = createInProcessApi({ store: cluster.store, clock });
  const mailboxConsole = new MailboxConsole(api, { clock, limits: { operationPollIntervalMs: 50 } });
  return {
    clock,
    cluster,
    api,
    console: mailboxConsole,
    dir,
    ...randomEndpoint(),
    async until(what, cond, maxMs = 30_000, describe) {
      const start = Date.now();
      while (!(await cond())) {
        if (Date.now() - start > maxMs) throw new Error(`timed out after ${maxMs} ms waiting for: ${what}${describe ? ` (${await describe()})` : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return Date.now() - start;
    },
    async stop() {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
