import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { parseLine } from '../../src/log/format.ts';
import { clusterLogLimits, ClusterLogWriter } from '../../src/log/writer.ts';
import { messages } from '../../src/model/messages.ts';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const start = Date.UTC(2026, 0, 1, 8, 0, 0, 0);

test('writes WSFC lines with pid, tid and the clock time', () => {
  const clock = new VirtualClock(start);
  const log = new ClusterLogWriter({ pid: 0x1234, clock });
  clock.advance(1500);
  log.writeMessage(messages.transition('DB', 'OpenCallIssued', 'OpenCallFailed'), 0xbeef);
  log.write('ERR', 'RES', 'Generic <DB>: Open failed', undefined);
  assert.deepEqual(log.lines(), [
    '00001234.0000beef::2026/01/01-08:00:01.500 INFO  [RCM] TransitionToState(DB) OpenCallIssued-->OpenCallFailed.',
    '00001234.00000000::2026/01/01-08:00:01.500 ERR   [RES] Generic <DB>: Open failed',
  ]);
});

test('drops lines below the configured level', () => {
  const clock = new VirtualClock(start);
  const log = new ClusterLogWriter({ pid: 1, clock, level: 'WARN' });
  assert.equal(log.write('DBG', 'RCM', 'debug'), undefined);
  assert.equal(log.write('INFO', 'RCM', 'info'), undefined);
  assert.ok(log.write('WARN', 'RCM', 'warn'));
  assert.ok(log.write('ERR', 'RCM', 'err'));
  assert.deepEqual(log.lines().map((l) => parseLine(l)?.text), ['warn', 'err']);
  log.setLevel('DBG');
  assert.ok(log.write('DBG', 'RCM', 'debug now'));
  assert.equal(log.lines().length, 3);
});

test('multi-line text is written as one line that parses back', () => {
  const log = new ClusterLogWriter({ pid: 1, clock: new VirtualClock(start) });
  const line = log.write('ERR', 'RES', 'first\r\nsecond  \n')!;
  assert.equal(parseLine(line)?.text, 'first second');
});

test('the in-memory tail keeps the most recent lines in order', () => {
  const log = new ClusterLogWriter({ pid: 1, clock: new VirtualClock(start), memoryLines: 3 });
  for (let i = 0; i < 7; i++) log.write('INFO', 'RCM', `line ${i}`);
  assert.deepEqual(log.lines().map((l) => parseLine(l)?.text), ['line 4', 'line 5', 'line 6']);
});

test('buffers lines and writes them after the flush interval of the injected clock', () => {
  const clock = new VirtualClock(start);
  const file = path.join(dir, 'logs', 'node1', 'cluster.log');
  const log = new ClusterLogWriter({ path: file, pid: 1, clock });
  log.write('INFO', 'RCM', 'buffered');
  assert.equal(readFileSync(file, 'utf8'), '', 'not written per line');
  clock.advance(clusterLogLimits.flushIntervalMs);
  assert.match(readFileSync(file, 'utf8'), /\[RCM\] buffered\n$/);
  log.close();
});

test('close flushes synchronously and appends to an existing log', () => {
  const clock = new VirtualClock(start);
  const file = path.join(dir, 'cluster.log');
  const a = new ClusterLogWriter({ path: file, pid: 1, clock });
  a.write('INFO', 'CS', 'first run');
  a.close();
  const b = new ClusterLogWriter({ path: file, pid: 2, clock });
  b.write('INFO', 'CS', 'second run');
  b.close();
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(lines.map((l) => [parseLine(l)?.pid, parseLine(l)?.text]), [
    [1, 'first run'],
    [2, 'second run'],
  ]);
  assert.throws(() => b.write('INFO', 'CS', 'late'), /after close/);
});

test('rotates by size, keeps maxFiles files of whole lines, oldest dropped', () => {
  const clock = new VirtualClock(start);
  const file = path.join(dir, 'cluster.log');
  const maxBytes = 1000;
  const log = new ClusterLogWriter({ path: file, pid: 1, clock, maxBytes, maxFiles: 3 });
  const total = 100;
  for (let i = 0; i < total; i++) {
    log.write('INFO', 'RCM', `line ${String(i).padStart(3, '0')} ${'x'.repeat(20)}`);
    if (i % 7 === 0) log.flush(); // batches of different sizes cross the limit at different places
  }
  log.close();
  assert.deepEqual(readdirSync(dir).sort(), ['cluster.log', 'cluster.log.1', 'cluster.log.2']);
  const seen: number[] = [];
  for (const name of ['cluster.log.2', 'cluster.log.1', 'cluster.log']) {
    const p = path.join(dir, name);
    assert.ok(statSync(p).size <= maxBytes, `${name} within ${maxBytes} bytes`);
    const content = readFileSync(p, 'utf8');
    assert.ok(content.endsWith('\n'), `${name} ends with a whole line`);
    for (const l of content.split('\n').filter(Boolean)) {
      const r = parseLine(l);
      assert.ok(r, `whole line: ${l}`);
      seen.push(Number(r.text.slice(5, 8)));
    }
  }
  // The newest lines survive, contiguous and in order; the oldest were rotated away.
  assert.ok(seen.length > 0 && seen.length < total);
  assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => total - seen.length + i));
});

test('a writer without a path keeps lines in memory only', () => {
  const log = new ClusterLogWriter({ pid: 1, clock: new VirtualClock(start) });
  log.write('INFO', 'RCM', 'x');
  log.close();
  assert.equal(existsSync(path.join(dir, 'cluster.log')), false);
  assert.equal(log.lines().length, 1);
});

test('an unwritable path is an operating error naming the file', () => {
  const blocker = path.join(dir, 'file');
  new ClusterLogWriter({ path: blocker, pid: 1, clock: new VirtualClock(start) }).close();
  assert.throws(
    () => new ClusterLogWriter({ path: path.join(blocker, 'cluster.log'), pid: 1, clock: new VirtualClock(start) }),
    (e: Error & { code?: number }) => typeof e.code === 'number' && e.message.includes(path.join(blocker, 'cluster.log')),
  );
});
