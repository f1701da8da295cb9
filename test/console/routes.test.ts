// The console's routes on the REST server (over the real in-process cluster):
// the page, style and script need no token and carry a strict CSP; the script
// is self-contained; /console/session tells full from read-only tokens and
// refuses others; the API itself still needs a token; no console unless asked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { isConsoleUrl } from '../../src/console/routes.ts';
import { startCluster, type RunningCluster } from '../support/cluster.ts';

const tokens = { full: 'console-full-token', read: 'console-read-token' };
let cluster: RunningCluster;
let withConsole: ApiServer;
let withoutConsole: ApiServer;

before(async () => {
  cluster = await startCluster();
  withConsole = await startApiServer({ api: cluster.api, tokens, console: true });
  withoutConsole = await startApiServer({ api: cluster.api, tokens });
});
after(async () => {
  await withConsole?.close();
  await withoutConsole?.close();
  await cluster?.stop();
});

const get = (server: ApiServer, path: string, token?: string): Promise<Response> =>
  fetch(`${server.url}${path}`, { redirect: 'manual', headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} });

test('/console redirects to /console/, whose page is served without a token and under a strict CSP', async () => {
  const redirect = await get(withConsole, '/console');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/console/');

  const page = await get(withConsole, '/console/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  const html = await page.text();
  assert.match(html, /<script type="module" src="console.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="console.css">/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing is loaded from another origin');
});

test('the script is one self-contained module and the stylesheet loads nothing from elsewhere', async () => {
  const js = await get(withConsole, '/console/console.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  const code = await js.text();
  assert.doesNotMatch(code, /^\s*import\s/m, 'bundled: no imports left');
  assert.doesNotMatch(code, /\brequire\(|\bBuffer\b|node:/, 'nothing of Node in the browser bundle');
  assert.doesNotMatch(code, /https?:\/\//, 'no address of another origin');
  assert.match(code, /\/v1\/events/);

  const css = await get(withConsole, '/console/console.css');
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  assert.doesNotMatch(await css.text(), /url\(|@import/);
});

test('/console/session tells the full token from the read-only one and refuses others with the API error body', async () => {
  assert.deepEqual(await (await get(withConsole, '/console/session', tokens.full)).json(), { access: 'full' });
  assert.deepEqual(await (await get(withConsole, '/console/session', tokens.read)).json(), { access: 'read' });
  for (const token of ['wrong', undefined]) {
    const r = await get(withConsole, '/console/session', token);
    assert.equal(r.status, 401);
    const body = (await r.json()) as { code: number; name: string; message: string };
    assert.equal(body.code, 5);
    assert.equal(body.name, 'ERROR_ACCESS_DENIED');
    assert.match(body.message, token === undefined ? /missing token/ : /unknown token/);
  }
});

test('with the console on, the API still needs a token', async () => {
  assert.equal((await get(withConsole, '/v1/nodes')).status, 401);
  assert.equal((await get(withConsole, '/v1/nodes', tokens.read)).status, 200);
});

test('without the console option nothing is served at /console/', async () => {
  const r = await get(withoutConsole, '/console/');
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { name: string }).name, 'ERROR_ACCESS_DENIED');
  assert.equal((await get(withoutConsole, '/console/', tokens.full)).status, 404);
});

test('isConsoleUrl covers the console and nothing else', () => {
  for (const url of ['/console', '/console/', '/console/console.js', '/console/session?x=1', '/console?x']) assert.equal(isConsoleUrl(url), true, url);
  for (const url of ['/consoles', '/v1/console', '/', '/openapi.json', '/v1/nodes?console/']) assert.equal(isConsoleUrl(url), false, url);
});
