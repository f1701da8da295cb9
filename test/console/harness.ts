// A real in-process cluster (three node agents on the in-memory store, real
// clock) behind the REST server with the console, and Debian's chromium driven
// by playwright-core with a fresh profile. Everything started here is stopped
// by the returned stop/close functions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { createApiTokens, type ApiTokens } from '../../src/api/tokens.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { findChromium } from '../../scripts/chromium.ts';
import { eventually } from './eventually.ts';

export { eventually };


export interface ConsoleCluster {
  readonly cluster: LocalCluster;
  readonly api: ClusterApi;
  readonly server: ApiServer;
  readonly tokens: ApiTokens;
  /** The console's address without a token. */
  readonly consoleUrl: string;
  stop(): Promise<void>;
}

/**
 * Two groups shaped like the sample's, all Dummy resources: Web (preferred on
 * node1) and CMS01 (preferred on node2), each with a dependency.
 */
export async function startConsoleCluster(): Promise<ConsoleCluster> {
  const cluster = await LocalCluster.start({ nodes: 3 });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  const tokens = createApiTokens();
  let server: ApiServer | undefined;
  try {
    server = await startApiServer({ api, tokens, host: '127.0.0.1', port: 0, console: true });
    await api.createGroup('Web', { PreferredOwners: ['node1', 'node3'] });
    await api.createResource('Web IP', 'Dummy', 'Web');
    await api.createResource('Web Server', 'Dummy', 'Web', { dependencies: '[Web IP]' });
    await api.createGroup('CMS01', { PreferredOwners: ['node2', 'node1'] });
    await api.createResource('Mailbox Database (CMS01)', 'Dummy', 'CMS01');
    await api.createResource('Information Store (CMS01)', 'Dummy', 'CMS01', { dependencies: '[Mailbox Database (CMS01)]' });
    await eventually('both groups online', async () => {
      const states = (await api.listGroups()).map((g) => `${g.name}=${g.state}`).join(' ');
      if (states !== 'CMS01=Online Web=Online' && states !== 'Web=Online CMS01=Online') throw new Error(states);
    });
  } catch (e) {
    await server?.close();
    await cluster.stop();
    throw e;
  }
  const running = server;
  return {
    cluster,
    api,
    server: running,
    tokens,
    consoleUrl: `${running.url}/console/`,
    async stop() {
      await running.close();
      await cluster.stop();
    },
  };
}

export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's chromium, headless, with a fresh profile in a temporary directory (removed on close). */
export async function launchChromium(): Promise<Chromium> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('chromium is not installed (/usr/bin/chromium): `npm test` installs it with "apt-get install -y chromium"; or install it yourself');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 900 },
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          fs.rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
