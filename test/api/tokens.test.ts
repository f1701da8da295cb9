import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiTokens, readLocalCluster, writeLocalCluster, apiFilePath } from '../../src/api/tokens.ts';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
}

test('tokens are random, distinct and long', () => {
  const a = createApiTokens();
  const b = createApiTokens();
  assert.notEqual(a.full, a.read);
  assert.notEqual(a.full, b.full);
  assert.ok(a.full.length >= 40 && a.read.length >= 40);
});

test('api.json is written with mode 0600 and read back', (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokens = createApiTokens();
  fs.writeFileSync(apiFilePath(dir), '{}', { mode: 0o644 }); // a stale file from an earlier run
  writeLocalCluster(dir, { url: 'http://127.0.0.1:1234', tokens });
  assert.equal(fs.statSync(apiFilePath(dir)).mode & 0o777, 0o600);
  assert.deepEqual(readLocalCluster(dir), { url: 'http://127.0.0.1:1234', tokens });
});

test('a missing or malformed api.json is a ClusterError saying what to do', (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => readLocalCluster(dir), (e: any) => e.name === 'ERROR_FILE_NOT_FOUND' && /failover up/.test(e.message) && /--cluster/.test(e.message));
  fs.writeFileSync(apiFilePath(dir), '{"url": 1}');
  assert.throws(() => readLocalCluster(dir), { name: 'ERROR_INVALID_DATA' });
  fs.writeFileSync(apiFilePath(dir), 'not json');
  assert.throws(() => readLocalCluster(dir), { name: 'ERROR_INVALID_DATA' });
});
