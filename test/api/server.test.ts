// REST layer tests over the real in-process cluster: routing, schemas, tokens,
// error mapping. The CLI against a real `failover up`: test/cli/e2e.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitDone, READ, type Harness } from './harness.ts';
import { createOwnedGroup, resourceReaches, SETTLE_TIMEOUT_MS, TYPED_DUMMY } from '../support/cluster.ts';
import { until } from '../support/until.ts';

let h: Harness;
before(async () => {
  h = await startServer();
  await createOwnedGroup(h.api, 'Mail/Box 1');
  await h.api.createResource('Disk', 'Dummy', 'Mail/Box 1');
  await h.api.createResource('Store', 'Dummy', 'Mail/Box 1', { dependencies: '[Disk]' });
  await createOwnedGroup(h.api, 'Web');
  await h.api.createResource('Site', 'Dummy', 'Web');
});
after(() => h.close());

test('a request without a token gets 401 with a clear message and WWW-Authenticate', async () => {
  const r = await h.request('GET', '/v1/nodes', { token: null });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 5);
  assert.equal(r.body.name, 'ERROR_ACCESS_DENIED');
  assert.match(r.body.message, /missing token/);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer');
});

test('an unknown token and a malformed Authorization header get 401', async () => {
  assert.equal((await h.request('GET', '/v1/nodes', { token: 'guess' })).status, 401);
  const r = await h.request('GET', '/v1/nodes', { token: null, headers: { authorization: 'Basic abc' } });
  assert.equal(r.status, 401);
  assert.match(r.body.message, /Bearer/);
});

test('the read-only token may GET but a mutation gets 403 and changes nothing', async () => {
  const ok = await h.request('GET', '/v1/groups', { token: READ });
  assert.equal(ok.status, 200);
  const r = await h.request('POST', '/v1/groups', { token: READ, body: { name: 'Sneaky' } });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /read-only token .* POST \/v1\/groups needs the full token/);
  await assert.rejects(h.api.getGroup('Sneaky'), { name: 'ERROR_GROUP_NOT_FOUND' });
});

test('/openapi.json is served without a token and documents every route with its responses', async () => {
  const r = await h.request('GET', '/openapi.json', { token: null });
  assert.equal(r.status, 200);
  const paths = Object.keys(r.body.paths);
  for (const p of ['/v1/nodes', '/v1/groups/{name}/move', '/v1/resources/{name}/properties', '/v1/registry/keys/{*}', '/v1/events', '/v1/operations/{id}']) {
    assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
  }
  for (const [path, methods] of Object.entries<any>(r.body.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} documents its responses`);
    }
  }
  assert.ok(r.body.components.securitySchemes.bearer);
});

test('names with slashes and spaces round-trip through the URL', async () => {
  const r = await h.request('GET', `/v1/groups/${encodeURIComponent('Mail/Box 1')}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'Mail/Box 1');
  assert.deepEqual(r.body.resources, ['Disk', 'Store']);
});

test('schema violations are 400 with code 87 naming the offending field', async () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['POST', '/v1/groups', { name: 5 }, /body\.name must be string/],
    ['POST', '/v1/groups', { name: 'X', colour: 'red' }, /body has unknown field "colour"/],
    ['POST', '/v1/groups', {}, /body is missing required field "name"/],
    ['PUT', '/v1/groups/Web/properties', { Priority: '3000' }, /body\.Priority must be integer/],
    ['PUT', '/v1/groups/Web/properties', { PersistentState: 7 }, /body\.PersistentState must be one of 0, 1/],
    ['PUT', '/v1/resources/Site/properties', { PossibleOwners: 'node1' }, /body\.PossibleOwners must be array/],
    ['PUT', '/v1/resources/Site/parameters', { Weight: true }, /body\.Weight must be a number/],
    ['POST', '/v1/groups/Web/move', { to: '' }, /body\.to must NOT have fewer than 1 characters/],
    ['POST', '/v1/resources', { name: 'R', type: 'Dummy', group: 'Web', common: { Nope: 1 } }, /body\.common has unknown field "Nope"/],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await h.request(method, path, { body: body as object });
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.code, 87);
    assert.equal(r.body.name, 'ERROR_INVALID_PARAMETER');
    assert.match(r.body.message, message);
  }
});

