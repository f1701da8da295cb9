// Fuzz test of the REST layer (over the real in-process cluster): 1,500
// malformed requests — bad JSON, wrong types, unknown fields, missing fields,
// huge bodies, bad tokens, odd paths and queries. None may get a 5xx, the
// server must keep serving, and the cluster must be exactly as before (the
// store revision too: any mutation would have bumped it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { FULL, READ, startServer, type Harness } from './harness.ts';
import { createOwnedGroup, TYPED_DUMMY } from '../support/cluster.ts';

const BODY_LIMIT_BYTES = 16_384;
const RUNS = 1500;

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function send(base: string, r: RawRequest): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers = r.body !== undefined ? { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) } : r.headers;
    const req = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve({ status: 413, body: '' }) : reject(e)));
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

/** Routes that take a body, with the fields they know. */
const bodyRoutes: Array<{ method: string; path: string; fields: string[] }> = [
  { method: 'POST', path: '/v1/groups', fields: ['name', 'common'] },
  { method: 'PUT', path: '/v1/groups/Web/properties', fields: ['Priority', 'PreferredOwners', 'PersistentState', 'FailbackWindowStart'] },
  { method: 'POST', path: '/v1/groups/Web/move', fields: ['to', 'returnToSourceOnError'] },
  { method: 'POST', path: '/v1/groups/Web/rename', fields: ['newName'] },
  { method: 'POST', path: '/v1/resources', fields: ['name', 'type', 'group', 'common', 'parameters', 'dependencies'] },
  { method: 'PUT', path: '/v1/resources/Disk/properties', fields: ['PersistentState', 'PossibleOwners', 'RestartAction'] },
  { method: 'PUT', path: '/v1/resources/Disk/parameters', fields: ['Weight', 'Tags', 'Blob'] },
  { method: 'PUT', path: '/v1/resources/Store/dependencies', fields: ['expression'] },
  { method: 'POST', path: '/v1/resources/Store/dependencies', fields: ['provider'] },
  { method: 'POST', path: '/v1/resources/Disk/possible-owners', fields: ['node'] },
  { method: 'PUT', path: '/v1/resources/Disk/group', fields: ['group'] },
  { method: 'POST', path: '/v1/nodes/node1/pause', fields: ['drain'] },
  { method: 'PUT', path: '/v1/registry/values/Cluster?name=x', fields: ['type', 'data'] },
];

const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_.~!$&\'()*+,;=:@[]{}"\\<>^`|'.split('')), maxLength: 40 });

/** A value of the wrong shape for any field: objects where strings go, strings where numbers go, ... */
const wrongValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer({ min: -1e12, max: 1e12 }),
  printable,
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), { minLength: 1, maxLength: 4 }),
  fc.dictionary(printable, fc.oneof(fc.integer(), printable), { maxKeys: 3 }),
);

/** What each field accepts; a generated value that would fit is not malformed and is skipped. */
const booleanFields = new Set(['drain', 'returnToSourceOnError']);
const integerFields = new Set(['Priority', 'PersistentState', 'FailbackWindowStart', 'RestartAction', 'Weight']);
const listFields = new Set(['PreferredOwners', 'PossibleOwners', 'Tags']);
const objectFields = new Set(['common', 'parameters', 'Blob']);
function fits(field: string, v: unknown): boolean {
  if (booleanFields.has(field)) return typeof v === 'boolean';
  if (integerFields.has(field)) return Number.isInteger(v);
  if (listFields.has(field)) return Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (objectFields.has(field)) return v !== null && typeof v === 'object' && !Array.isArray(v) && (Object.keys(v).length === 0 || 'base64' in v);
  if (field === 'type' || field === 'data') return false; // no such type, or the registry body lacks its other field: always refused
  return typeof v === 'string';
}

const badJson = fc.oneof(
  fc.constantFrom('{', '{"name":', '[1,2', '{"a":1,}', "{'a':1}", 'nul', '{"name":"x"}}', '\u0000', '{"__proto__":{"x":1}', 'NaN'),
  printable.filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);

const mutationRoute = fc.constantFrom(...bodyRoutes);
const fullAuth = { authorization: `Bearer ${FULL}` };
const jsonType = { 'content-type': 'application/json' };

