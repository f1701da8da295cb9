import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { analyzeLogs } from '../../src/diagnostics/analyze.ts';
import { nodeNameFromPath, readLogs, readerLimits, type LogLine } from '../../src/diagnostics/reader.ts';
import { formatLine } from '../../src/log/format.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'cluster-logs');
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function readAll(inputs: { path: string; node?: string }[]): Promise<{ lines: LogLine[]; files: Awaited<ReturnType<typeof readLogs>>['files'] }> {
  const { batches, files } = await readLogs(inputs);
  const lines: LogLine[] = [];
  for await (const b of batches) lines.push(...b);
  return { lines, files };
}

const t0 = Date.UTC(2024, 0, 1);
// WARN: the reader hands on every warning, whatever its text.
const line = (ms: number, text: string, pid = 1): string => formatLine({ pid, tid: 2, timeMs: t0 + ms, level: 'WARN', component: 'RCM', text });

test('node names come from Get-ClusterLog names, node directories or the file name', () => {
  assert.equal(nodeNameFromPath('/x/EXMBX01_cluster.log'), 'EXMBX01');
  assert.equal(nodeNameFromPath('/x/EXMBX01_cluster.log.2'), 'EXMBX01');
  assert.equal(nodeNameFromPath('/data/logs/node2/cluster.log'), 'node2');
  assert.equal(nodeNameFromPath('/data/logs/node2/cluster.log.1'), 'node2');
  assert.equal(nodeNameFromPath('kb2893882-node2.log'), 'kb2893882-node2');
  assert.equal(nodeNameFromPath('notes.txt'), 'notes');
});

test('UTF-16 LE with BOM (as Windows writes) reads like UTF-8', async () => {
  const utf8 = readFileSync(path.join(fixtures, 'kb2893882-seed-excerpt.txt'), 'utf8');
  const file = path.join(dir, 'seed-utf16.log');
  writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf8, 'utf16le')]));
  const a = await analyzeLogs([{ path: file }]);
  const b = await analyzeLogs([{ path: path.join(fixtures, 'kb2893882-seed-excerpt.txt') }]);
  assert.equal(a.files[0]!.encoding, 'utf-16le');
  assert.equal(a.totals.parsed, 16);
  assert.equal(a.totals.unparsed, 0);
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.resource, f.group]), b.findings.map((f) => [f.ruleId, f.resource, f.group]));
  assert.equal(a.findings[0]?.resource, 'リソース名');
});

