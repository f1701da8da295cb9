// A real in-process cluster (test/support/cluster.ts: three node agents on the
// in-memory store, real clock) behind the REST server with the console, and
// Debian's chromium driven by playwright-core with a fresh profile. Everything
// started here is stopped by the returned stop/close functions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { LocalCluster } from '../../src/node/cluster.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { createApiTokens, type ApiTokens } from '../../src/api/tokens.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { findChromium } from '../../scripts/chromium.ts';
import { createOwnedGroup, groupReaches, operationEnded, startCluster } from '../support/cluster.ts';
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
 * Two groups shaped like the sample's, all Dummy resources, online: Web
 * (preferred on node1) and CMS01 (preferred on node2), each with a dependency.
 */
export async function startConsoleCluster(): Promise<ConsoleCluster> {
  const running = await startCluster();
  const { cluster, api } = running;
  const tokens = createApiTokens();
  let server: ApiServer | undefined;
  try {
    server = await startApiServer({ api, tokens, host: '127.0.0.1', port: 0, console: true });
    await createOwnedGroup(api, 'Web', { PreferredOwners: ['node1', 'node3'] });
    await api.createResource('Web IP', 'Dummy', 'Web');
    await api.createResource('Web Server', 'Dummy', 'Web', { dependencies: '[Web IP]' });
    await createOwnedGroup(api, 'CMS01', { PreferredOwners: ['node2', 'node1'] });
    await api.createResource('Mailbox Database (CMS01)', 'Dummy', 'CMS01');
    await api.createResource('Information Store (CMS01)', 'Dummy', 'CMS01', { dependencies: '[Mailbox Database (CMS01)]' });
    for (const g of ['Web', 'CMS01']) {
      const op = await operationEnded(api, await api.onlineGroup(g));
      if (!op.ok) throw new Error(`group ${g} did not come online: ${JSON.stringify(op.error)}`);
      await groupReaches(api, g, 'Online');
    }
  } catch (e) {
    await server?.close();
    await running.stop();
    throw e;
  }
  const listening = server;
  return {
    cluster,
    api,
    server: listening,
    tokens,
    consoleUrl: `${listening.url}/console/`,
    async stop() {
      await listening.close();
      await running.stop();
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
