import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FencedLog } from '../../src/node/fencing.ts';
import { isClusterError } from '../../src/model/errors.ts';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'failover-'));
}

test('a write with an older token is refused once a newer token has been written, for good', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'shared.log');
    const oldOwner = new FencedLog(file);
    const newOwner = new FencedLog(file);
    oldOwner.append(5, 'node1', 'a');
    oldOwner.append(5, 'node1', 'b');
    newOwner.append(7, 'node2', 'c');
    assert.throws(
      () => oldOwner.append(5, 'node1', 'd'),
      (e: unknown) => isClusterError(e) && e.name === 'ERROR_HOST_NODE_NOT_GROUP_OWNER' && /token 5 refused; token 7/.test(e.message),
    );
    newOwner.append(7, 'node2', 'e');
    assert.deepEqual(new FencedLog(file).accepted().map((r) => r.data), ['a', 'b', 'c', 'e']);
    assert.throws(() => oldOwner.append(-1, 'x', 'bad'), /must be a whole number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale line that reached the file anyway (it raced the newer owner) does not count, and its writer is told', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'shared.log');
    const oldOwner = new FencedLog(file);
    oldOwner.append(3, 'node1', 'first');
    // Simulate the race: the old owner checked before the newer owner wrote, and its line lands after.
    const newer = new FencedLog(file);
    newer.append(4, 'node2', 'newer');
    appendFileSync(file, `${JSON.stringify({ token: 3, writer: 'node1', id: 'raced', data: 'late' })}\n`);
    appendFileSync(file, 'garbage that is not a record\n');
    const entries = new FencedLog(file).entries();
    assert.deepEqual(
      entries.map((e) => [e.record.data, e.accepted]),
      [
        ['first', true],
        ['newer', true],
        ['late', false],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('concurrent writers in separate processes: the accepted log never goes back to an older token', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'shared.log');
    const moduleUrl = new URL('../../src/node/fencing.ts', import.meta.url).href;
    // Each writer writes as fast as it can with its token until refused or done.
    const writer = (token: number, name: string): Promise<{ written: number; refused: boolean }> =>
      new Promise((resolve, reject) => {
        const script = `
          import { FencedLog } from ${JSON.stringify(moduleUrl)};
          const log = new FencedLog(${JSON.stringify(file)});
          let written = 0, refused = false;
          for (let i = 0; i < 300; i++) {
            try { log.append(${token}, ${JSON.stringify(name)}, i); written++; } catch (e) { refused = true; break; }
          }
          process.stdout.write(JSON.stringify({ written, refused }));
        `;
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => (out += c));
        child.on('error', reject);
        child.on('exit', () => {
          try {
            resolve(JSON.parse(out) as { written: number; refused: boolean });
          } catch (e) {
            reject(e as Error);
          }
        });
      });
    const results = await Promise.all([writer(1, 'w1'), writer(2, 'w2'), writer(3, 'w3')]);
    const entries = new FencedLog(file).entries();
    let highest = 0;
    for (const e of entries) {
      if (e.accepted) assert.ok(e.record.token >= highest, 'accepted tokens never decrease');
      highest = Math.max(highest, e.record.token);
    }
    // What each writer was told matches the log: its acknowledged writes are exactly its accepted lines.
    for (const [i, r] of results.entries()) {
      const name = `w${i + 1}`;
      const accepted = entries.filter((e) => e.accepted && e.record.writer === name).length;
      assert.equal(accepted, r.written, `${name}: acknowledged writes = accepted lines`);
    }
    assert.equal(results[2]!.refused, false, 'the newest token is never refused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
