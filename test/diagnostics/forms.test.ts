// Every form a real cluster log comes in: line forms from 2008 to 2022, the
// sections of 2016+ files, encodings, gzip and zip bundles, unreadable files.
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { analyzeLogs, unreadable } from '../../src/diagnostics/analyze.ts';
import { parseClusterLine, recordOf } from '../../src/diagnostics/line.ts';
import { CodeUnits, newLineScan, scanCanonical, scanLine } from '../../src/log/scan.ts';
import { SectionTable, type ClusterObject } from '../../src/diagnostics/sections.ts';
import type { TimelineEntry } from '../../src/diagnostics/timeline.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'cluster-logs');
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('line forms: with and without level, without component, channel prefix, component with blanks', () => {
  assert.deepEqual(parseClusterLine('00000a1c.00000a24::2013/10/09-01:12:03.105 [CS] Starting clussvc as a service'), {
    pid: 0xa1c,
    tid: 0xa24,
    timeMs: Date.UTC(2013, 9, 9, 1, 12, 3, 105),
    component: 'CS',
    text: 'Starting clussvc as a service',
  });
  const noComponent = parseClusterLine('00000b04.00000c0c::2014/01/09-04:23:31.672 ERR   lost quorum (status = 5925)\r');
  assert.deepEqual([noComponent?.level, noComponent?.component, noComponent?.text], ['ERR', '', 'lost quorum (status = 5925)']);
  const verbose = parseClusterLine('[Verbose] 000012fc.00002834::2019/02/07-10:02:13.100 INFO  [RCM] TransitionToState(A) Offline-->Online.');
  assert.deepEqual([verbose?.channel, verbose?.level, verbose?.component, verbose?.text], ['Verbose', 'INFO', 'RCM', 'TransitionToState(A) Offline-->Online.']);
  const channel = parseClusterLine('000011f0.00001a80::2020/03/17-02:11:54.400 INFO  [CHANNEL 10.10.1.12:~3343~] graceful close, status (of previous failure, may not indicate problem) (0)');
  assert.equal(channel?.component, 'CHANNEL 10.10.1.12:~3343~');
  const shortIds = parseClusterLine('a1c.24::2013/10/09-01:12:03.105 WARN  [NM] x');
  assert.deepEqual([shortIds?.pid, shortIds?.tid, shortIds?.level], [0xa1c, 0x24, 'WARN']);
  const placeholder = parseClusterLine('xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm ERR [RES] x <y>: z');
  assert.deepEqual([placeholder?.timeMs, placeholder?.level, placeholder?.component], [undefined, 'ERR', 'RES']);
  const errorWord = parseClusterLine('00000b04.00000c0c::2014/01/09-04:23:31.672 ERROR_CLUSTER_NO_QUORUM happened');
  assert.deepEqual([errorWord?.level, errorWord?.text], [undefined, 'ERROR_CLUSTER_NO_QUORUM happened'], 'a word that starts like a level is text');
  for (const bad of ['', 'prose about a cluster', '00000a1c.00000a24::2013/02/30-01:12:03.105 INFO  [CS] x', '00000a1c00000a24::2013/10/09-01:12:03.105 INFO  [CS] x', 'zzzz.0000::2013/10/09-01:12:03.105 INFO  [CS] x']) {
    assert.equal(parseClusterLine(bad), undefined, bad);
  }
});

test('a Windows Server 2008 log without level fields parses whole, and both nodes diagnose KB2893882 on the target', async () => {
  const a = await analyzeLogs([{ path: path.join(fixtures, 'ws2008', 'EXMBX01_cluster.log') }, { path: path.join(fixtures, 'ws2008', 'EXMBX02_cluster.log') }]);
  assert.deepEqual(a.files.map((f) => [f.node, f.unparsed, unreadable(f)]), [
    ['EXMBX01', 0, false],
    ['EXMBX02', 0, false],
  ]);
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.group, f.node]), [['KB2893882', 'CMS01', 'EXMBX02']]);
});

async function findingsOf(file: string): Promise<string[]> {
  const a = await analyzeLogs([{ path: file }]);
  assert.equal(a.totals.unparsed, 0, file);
  return a.findings.map((f) => `${f.ruleId}:${f.node}`);
}

test('UTF-16 LE and BE, with and without BOM, read like UTF-8', async () => {
  const text = readFileSync(path.join(fixtures, 'ws2008', 'EXMBX02_cluster.log'), 'utf8');
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.from(le).swap16();
  const variants: [string, Buffer, string][] = [
    ['le-bom', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'utf-16le'],
    ['le', le, 'utf-16le'],
    ['be-bom', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'utf-16be'],
    ['be', be, 'utf-16be'],
  ];
  for (const [name, bytes, encoding] of variants) {
    const file = path.join(dir, `${name}_EXMBX02_cluster.log`);
    writeFileSync(file, bytes);
    const a = await analyzeLogs([{ path: file, node: 'EXMBX02' }]);
    assert.equal(a.files[0]!.encoding, encoding, name);
    assert.equal(a.totals.unparsed, 0, name);
    assert.deepEqual(a.findings.map((f) => f.ruleId), ['KB2893882'], name);
  }
});

