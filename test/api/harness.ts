// Starts the REST server over the in-memory ClusterApi double on a random
// loopback port, for tests of the HTTP layer (not of the real cluster).
import { startApiServer } from '../../src/api/server.ts';
import { createMemoryApi, type MemoryApiOptions, type MemoryClusterApi } from '../../src/api/memory.ts';
import type { SseLimits } from '../../src/api/sse.ts';

export const FULL = 'full-token-for-tests';
export const READ = 'read-token-for-tests';

export interface Harness {
  readonly mem: MemoryClusterApi;
  readonly url: string;
  request(method: string, path: string, options?: { body?: string | object; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startDouble(options: MemoryApiOptions & { bodyLimitBytes?: number; sse?: Partial<SseLimits> } = {}): Promise<Harness> {
  const mem = createMemoryApi({ stepDelayMs: 1, ...options });
  const server = await startApiServer({
    api: mem,
    tokens: { full: FULL, read: READ },
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.sse ? { sse: options.sse } : {}),
  });
  return {
    mem,
    url: server.url,
    async request(method, path, o = {}) {
      const token = o.token === undefined ? FULL : o.token;
      const headers: Record<string, string> = { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
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
      mem.dispose();
    },
  };
}

/** Polls until the operation is done (the double finishes in milliseconds). */
export async function waitDone(h: Harness, id: string, timeoutMs = 5000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.request('GET', `/v1/operations/${encodeURIComponent(id)}`);
    if (r.body?.done || Date.now() > end) return r.body;
    await new Promise((res) => setTimeout(res, 5));
  }
}
