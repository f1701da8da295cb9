// Starts the REST server over the real in-process cluster (test/support/cluster.ts)
// on a random loopback port, for tests of the HTTP layer.
import { startApiServer } from '../../src/api/server.ts';
import { createHttpApi } from '../../src/api/http-client.ts';
import type { SseLimits } from '../../src/api/sse.ts';
import type { ClusterApi, OperationView } from '../../src/api/types.ts';
import type { LocalCluster } from '../../src/node/cluster.ts';
import { operationEnded, startCluster, type ClusterOptions } from '../support/cluster.ts';

export const FULL = 'full-token-for-tests';
export const READ = 'read-token-for-tests';

export interface Harness {
  /** The cluster's own API, in process (what the server serves). */
  readonly api: ClusterApi;
  readonly cluster: LocalCluster;
  readonly url: string;
  request(method: string, path: string, options?: { body?: string | object; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startServer(options: ClusterOptions & { bodyLimitBytes?: number; sse?: Partial<SseLimits> } = {}): Promise<Harness> {
  const running = await startCluster(options);
  let server;
  try {
    server = await startApiServer({
      api: running.api,
      tokens: { full: FULL, read: READ },
      ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
      ...(options.sse ? { sse: options.sse } : {}),
    });
  } catch (e) {
    await running.stop();
    throw e;
  }
  const url = server.url;
  return {
    api: running.api,
    cluster: running.cluster,
    url,
    async request(method, path, o = {}) {
      const token = o.token === undefined ? FULL : o.token;
      const headers: Record<string, string> = { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async close() {
      await server.close();
      await running.stop();
    },
  };
}

/** Waits until the operation has ended, reading it through the server (bounded; see operationEnded). */
export function waitDone(h: Harness, id: string): Promise<OperationView> {
  return operationEnded(createHttpApi({ url: h.url, token: FULL }), id);
}