test('gzip files and zip bundles of several nodes are read, one node per entry', async () => {
  assert.deepEqual(await findingsOf(path.join(fixtures, 'EXMBX02_cluster.log.gz')), ['KB2893882:EXMBX02']);
  const a = await analyzeLogs([{ path: path.join(fixtures, 'kb2893882-ws2008.zip') }]);
  assert.deepEqual(a.files.map((f) => [f.node, f.packing, f.unparsed]), [
    ['EXMBX01', 'zip', 0],
    ['EXMBX02', 'zip', 0],
  ]);
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.node, f.nodes]), [['KB2893882', 'EXMBX02', ['EXMBX02', 'EXMBX01']]]);
  const notZip = path.join(dir, 'broken.zip');
  writeFileSync(notZip, Buffer.from('PK\u0003\u0004 but nothing else'));
  await assert.rejects(analyzeLogs([{ path: notZip }]), (e: Error) => e.message.includes(notZip));
});

test('2016+ sections: tables give membership and node names, local times become UTC, section text is not unreadable', async () => {
  const entries: TimelineEntry[] = [];
  const a = await analyzeLogs([{ path: path.join(fixtures, 'ws2016-other-group_cluster.log') }], { rules: [], timeline: { filter: { group: 'CMS01' }, onEntry: (e) => entries.push(e) } });
  const f = a.files[0]!;
  assert.equal(f.unparsed, 0);
  assert.ok(f.sectionLines >= 15);
  assert.equal(f.localTimeOffsetMinutes, -540);
  assert.equal(f.firstTimeMs, Date.UTC(2019, 1, 7, 1, 2, 11), 'local 10:02:11 at UTC+9 is 01:02:11 UTC');
  assert.deepEqual([...new Set(entries.map((e) => `${e.object.kind}:${e.object.name}`))], ['resource:Mailbox Database 01'], 'the table puts the database in CMS01');
});

test('object tables in comma-separated, column and list layouts', () => {
  const read = (lines: string[]): ClusterObject[] => {
    const out: ClusterObject[] = [];
    const t = new SectionTable('resource', (o) => out.push(o));
    for (const l of lines) t.feed(l);
    t.end();
    return out;
  };
  const want = [
    { kind: 'resource', name: 'Cluster IP Address', group: 'Cluster Group', state: 'Online', type: 'IP Address' },
    { kind: 'resource', name: 'SQL Server (MSSQLSERVER)', group: 'SQL Server (MSSQLSERVER)', state: 'Failed', type: 'SQL Server' },
  ];
  assert.deepEqual(read(['Name,State,OwnerGroup,ResourceType', 'Cluster IP Address,Online,Cluster Group,IP Address', '"SQL Server (MSSQLSERVER)",Failed,SQL Server (MSSQLSERVER),SQL Server']), want);
  assert.deepEqual(
    read([
      'Name                      State   OwnerGroup                ResourceType',
      '----                      -----   ----------                ------------',
      'Cluster IP Address        Online  Cluster Group             IP Address',
      'SQL Server (MSSQLSERVER)  Failed  SQL Server (MSSQLSERVER)  SQL Server',
    ]),
    want,
  );
  assert.deepEqual(
    read([
      'Name         : Cluster IP Address',
      'State        : Online',
      'OwnerGroup   : Cluster Group',
      'ResourceType : IP Address',
      '',
      'Name         : SQL Server (MSSQLSERVER)',
      'State        : Failed',
      'OwnerGroup   : SQL Server (MSSQLSERVER)',
      'ResourceType : SQL Server',
    ]),
    want,
  );
});

test('a file that is not a cluster log is unreadable, never healthy; a log with some garbage is not', async () => {
  const prose = path.join(dir, 'notes.txt');
  writeFileSync(prose, 'The cluster was slow on Tuesday.\nWe moved CMS01 by hand.\n');
  const a = await analyzeLogs([{ path: prose }]);
  assert.equal(unreadable(a.files[0]!), true);
  assert.equal(a.files[0]!.unparsedSamples[0]?.lineNo, 1);
  const empty = path.join(dir, 'empty.log');
  writeFileSync(empty, '');
  assert.equal(unreadable((await analyzeLogs([{ path: empty }])).files[0]!), true, 'an empty file parses to nothing');
  const some = path.join(dir, 'some.log');
  writeFileSync(some, `${readFileSync(path.join(fixtures, 'witness-ok.log'), 'utf8')}one stray line\n`);
  assert.equal(unreadable((await analyzeLogs([{ path: some }])).files[0]!), false);
});

test('the fast path for the common form reads every line exactly as the general scan does', () => {
  const lines = [
    '00000a1c.00000c50::2013/10/09-02:40:16.004 WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: CMS01, 5908.',
    '00000a1c.00000c50::2013/10/09-02:40:16.004 INFO  [RCM] TransitionToState(A (x)) Offline-->Online.\r',
    '00000dd0.00000de8::2013/10/09-01:12:05.118 ERR   [RES] Generic <DB>: open failed   ',
    '00000dd0.00000de8::2013/10/09-01:12:05.118 DBG   [CHANNEL 10.0.0.2:~3343~] graceful close',
    '00000dd0.00000de8::2013/10/09-01:12:05.118 INFO  [API]',
    'xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: G, 5908.',
  ];
  const fast = newLineScan();
  const general = newLineScan();
  const units = new CodeUnits();
  let canonical = 0;
  for (const l of lines) {
    const b = units.of(l);
    assert.ok(scanLine(b, 0, l.length, general), l);
    if (!scanCanonical(b, 0, l.length, fast)) continue;
    canonical++;
    assert.deepEqual(fast, general, l);
    assert.deepEqual(recordOf(b, fast, l, 0), recordOf(b, general, l, 0), l);
  }
  assert.equal(canonical, 5, 'all but the placeholder take the fast path');
});
