// The web console's routes on the REST API server: one page at /console/, its
// stylesheet, and its script — TypeScript under src/console/web bundled in
// memory with esbuild when the server starts, so there is no build step. The
// page, stylesheet and script hold no cluster data and are served without a
// token; the page reads everything through the token-checked API. The one
// console-only route, /console/session, checks the token itself and tells the
// page whether it may act (full token) or only read.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors, type ClusterErrorValue } from '../model/errors.ts';

export type ConsoleAccess = 'full' | 'read';

export interface ConsoleRouteOptions {
  /** The API server's token check: which access a bearer token grants, if any. */
  readonly accessOf: (token: string) => ConsoleAccess | undefined;
}

/** What /console/session answers a valid token with. */
export interface ConsoleSession {
  readonly access: ConsoleAccess;
}

export const CONSOLE_PATH = '/console/';

const webDir = (file: string): string => fileURLToPath(new URL(`./web/${file}`, import.meta.url));

/**
 * Only the page itself may run scripts, load styles and talk to the API; no
 * other origin, no inline code, no frames. The page never needs anything else.
 */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

/** True for the URLs the console answers itself (the API's token check does not apply to them). */
export function isConsoleUrl(url: string): boolean {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  return path === '/console' || path.startsWith(CONSOLE_PATH);
}

/** Bundles the page's script from src/console/web/main.ts: one ES module, nothing fetched from elsewhere. */
export async function buildConsoleScript(): Promise<string> {
  // Loaded here, not at the top: a server without the console never loads esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [webDir('main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('assertion failed: esbuild produced the console script');
  return file.text;
}

function accessDenied(message: string): ClusterErrorValue {
  return { code: errors.ERROR_ACCESS_DENIED.code, name: 'ERROR_ACCESS_DENIED', message };
}

/** Registers /console, /console/, its stylesheet and script, and /console/session on the API server. */
export async function registerConsoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions): Promise<void> {
  const page = readFileSync(webDir('index.html'), 'utf8');
  const style = readFileSync(webDir('console.css'), 'utf8');
  const script = await buildConsoleScript();

  const send = (reply: FastifyReply, type: string, body: string): FastifyReply => reply.headers(securityHeaders).type(type).send(body);

  // Relative links in the page need the trailing slash; the fragment (the token) survives the redirect.
  app.get('/console', { schema: { hide: true } }, (_req, reply) => reply.redirect(CONSOLE_PATH, 308));
  app.get(CONSOLE_PATH, { schema: { hide: true } }, (_req, reply) => send(reply, 'text/html; charset=utf-8', page));
  app.get(`${CONSOLE_PATH}console.css`, { schema: { hide: true } }, (_req, reply) => send(reply, 'text/css; charset=utf-8', style));
  app.get(`${CONSOLE_PATH}console.js`, { schema: { hide: true } }, (_req, reply) => send(reply, 'text/javascript; charset=utf-8', script));

  app.get(`${CONSOLE_PATH}session`, { schema: { hide: true } }, (req, reply) => {
    void reply.headers(securityHeaders);
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (!m) return reply.code(401).header('www-authenticate', 'Bearer').send(accessDenied('missing token: open the console with the URL "failover up" printed (…/console/#token=…) or enter a token'));
    const access = options.accessOf(m[1]!);
    if (!access) return reply.code(401).header('www-authenticate', 'Bearer').send(accessDenied('unknown token: it is neither this cluster\'s full nor its read-only token'));
    const session: ConsoleSession = { access };
    return reply.send(session);
  });
}