test('malformed JSON is 400, an oversized body 413, an unknown route 404, all with the error body', async () => {
  const bad = await h.request('POST', '/v1/groups', { body: '{"name": "x"' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /not valid JSON/);
  const big = await h.request('POST', '/v1/groups', { body: JSON.stringify({ name: 'x'.repeat(2_000_000) }) });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, 87);
  assert.match(big.body.message, /larger than the limit of 1048576 bytes/);
  const none = await h.request('GET', '/v1/widgets');
  assert.equal(none.status, 404);
  assert.match(none.body.message, /no such route: GET \/v1\/widgets/);
  const media = await h.request('POST', '/v1/groups', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(media.status, 415);
});

test('ClusterErrors map to 4xx by class with the WSFC code', async () => {
  const nf = await h.request('GET', '/v1/groups/Nope');
  assert.deepEqual([nf.status, nf.body.code, nf.body.name], [404, 5013, 'ERROR_GROUP_NOT_FOUND']);
  assert.match(nf.body.message, /"Nope"/);
  const dup = await h.request('POST', '/v1/groups', { body: { name: 'Web' } });
  assert.deepEqual([dup.status, dup.body.code], [409, 5010]);
  const cycle = await h.request('PUT', '/v1/resources/Disk/dependencies', { body: { expression: '[Store]' } });
  assert.deepEqual([cycle.status, cycle.body.code, cycle.body.name], [400, 1059, 'ERROR_CIRCULAR_DEPENDENCY']);
  const again = await h.request('POST', '/v1/resources/Store/dependencies', { body: { provider: 'Disk' } });
  assert.deepEqual([again.status, again.body.code], [409, 5003]);
  const missing = await h.request('DELETE', '/v1/resources/Store/dependencies/Site');
  assert.deepEqual([missing.status, missing.body.code], [404, 5002]);
  const other = await h.request('POST', '/v1/resources/Store/dependencies', { body: { provider: 'Site' } });
  assert.deepEqual([other.status, other.body.code], [400, 87]);
  const syntax = await h.request('PUT', '/v1/resources/Store/dependencies', { body: { expression: '[Disk] and' } });
  assert.deepEqual([syntax.status, syntax.body.code], [400, 5917]);
  const badName = await h.request('POST', '/v1/groups', { body: { name: 'a[b]' } });
  assert.deepEqual([badName.status, badName.body.code], [400, 123]);
  const range = await h.request('PUT', '/v1/groups/Web/properties', { body: { FailbackWindowStart: 30 } });
  assert.deepEqual([range.status, range.body.code], [400, 5913]);
});

test('a second move while one is in progress is refused with 5908 and the group shows the move', async () => {
  await createOwnedGroup(h.api, 'Slow');
  await h.api.createResource('Hangs', 'Dummy', 'Slow');
  const online = await h.request('POST', '/v1/groups/Slow/online');
  assert.equal(online.status, 202);
  assert.equal((await waitDone(h, online.body.id)).ok, true);
  // From now on the resource's online call hangs until its PendingTimeout, so a move stays in its online phase.
  await h.api.setResourceParameters('Hangs', { OnlineHang: 1 });
  const from = (await h.api.getGroup('Slow')).owner!;
  const [to, other] = ['node1', 'node2', 'node3'].filter((n) => n !== from);
  const move = await h.request('POST', '/v1/groups/Slow/move', { body: { to } });
  assert.equal(move.status, 202, move.text);
  assert.equal(move.body.kind, 'moveGroup');
  await resourceReaches(h.api, 'Hangs', 'OnlinePending');
  // The target records the phase and starts the online at the same time: wait for both.
  let g = await h.request('GET', '/v1/groups/Slow');
  await until('the move in its online-on-target phase', async () => (g = await h.request('GET', '/v1/groups/Slow')).body.move?.phase === 'online-on-target', SETTLE_TIMEOUT_MS);
  assert.equal(g.body.moving, true);
  assert.deepEqual([g.body.move.group, g.body.move.from, g.body.move.to], ['Slow', from, to]);
  // The request is accepted and the group's owner refuses it: the operation ends with 5908.
  const second = await h.request('POST', '/v1/groups/Slow/move', { body: { to: other } });
  assert.equal(second.status, 202, second.text);
  const refused = await waitDone(h, second.body.id);
  assert.deepEqual([refused.ok, refused.error?.code, refused.error?.name], [false, 5908, 'ERROR_CLUSTER_GROUP_MOVING']);
  assert.equal((await h.request('GET', '/v1/groups/Slow')).body.moving, true, 'the first move goes on');
});

test('a bodiless POST to move means "best node"', async () => {
  const from = (await h.api.getGroup('Web')).owner;
  const r = await h.request('POST', '/v1/groups/Web/move');
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(h, r.body.id);
  assert.equal(done.ok, true, JSON.stringify(done));
  const to = (await h.api.getGroup('Web')).owner;
  assert.ok(to !== undefined && to !== from, `moved from ${from} to ${to}`);
});

test('registry keys with backslashes and slashes, typed values, binary as base64; configuration keys are not writable', async () => {
  const key = encodeURIComponent('Apps\\Disk/1\\Parameters');
  assert.equal((await h.request('PUT', `/v1/registry/keys/${key}`)).status, 204);
  assert.equal((await h.request('PUT', `/v1/registry/values/${key}?name=Size`, { body: { type: 'dword', data: 42 } })).status, 204);
  assert.equal((await h.request('PUT', `/v1/registry/values/${key}?name=Raw`, { body: { type: 'binary', data: 'AQID' } })).status, 204);
  const bad = await h.request('PUT', `/v1/registry/values/${key}?name=Size`, { body: { type: 'dword', data: 'x' } });
  assert.deepEqual([bad.status, bad.body.code], [400, 5895]);
  const keys = await h.request('GET', `/v1/registry/keys/${encodeURIComponent('Apps')}`);
  assert.deepEqual(keys.body, ['Disk/1']);
  const values = await h.request('GET', `/v1/registry/values/${key}`);
  assert.deepEqual(values.body, [
    { name: 'Raw', value: { type: 'binary', data: 'AQID' } },
    { name: 'Size', value: { type: 'dword', data: 42 } },
  ], 'in name order');
  const one = await h.request('GET', `/v1/registry/values/${key}?name=Nope`);
  assert.deepEqual([one.status, one.body.code], [404, 2]);
  const config = await h.request('PUT', `/v1/registry/values/${encodeURIComponent('Resources\\Disk\\Parameters')}?name=Size`, { body: { type: 'dword', data: 1 } });
  assert.deepEqual([config.status, config.body.name], [403, 'ERROR_ACCESS_DENIED']);
  assert.match(config.body.message, /holds cluster configuration/);
});

test('an event filter naming an unknown type or group is a 4xx, not a stream', async () => {
  const t = await h.request('GET', '/v1/events?types=resourceState,bogus');
  assert.equal(t.status, 400);
  assert.match(t.body.message, /unknown event type "bogus"/);
  const g = await h.request('GET', '/v1/events?group=Nope');
  assert.deepEqual([g.status, g.body.name], [404, 'ERROR_GROUP_NOT_FOUND']);
  const r = await h.request('GET', '/v1/events?resource=Nope');
  assert.deepEqual([r.status, r.body.name], [404, 'ERROR_RESOURCE_NOT_FOUND']);
  const n = await h.request('GET', '/v1/events?node=node9');
  assert.deepEqual([n.status, n.body.name], [404, 'ERROR_CLUSTER_NODE_NOT_FOUND']);
  const extra = await h.request('GET', '/v1/events?colour=red');
  assert.equal(extra.status, 400);
});

test('POST /v1/groups with resources makes the group whole: all of it, with binary values and dependencies, or nothing', async () => {
  const created = await h.request('POST', '/v1/groups', {
    body: {
      name: 'Whole',
      common: { PreferredOwners: ['node2'] },
      resources: [
        { name: 'Whole Disk', type: 'Dummy' },
        { name: 'Whole Data', type: TYPED_DUMMY, parameters: { Blob: { base64: 'AQID' }, Weight: 7 } },
        { name: 'Whole App', type: 'Dummy', dependencies: '[Whole Disk] and [whole data]' },
      ],
    },
  });
  assert.equal(created.status, 201, created.text);
  const app = await h.request('GET', '/v1/resources/Whole%20App');
  assert.equal(app.body.dependencies, '[Whole Disk] and [Whole Data]');
  const data = await h.request('GET', '/v1/resources/Whole%20Data');
  assert.deepEqual(data.body.parameters.Blob, { base64: 'AQID' });
  assert.equal(data.body.parameters.Weight, 7);
  assert.equal(data.body.parameters.Label, '', 'a parameter left out reads as its default');
  // One bad resource refuses the whole group: nothing of it is made.
  const refused = await h.request('POST', '/v1/groups', {
    body: { name: 'Half', resources: [{ name: 'Half A', type: 'Dummy' }, { name: 'Half B', type: 'Dummy', dependencies: '[Whole Disk]' }] },
  });
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.body.message, /another group/);
  assert.equal((await h.request('GET', '/v1/groups/Half')).status, 404);
  assert.equal((await h.request('GET', '/v1/resources/Half%20A')).status, 404);
  const badShape = await h.request('POST', '/v1/groups', { body: { name: 'Shape', resources: [{ name: 'S1' }] } });
  assert.equal(badShape.status, 400);
  assert.match(badShape.body.message, /type/);
});

test('GET /v1/resources?state= lists the resources in those states only; an unknown state is 400', async () => {
  await resourceReaches(h.api, 'Site', 'Online');
  const online = await h.request('GET', '/v1/resources?state=Online,Failed');
  assert.equal(online.status, 200);
  assert.ok(online.body.some((r: { name: string }) => r.name === 'Site'));
  assert.ok(online.body.every((r: { state: string }) => r.state === 'Online' || r.state === 'Failed'));
  const failed = await h.request('GET', '/v1/resources?state=Failed&group=Web');
  assert.deepEqual(failed.body, []);
  const bad = await h.request('GET', '/v1/resources?state=Online,Sleeping');
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /"Sleeping" is not a resource state/);
  const cluster = await h.request('GET', '/v1/cluster');
  assert.equal(cluster.body.resources, (await h.request('GET', '/v1/resources')).body.length);
  assert.equal(cluster.body.groups, (await h.request('GET', '/v1/groups')).body.length);
});
