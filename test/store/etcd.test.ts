// The etcd store against a real etcd: the shared conformance suite, plus what
// only etcd has — namespaces, leases that must not outlive their owner's
// interest, a process that must be free to exit, and endpoints that fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EtcdKeys, prefixEnd } from '../../src/store/etcd-codec.ts';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.ts';
import { StoreError, type WatchEvent } from '../../src/store/store.ts';
import { startEtcd, useTestEtcd } from '../support/etcd.ts';
import { storeConformance } from './conformance.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
/** Every store of this run lives under its own namespace, so runs and tests can share one etcd. */
const runNamespace = `failover-test/${process.pid}-${Date.now().toString(36)}/`;
let namespaceCounter = 0;
const freshNamespace = (name: string): string => `${runNamespace}${name}-${++namespaceCounter}/`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

function isStoreError(kind: StoreError['kind'], text?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (text !== undefined) assert.ok(err.message.includes(text), `"${err.message}" names ${text}`);
    return true;
  };
}

/** A loopback port with nothing listening on it. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let endpoint = '';
let releaseEtcd: () => Promise<void> = async () => {};
before(async () => {
  const etcd = await useTestEtcd();
  endpoint = etcd.endpoint;
  releaseEtcd = etcd.release;
});
after(async () => {
  await releaseEtcd();
});

/** etcd's own compaction, through a separate client: the store has no compact call. */
async function compactEtcd(revision: number): Promise<void> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: [endpoint] });
  try {
    await client.kv.compact({ revision, physical: true });
  } finally {
    client.close();
  }
}

storeConformance('etcd', async () => {
  const store = await openEtcdStore({ endpoints: [endpoint], prefix: freshNamespace('conformance') });
  return {
    store,
    // Leases expire in etcd's real time.
    advanceMs: (ms) => sleep(ms),
    compact: compactEtcd,
    // Other test files use the same etcd at the same time.
    sharedWithOtherWriters: true,
    cleanup: () => store.close(),
  };
});

async function open(name: string, extra: Partial<Parameters<typeof openEtcdStore>[0]> = {}): Promise<EtcdStore> {
  return openEtcdStore({ endpoints: [endpoint], prefix: freshNamespace(name), ...extra });
}

describe('etcd store: key ranges', () => {
  test('a prefix range ends at the next key after every key with that prefix', () => {
    assert.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from('b'));
    assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]), 'no upper bound');
    const keys = new EtcdKeys('ns/');
    assert.deepEqual(keys.prefixRange(''), { key: Buffer.from('ns/'), range_end: Buffer.from('ns0') });
    assert.deepEqual(new EtcdKeys('').prefixRange(''), { key: Buffer.from([0]), range_end: Buffer.from([0]) }, 'the whole keyspace');
    assert.equal(keys.unprefix(Buffer.from('ns/a/b')), 'a/b');
    assert.throws(() => keys.unprefix(Buffer.from('other/a')));
  });
});