const malformed: fc.Arbitrary<RawRequest> = fc.oneof(
  // bad JSON
  fc.record({ route: mutationRoute, body: badJson }).map(({ route, body }) => ({ method: route.method, path: route.path, headers: { ...fullAuth, ...jsonType }, body })),
  // a known field with a value of the wrong type
  fc.record({ route: mutationRoute, value: wrongValue, pick: fc.nat() }).filter(({ route, value, pick }) => !fits(route.fields[pick % route.fields.length]!, value)).map(({ route, value, pick }) => {
    const field = route.fields[pick % route.fields.length]!;
    const base: Record<string, unknown> = route.path === '/v1/resources' ? { name: 'zz-new', type: 'Dummy', group: 'Web' } : route.path === '/v1/groups' ? { name: 'zz-new' } : {};
    return { method: route.method, path: route.path, headers: { ...fullAuth, ...jsonType }, body: JSON.stringify({ ...base, [field]: value }) };
  }),
  // unknown fields
  fc.record({ route: mutationRoute, key: printable.filter((k) => k !== '' && !['name', 'type', 'group', 'data', 'common', 'parameters', 'Weight', 'Tags', 'Blob', 'Label'].includes(k)), value: fc.jsonValue() }).map(
    ({ route, key, value }) => ({ method: route.method, path: route.path, headers: { ...fullAuth, ...jsonType }, body: JSON.stringify({ [`zz${key}`]: value }) }),
  ),
  // arbitrary JSON that is not an object
  fc.record({ route: mutationRoute, value: fc.oneof(fc.array(fc.jsonValue()), fc.integer(), printable, fc.constant(null)) }).map(({ route, value }) => ({
    method: route.method,
    path: route.path,
    headers: { ...fullAuth, ...jsonType },
    body: JSON.stringify(value),
  })),
  // huge bodies
  fc.record({ route: mutationRoute, size: fc.integer({ min: BODY_LIMIT_BYTES + 1, max: BODY_LIMIT_BYTES * 8 }) }).map(({ route, size }) => ({
    method: route.method,
    path: route.path,
    headers: { ...fullAuth, ...jsonType },
    body: JSON.stringify({ name: 'x'.repeat(size) }),
  })),
  // bad tokens, on any route and body (even a valid one)
  fc.record({
    route: mutationRoute,
    auth: fc.oneof(
      fc.constant(undefined),
      fc.constant(`Bearer ${READ}`),
      fc.constant(`Basic ${FULL}`),
      fc.constant('Bearer'),
      fc.constant(`Bearer ${FULL}x`),
      printable.map((s) => `Bearer ${s}`),
    ),
  }).map(({ route, auth }) => ({
    method: route.method,
    path: route.path,
    headers: { ...(auth !== undefined ? { authorization: auth } : {}), ...jsonType },
    body: route.path === '/v1/groups' ? '{"name":"zz-via-bad-token"}' : '{}',
  })),
  // odd paths and objects that do not exist
  fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.oneof(
      fc.constantFrom('/', '//', '/v1', '/v1/', '/v2/groups', '/v1/groups/%ZZ', '/v1/groups/%00', '/v1/../v1/nodes', '/v1/groups//move', '/v1/registry/keys/a%5C%5Cb', '/v1/resources/zz/dependencies/', '/v1/operations/%E2%82', '/v1/nodes/zz/pause?drain=yes'),
      printable.map((s) => `/v1/groups/zz${encodeURIComponent(s)}/move`),
      printable.map((s) => `/v1/resources/zz${encodeURIComponent(s)}/${['online', 'offline', 'fail', 'reset', 'rename'][s.length % 5]}`),
      printable.map((s) => `/v1/${encodeURIComponent(s)}`),
      fc.constant(`/v1/groups/${'a'.repeat(5000)}`),
    ),
  }).map(({ method, path }) => ({ method, path, headers: { ...fullAuth, ...jsonType }, body: method === 'GET' || method === 'OPTIONS' ? undefined : '{"to":"node2"}' })),
  // bad queries and content types
  fc.record({ q: printable, which: fc.nat(3) }).map(({ q, which }) => {
    const v = encodeURIComponent(q);
    const paths = [`/v1/events?types=zz${v}`, `/v1/resources?group=zz${v}`, `/v1/resources?colour=${v}`, `/v1/registry/values/zz${v}?name=${v}`];
    return { method: 'GET', path: paths[which]!, headers: fullAuth };
  }),
  fc.record({ route: mutationRoute, type: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data', 'application/json; charset=latin-99', 'garbage') }).map(({ route, type }) => ({
    method: route.method,
    path: route.path,
    headers: { ...fullAuth, 'content-type': type },
    body: 'name=zz',
  })),
);

async function snapshot(h: Harness): Promise<unknown> {
  const get = async (p: string): Promise<unknown> => (await h.request('GET', p)).body;
  return {
    cluster: await get('/v1/cluster'),
    nodes: await get('/v1/nodes'),
    groups: await get('/v1/groups'),
    resources: await get('/v1/resources'),
    keys: await get('/v1/registry/keys/Cluster'),
    values: await get('/v1/registry/values/Cluster'),
  };
}

test(`${RUNS} malformed requests: no 5xx, server keeps serving, state unchanged`, async (t) => {
  const h = await startServer({ bodyLimitBytes: BODY_LIMIT_BYTES });
  t.after(() => h.close());
  // Owned before its resources exist, so they stay offline: nothing changes by itself under the snapshots.
  await createOwnedGroup(h.api, 'Web');
  await h.api.createResource('Disk', TYPED_DUMMY, 'Web');
  await h.api.createResource('Store', 'Dummy', 'Web', { dependencies: '[Disk]' });
  await h.api.registryCreateKey('Cluster');
  await h.api.registrySetValue('Cluster', 'x', { type: 'string', data: 'y' });
  const before = await snapshot(h);
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(malformed, async (req) => {
      const res = await send(h.url, req);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status >= 400 && res.status < 500, `${req.method} ${req.path.slice(0, 80)} ${req.body?.slice(0, 80) ?? ''} -> ${res.status} ${res.body.slice(0, 200)}`);
      if (res.body !== '' && res.status !== 413) {
        const body = JSON.parse(res.body) as { code: unknown; name: unknown; message: unknown };
        assert.equal(typeof body.code, 'number');
        assert.equal(typeof body.name, 'string');
        assert.equal(typeof body.message, 'string');
      }
    }),
    { numRuns: RUNS },
  );
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, RUNS);
  assert.ok(statuses.size >= 4, `a spread of 4xx statuses: ${JSON.stringify([...statuses])}`);
  assert.equal((await h.request('GET', '/v1/cluster')).status, 200, 'still serving');
  assert.deepEqual(await snapshot(h), before, 'state unchanged');
});