test('UTF-16 BE and UTF-8 with BOM are read too', async () => {
  const text = `${line(0, 'TransitionToState(R) Offline-->OnlineCallIssued.')}\r\n${line(5, 'TransitionToState(R) OnlineCallIssued-->Online.')}\r\n`;
  const be = Buffer.from(text, 'utf16le').swap16();
  writeFileSync(path.join(dir, 'be.log'), Buffer.concat([Buffer.from([0xfe, 0xff]), be]));
  writeFileSync(path.join(dir, 'bom8.log'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
  for (const name of ['be.log', 'bom8.log']) {
    const { lines, files } = await readAll([{ path: path.join(dir, name) }]);
    assert.equal(files[0]!.parsed, 2, name);
    assert.equal(lines[1]!.record.text, 'TransitionToState(R) OnlineCallIssued-->Online.');
    assert.equal(lines[0]!.raw.endsWith('\r'), false);
  }
});

test('garbage, continuations and blank lines are counted, not fatal', async () => {
  const file = path.join(dir, 'mixed.log');
  writeFileSync(
    file,
    [
      line(0, 'first'),
      '    continuation of a multi-line message',
      '\u0000\u0001 binary garbage \uFFFD',
      '',
      line(1, 'second'),
      'trailing garbage without newline',
    ].join('\n'),
  );
  const { lines, files } = await readAll([{ path: file }]);
  assert.deepEqual(lines.map((l) => [l.lineNo, l.record.text]), [
    [1, 'first'],
    [5, 'second'],
  ]);
  const s = files[0]!;
  assert.equal(s.lines, 6);
  assert.equal(s.parsed, 2);
  assert.equal(s.unparsed, 3);
  assert.equal(s.blank, 1);
  assert.deepEqual(s.unparsedSamples.map((u) => u.lineNo), [2, 3, 6]);
});

test('the KB article as given: its log lines parse, its prose is counted unparsed', async () => {
  const a = await analyzeLogs([{ path: path.join(fixtures, 'kb2893882-ja.txt') }]);
  assert.equal(a.totals.parsed, 16);
  assert.ok(a.totals.unparsed > 20);
  assert.deepEqual(a.findings.map((f) => f.ruleId), ['KB2893882']);
});

test('lines spanning chunk boundaries and multi-byte characters split across chunks are whole', async () => {
  const file = path.join(dir, 'big.log');
  const n = Math.ceil((readerLimits.chunkBytes * 2.5) / 80);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(line(i, `リソース ${i} ${'é'.repeat(i % 7)}.`));
  writeFileSync(file, lines.join('\n') + '\n');
  const got = await readAll([{ path: file }]);
  assert.equal(got.files[0]!.unparsed, 0);
  assert.equal(got.lines.length, n);
  for (let i = 0; i < n; i += 997) assert.equal(got.lines[i]!.record.text, `リソース ${i} ${'é'.repeat(i % 7)}.`);
});

test('ASCII chunks read in place and a chunk with other characters read decoded give the same lines', async () => {
  const file = path.join(dir, 'mixed.log');
  const n = Math.ceil((readerLimits.chunkBytes * 2.5) / 80);
  const textOf = (i: number): string => (i === Math.floor(n / 2) ? 'Res Clusterdatenträger 1: Online -> Failed \u4e5b' : `line ${i}`);
  const lines: string[] = [];
  // Every third line ends in CRLF.
  for (let i = 0; i < n; i++) lines.push(line(i, textOf(i)) + (i % 3 === 0 ? '\r' : ''));
  // The last line has no line break.
  writeFileSync(file, lines.join('\n'));
  const got = await readAll([{ path: file }]);
  assert.equal(got.files[0]!.unparsed, 0);
  assert.equal(got.files[0]!.lines, n);
  assert.equal(got.lines.length, n);
  for (let i = 0; i < n; i++) {
    const l = got.lines[i]!;
    assert.equal(l.lineNo, i + 1);
    assert.equal(l.record.text, textOf(i));
    assert.equal(l.raw, lines[i]!.replace(/\r$/, ''));
    assert.equal(l.record.timeMs, t0 + i);
  }
  // Among ASCII lines: no-break spaces in a prefix (copied from a web page), text ending in 'à' and a no-break
  // space, and a last line without a line break that is not ASCII.
  const short = path.join(dir, 'short.log');
  const nbsp = '\u00a0';
  writeFileSync(
    short,
    [
      line(0, 'first'),
      `00000001.00000002::2024/01/01-00:00:00.001${nbsp}ERR${nbsp} [RHS] x y`,
      `${line(2, 'voilà')}${nbsp}\r`,
      `00000001.00000002::2024/01/01-00:00:00.003 WARN${nbsp}[RCM] level, no-break space, component`,
      line(4, 'Clusterdatenträger'),
    ].join('\n'),
  );
  const got2 = await readAll([{ path: short }]);
  assert.equal(got2.files[0]!.unparsed, 0);
  assert.deepEqual(
    got2.lines.map((l) => [l.lineNo, l.record.level, l.record.component, l.record.text, l.record.timeMs! - t0]),
    [
      [1, 'WARN', 'RCM', 'first', 0],
      [2, 'ERR', 'RHS', 'x y', 1],
      [3, 'WARN', 'RCM', 'voilà', 2],
      [4, 'WARN', 'RCM', 'level, no-break space, component', 3],
      [5, 'WARN', 'RCM', 'Clusterdatenträger', 4],
    ],
  );
  assert.equal(got2.lines[2]!.raw, line(2, 'voilà'));
  assert.equal(got2.files[0]!.lastTimeMs, t0 + 4);
});

test('several files merge by time, keep their node, and timeless lines keep file order', async () => {
  mkdirSync(path.join(dir, 'node1'));
  mkdirSync(path.join(dir, 'node2'));
  const a = path.join(dir, 'node1', 'cluster.log');
  const b = path.join(dir, 'node2', 'cluster.log');
  writeFileSync(a, [line(0, 'a0'), line(20, 'a20'), formatLine({ level: 'WARN', component: 'RCM', text: 'a-timeless' }), line(40, 'a40')].join('\n'));
  writeFileSync(b, [line(10, 'b10'), line(20, 'b20'), line(30, 'b30')].join('\n'));
  const { lines } = await readAll([{ path: a }, { path: b }]);
  assert.deepEqual(lines.map((l) => `${l.node}:${l.record.text}`), [
    'node1:a0',
    'node2:b10',
    'node1:a20',
    'node1:a-timeless',
    'node2:b20',
    'node2:b30',
    'node1:a40',
  ]);
  const named = await readAll([{ path: a, node: 'EXMBX01' }]);
  assert.equal(named.lines[0]!.node, 'EXMBX01');
});

test('a missing file is an operating error naming it', async () => {
  const missing = path.join(dir, 'nope.log');
  await assert.rejects(readLogs([{ path: path.join(fixtures, 'kb2893882-node2.log') }, { path: missing }]), (e: Error & { code?: number }) => {
    assert.equal(e.code, 2);
    assert.ok(e.message.includes(missing));
    return true;
  });
  await assert.rejects(readLogs([{ path: dir }]), (e: Error) => e.message.includes(dir));
});
