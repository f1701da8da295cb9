// The mailbox access API of the System Attendant: HTTP with JSON bodies.
//
//   GET    /status                                  server, node, databases
//   GET    /mailboxes                               [{ mailbox, database, count }]
//   GET    /mailboxes/<m>/messages?offset=&limit=   { total, offset, limit, messages, next? }
//   GET    /mailboxes/<m>/messages/<id>             { ...summary, raw }
//   DELETE /mailboxes/<m>/messages/<id>             204, or 404
//
// Errors are { code, name, message } with WSFC codes: 404 for an unknown
// mailbox or message, 503 while the mailbox's database is not mounted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { MailboxDatabase } from './database.ts';
import { normaliseMailbox } from './database.ts';
import type { MailboxLimits } from './limits.ts';
import type { MailRouter } from './smtp.ts';

export interface MailboxAccessRouter extends MailRouter {
  /** The server's databases by resource name, with the mounted one if mounted here. */
  databases(): Array<{ name: string; mounted?: MailboxDatabase }>;
}

export interface MailboxHttpOptions {
  readonly address: string;
  readonly port: number;
  readonly serverName: string;
  readonly node: string;
  readonly router: MailboxAccessRouter;
  readonly limits: MailboxLimits;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ClusterError,
  ) {
    super(error.message);
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const v = url.searchParams.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new HttpError(400, new ClusterError('ERROR_INVALID_PARAMETER', `query parameter ${name}=${JSON.stringify(v)} must be an integer in 0..${max}`));
  return n;
}

export class MailboxHttpServer {
  private constructor(private readonly server: Server) {}

  static start(options: MailboxHttpOptions): Promise<MailboxHttpServer> {
    const { router, limits } = options;
    const mounted = (mailbox: string): MailboxDatabase => {
      const route = router.route(mailbox);
      if (!route) throw new HttpError(404, new ClusterError('ERROR_NOT_FOUND', `mailbox ${JSON.stringify(mailbox)} is not on server ${options.serverName}`));
      if (!route.mounted?.mounted) throw new HttpError(503, new ClusterError('ERROR_NOT_READY', `database ${route.database} of mailbox ${JSON.stringify(mailbox)} is not mounted`));
      return route.mounted;
    };
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://mailbox');
      const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
      const method = req.method ?? 'GET';
      if (method === 'GET' && parts.length === 1 && parts[0] === 'status') {
        return send(res, 200, {
          server: options.serverName,
          node: options.node,
          databases: router.databases().map((d) => d.mounted?.status() ?? { name: d.name, mounted: false }),
        });
      }
      if (method === 'GET' && parts.length === 1 && parts[0] === 'mailboxes') {
        const out: Array<{ mailbox: string; database: string; count: number }> = [];
        for (const d of router.databases()) {
          if (!d.mounted?.mounted) continue;
          for (const m of d.mounted.mailboxes()) out.push({ ...m, database: d.name });
        }
        return send(res, 200, out);
      }
      if (parts[0] === 'mailboxes' && parts[2] === 'messages' && parts.length >= 3 && parts.length <= 4) {
        const mailbox = normaliseMailbox(parts[1]!);
        const db = mounted(mailbox);
        if (parts.length === 3 && method === 'GET') {
          const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
          const limit = intParam(url, 'limit', limits.pageSizeDefault, limits.pageSizeMax);
          const page = db.list(mailbox, offset, limit);
          const next = offset + page.messages.length;
          return send(res, 200, { mailbox, total: page.total, offset, limit, messages: page.messages, ...(next < page.total ? { next } : {}) });
        }
        const id = parts[3]!;
        if (parts.length === 4 && method === 'GET') {
          const m = await db.read(mailbox, id);
          if (!m) throw new HttpError(404, new ClusterError('ERROR_NOT_FOUND', `mailbox ${mailbox} has no message ${JSON.stringify(id)}`));
          return send(res, 200, { ...m.summary, raw: m.raw.toString('utf8') });
        }
        if (parts.length === 4 && method === 'DELETE') {
          if (!(await db.delete(mailbox, id))) throw new HttpError(404, new ClusterError('ERROR_NOT_FOUND', `mailbox ${mailbox} has no message ${JSON.stringify(id)}`));
          return send(res, 204);
        }
      }
      throw new HttpError(404, new ClusterError('ERROR_NOT_FOUND', `no route for ${method} ${url.pathname}`));
    };
    const server = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (e instanceof HttpError) return send(res, e.status, e.error.toJSON());
        const err = isClusterError(e) ? e : new ClusterError('ERROR_INTERNAL_ERROR', e instanceof Error ? e.message : String(e));
        send(res, err.name === 'ERROR_NOT_READY' ? 503 : 500, err.toJSON());
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void =>
        reject(new ClusterError('ERROR_RESOURCE_FAILED', `mailbox access API cannot listen on ${options.address}:${options.port}: ${e.code ?? e.message}`));
      server.once('error', onError);
      server.listen(options.port, options.address, () => {
        server.off('error', onError);
        resolve(new MailboxHttpServer(server));
      });
    });
  }

  /** Stops listening; idle keep-alive connections are closed, requests in progress finish. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  destroy(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