describe('etcd store: namespaces', () => {
  test('stores under different prefixes see only their own keys, events and deletions', async () => {
    const a = await open('ns-a');
    const b = await open('ns-b');
    try {
      const seenByB: WatchEvent[] = [];
      const watch = await b.watchPrefix('', (events) => seenByB.push(...events));
      await a.put('k', 'from-a');
      await b.put('k', 'from-b');
      await a.deletePrefix('');
      assert.equal(await a.get('k'), undefined);
      assert.equal((await b.get('k'))?.value, 'from-b');
      assert.deepEqual((await b.range('')).kvs.map((kv) => kv.key), ['k']);
      await eventually('b sees its own put', async () => seenByB.length > 0, 2_000, 20);
      await sleep(100);
      assert.deepEqual(seenByB.map((e) => [e.type, e.kv.key, e.kv.value]), [['put', 'k', 'from-b']]);
      await watch.cancel();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('etcd store: leases', () => {
  test('keepAlive renews once; revoke ends the lease and deletes its keys at once', async () => {
    const s = await open('lease-revoke');
    try {
      const lease = await s.grantLease(3);
      await s.put('member', 'up', { lease });
      assert.equal((await s.get('member'))?.lease, lease);
      await sleep(1_100);
      assert.ok((await s.leaseTimeToLive(lease)) <= 2, 'the lease counts down');
      await s.keepAlive(lease);
      assert.equal(await s.leaseTimeToLive(lease), 3, 'keepAlive renewed it to its full TTL');
      await s.revokeLease(lease);
      assert.equal(await s.leaseTimeToLive(lease), -1);
      assert.equal(await s.get('member'), undefined);
      await assert.rejects(s.keepAlive(lease), isStoreError('lease-not-found', lease));
      await assert.rejects(s.put('member', 'again', { lease }), isStoreError('lease-not-found'));
    } finally {
      await s.close();
    }
  });

  test('a lease is not kept alive after close: it expires after its TTL and keepAlive then fails', async () => {
    const prefix = freshNamespace('lease-close');
    const owner = await openEtcdStore({ endpoints: [endpoint], prefix });
    const observer = await openEtcdStore({ endpoints: [endpoint], prefix });
    try {
      const lease = await owner.grantLease(2);
      await owner.put('member', 'up', { lease });
      await owner.keepAlive(lease);
      await owner.close();
      const closedAt = Date.now();
      await eventually('the lease expires', async () => (await observer.leaseTimeToLive(lease)) === -1, 4_000);
      assert.ok(Date.now() - closedAt >= 1_000, 'the lease lived on for about its TTL, not less');
      assert.equal(await observer.get('member'), undefined);
      await assert.rejects(observer.keepAlive(lease), isStoreError('lease-not-found'));
      await assert.rejects(owner.keepAlive(lease), isStoreError('closed'));
    } finally {
      await owner.close();
      await observer.close();
    }
  });
});

describe('etcd store: closing', () => {
  test('a process that used leases and watches exits on its own after close()', async () => {
    const moduleUrl = new URL('../../src/store/etcd.ts', import.meta.url).href;
    const script = `
      const { openEtcdStore } = await import(${JSON.stringify(moduleUrl)});
      const store = await openEtcdStore({ endpoints: [${JSON.stringify(endpoint)}], prefix: ${JSON.stringify(freshNamespace('exit'))} });
      const lease = await store.grantLease(5);
      await store.keepAlive(lease);
      let seen = 0;
      const gotEvent = new Promise((resolve) => store.watchPrefix('', () => { seen++; resolve(); }));
      await store.watchPrefix('other/', () => {}, { fromRevision: await store.revision() });
      await store.put('k', 'v', { lease });
      await gotEvent;
      await store.txn({ compare: [], success: [{ type: 'get', key: 'k' }] });
      await store.leaseTimeToLive(lease);
      await store.close();
      console.log('closed after ' + seen + ' event(s)');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exitedWithin = 15_000;
    const code = await new Promise<number | 'hung'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, exitedWithin);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    assert.notEqual(code, 'hung', `the process did not exit within ${exitedWithin} ms of close(); output:\n${output}`);
    assert.equal(code, 0, output);
    assert.match(output, /closed after 1 event/);
  });

  test('every call after close fails with StoreError(closed)', async () => {
    const s = await open('closed');
    await s.close();
    await assert.rejects(s.get('k'), isStoreError('closed'));
    await assert.rejects(s.put('k', 'v'), isStoreError('closed'));
    await assert.rejects(s.watchPrefix('', () => {}), isStoreError('closed'));
    await assert.rejects(s.grantLease(2), isStoreError('closed'));
    await s.close(); // twice is fine
  });
});

describe('etcd store: unavailable etcd', () => {
  test('an endpoint where nothing listens gives StoreError(unavailable) naming it, within the dial timeout', async () => {
    const url = `http://127.0.0.1:${await unusedPort()}`;
    const dialTimeoutMs = 1_000;
    const started = Date.now();
    await assert.rejects(openEtcdStore({ endpoints: [url], dialTimeoutMs }), isStoreError('unavailable', url));
    assert.ok(Date.now() - started < dialTimeoutMs + 1_500, `failed after ${Date.now() - started} ms`);
  });

  test('an endpoint that accepts connections but never answers fails at the dial timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = silent.address();
    assert.ok(address && typeof address === 'object');
    const url = `http://127.0.0.1:${address.port}`;
    const dialTimeoutMs = 800;
    const started = Date.now();
    try {
      await assert.rejects(openEtcdStore({ endpoints: [url], dialTimeoutMs }), isStoreError('unavailable', url));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= dialTimeoutMs - 50 && elapsed < dialTimeoutMs + 1_500, `failed after ${elapsed} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('with a dead endpoint among several, opening and reads go to the live one', async () => {
    const dead = `http://127.0.0.1:${await unusedPort()}`;
    const prefix = freshNamespace('multi');
    // Enough opens and reads that the shuffled endpoint order hits the dead one first many times.
    for (let i = 0; i < 5; i++) {
      const s = await openEtcdStore({ endpoints: [dead, endpoint], prefix, dialTimeoutMs: 2_000 });
      try {
        for (let j = 0; j < 5; j++) assert.equal(await s.get('nothing'), undefined);
        assert.ok((await s.revision()) > 0);
      } finally {
        await s.close();
      }
    }
  });

  test('when etcd goes away, requests fail as unavailable and watches report it through onError', async () => {
    const own = await startEtcd(); // stopped mid-test, so not the shared one
    try {
      const s = await openEtcdStore({ endpoints: [own.endpoint], prefix: 'gone/', requestTimeoutMs: 1_000, watchReconnectTimeoutMs: 500 });
      try {
        const errors: Error[] = [];
        await s.watchPrefix('', () => {}, { onError: (e) => errors.push(e) });
        const lease = await s.grantLease(5);
        await own.stop();
        await assert.rejects(s.get('k'), isStoreError('unavailable', own.endpoint));
        await assert.rejects(s.keepAlive(lease), isStoreError('unavailable'));
        await eventually('the watch reports the lost etcd', async () => errors.length > 0, 5_000, 50);
        assert.ok(errors[0] instanceof StoreError && errors[0].kind === 'unavailable', String(errors[0]));
      } finally {
        await s.close();
      }
    } finally {
      await own.stop();
    }
  });
});

describe('etcd store: compaction', () => {
  test('a watch from a compacted revision reports compacted (through onError, or thrown without one)', async () => {
    const s = await open('compact');
    try {
      const { revision: first } = await s.put('k', '1');
      const { revision: last } = await s.put('k', '2');
      await compactEtcd(last);
      await assert.rejects(s.watchPrefix('', () => {}, { fromRevision: first }), isStoreError('compacted'));
      const reported = await new Promise<Error>((resolve) => {
        void s.watchPrefix('', () => {}, { fromRevision: first, onError: resolve });
      });
      assert.ok(reported instanceof StoreError && reported.kind === 'compacted', String(reported));
      const replay: number[] = [];
      const w = await s.watchPrefix('', (_events, revision) => replay.push(revision), { fromRevision: last });
      await eventually('the uncompacted revision replays', async () => replay.length > 0, 2_000, 20);
      assert.deepEqual(replay, [last]);
      await w.cancel();
    } finally {
      await s.close();
    }
  });
});
