// Every known-issue rule on a log where it must fire and on a near miss where it must not.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { analyzeLogs, analyzeText, LearnedKnowledge, requestThreadsPerNodeMax, type Analysis } from '../../src/diagnostics/analyze.ts';
import { extractEvent, type ClusterEventType } from '../../src/diagnostics/events.ts';
import { readLogs, type LogLine } from '../../src/diagnostics/reader.ts';
import { knownIssueRules } from '../../src/diagnostics/rules/index.ts';
import { ClusterLogWriter } from '../../src/log/writer.ts';
import { messages, type LogMessage } from '../../src/model/messages.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'cluster-logs');
const fixture = (name: string): Promise<Analysis> => analyzeLogs([{ path: path.join(fixtures, name) }]);
const ids = (a: Analysis): string[] => a.findings.map((f) => f.ruleId).sort();

/** A failover log: each step advances the virtual clock by stepMs and writes one message. */
function failoverLog(steps: readonly LogMessage[], stepMs = 100): string[] {
  const clock = new VirtualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
  const log = new ClusterLogWriter({ pid: 0x2a0, clock, memoryLines: 10_000 });
  for (const m of steps) {
    clock.advance(stepMs);
    log.writeMessage(m, 0x3c);
  }
  return log.lines();
}

const dbName = 'Microsoft Exchange Database Instance (CMS01/First Storage Group/Mailbox Database)';

test('KB2893882: the shared fixture names the resource, group, nodes, start and the KB remedies', async () => {
  const a = await fixture('kb2893882-node2.log');
  assert.deepEqual(ids(a), ['KB2893882']);
  const f = a.findings[0]!;
  assert.equal(f.resource, dbName);
  assert.equal(f.group, 'CMS01');
  assert.deepEqual(f.nodes, ['kb2893882-node2', 'EXMBX01', 'EXMBX02']);
  assert.equal(a.dialect, 'wsfc');
  assert.equal(f.began?.timeMs, Date.UTC(2013, 9, 9, 1, 12, 5, 118));
  assert.equal(f.facts.retries5908, 10);
  assert.equal(f.facts.openError, 70);
  const remedies = f.remedies.join('\n');
  assert.match(remedies, /Restart the Cluster service/);
  assert.match(remedies, /single-copy clusters only/);
  assert.match(remedies, /Continuous Replication/);
  assert.match(remedies, /Remove the dependency/);
  assert.match(remedies, /Stop-ClusterNode -Name kb2893882-node2/);
  assert.doesNotMatch(remedies, /failover resource reset/, 'a WSFC log is advised in WSFC tools');
  const evidence = f.evidence.map((e) => e.line);
  assert.ok(evidence.some((l) => l.includes('ExchangeOpen: Failed to open or create')));
  assert.ok(evidence.some((l) => l.includes('OpenCallIssued-->OpenCallFailed')));
  assert.ok(evidence.some((l) => l.includes('rcm::RcmApi::MoveGroup: (CMS01, 2)')));
  assert.ok(evidence.some((l) => l.includes('retrying: CMS01, 5908')));
  // Evidence is in log order.
  const times = f.evidence.map((e) => e.timeMs!);
  assert.deepEqual(times, [...times].sort((x, y) => x - y));
});

test('KB2893882: the seed excerpt with its placeholder prefix (unknown times) is diagnosed', async () => {
  const a = await fixture('kb2893882-seed-excerpt.txt');
  assert.deepEqual(ids(a), ['KB2893882']);
  const f = a.findings[0]!;
  assert.equal(f.resource, 'リソース名');
  assert.equal(f.group, 'グループ名');
  assert.ok(f.nodes.includes('ノード番号'));
  assert.equal(f.began?.timeMs, undefined);
  assert.match(f.summary, /unknown time/);
  assert.equal(f.facts.retries5908, 10);
});

test('KB2893882 does not fire when the open succeeded before the move', async () => {
  assert.deepEqual(ids(await fixture('kb2893882-open-recovered.log')), []);
});

test('KB2893882 does not fire when the 5908 retries stop because the move completed', async () => {
  assert.deepEqual(ids(await fixture('kb2893882-move-completed.log')), []);
});

test('KB2893882 does not fire for a moment of 5908 answers, nor when the group comes online', () => {
  const base = [
    '00000a1c.00000e0c::2013/10/09-01:12:05.120 INFO  [RCM] TransitionToState(DB) OpenCallIssued-->OpenCallFailed.',
    '00000a1c.00000c3c::2013/10/09-02:40:11.503 INFO  [RCM] rcm::RcmApi::MoveGroup: (G, 2)',
    '00000a1c.00000c50::2013/10/09-02:40:16.002 INFO  [RCM] rcm::RcmApi::OnlineResource: (DB)',
    '00000a1c.00000c50::2013/10/09-02:40:16.004 WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: G, 5908.',
    '00000a1c.00000c50::2013/10/09-02:40:16.504 WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: G, 5908.',
  ];
  assert.deepEqual(ids(analyzeText(base, 'n1')), [], 'two answers are not a stuck move');
  const stuck = [...base, '00000a1c.00000c50::2013/10/09-02:40:17.004 WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: G, 5908.'];
  assert.deepEqual(ids(analyzeText(stuck, 'n1')), ['KB2893882'], 'three are');
  const online = [...stuck, '00000a1c.00000c3c::2013/10/09-02:41:00.000 INFO  [RCM] rcm::RcmGroup::UpdateStateIfChanged: (G, Pending --> Online)'];
  assert.deepEqual(ids(analyzeText(online, 'n1')), []);
});

/** The RCM's second seed scenario as failover logs it: DB's open keeps failing, the move to node2 ends with an error. */
function openFailsMoveFails(): LogMessage[] {
  return [
    messages.nodeUp('node1', 1),
    messages.nodeUp('node2', 2),
    messages.transition('DB', 'Initializing', 'OpenCallIssued'),
    messages.entryPointFailed('MailboxDatabase', 'DB', 'open', 'ERROR_SHARING_PAUSED', 70, "cannot create key 'Parameters': cluster API not available"),
    messages.transition('DB', 'OpenCallIssued', 'OpenCallFailed'),
    messages.transition('IS', 'Initializing', 'OpenCallIssued'),
    messages.transition('IS', 'OpenCallIssued', 'Offline'),
    messages.openRetryScheduled('DB', 70, 1, 3, 1000),
    messages.transition('DB', 'OpenCallFailed', 'OpenCallIssued'),
    messages.entryPointFailed('MailboxDatabase', 'DB', 'open', 'ERROR_SHARING_PAUSED', 70, "cannot create key 'Parameters'"),
    messages.transition('DB', 'OpenCallIssued', 'OpenCallFailed'),
    messages.openRetryScheduled('DB', 70, 2, 3, 2000),
    messages.apiOnline(),
    messages.moveGroupRequest('CMS01', 2),
    messages.groupMoveOperation('CMS01', 2),
    messages.movePhase('CMS01', 'offline on source'),
    messages.onlineResourceRequest('IS'),
    messages.groupMovingRetry('OnlineResource', 'CMS01'),
    messages.groupMovingRetry('OnlineResource', 'CMS01'),
    messages.groupMovingRetry('OnlineResource', 'CMS01'),
    messages.openBeforeOnline('DB'),
    messages.entryPointFailed('MailboxDatabase', 'DB', 'open', 'ERROR_SHARING_PAUSED', 70, "cannot create key 'Parameters'"),
    messages.moveFailed('CMS01', 'node2', 2, 'DB', 'ERROR_SHARING_PAUSED', 70, 'DB could not open'),
    messages.moveReturned('CMS01', 'node1', 1),
  ];
}

test("failover's own log: a move that failed because DB could not open, with evidence and the reset remedy", () => {
  const a = analyzeText(failoverLog(openFailsMoveFails()), 'node1');
  assert.equal(a.totals.unparsed, 0);
  assert.deepEqual(ids(a), ['MOVE-FAILED-OPEN'], 'and not KB2893882: the move ended');
  const f = a.findings[0]!;
  assert.equal(f.resource, 'DB');
  assert.equal(f.group, 'CMS01');
  assert.deepEqual(f.nodes, ['node1', 'node2']);
  assert.equal(f.facts.openError, 70);
  assert.equal(f.facts.openRetries, 2);
  assert.equal(f.began?.timeMs, Date.UTC(2026, 2, 1, 9, 0, 0, 400));
  const lines = f.evidence.map((e) => e.line);
  assert.ok(lines.some((l) => l.includes('MailboxDatabase <DB>: open failed: ERROR_SHARING_PAUSED(70)')));
  assert.ok(lines.some((l) => l.includes('Open of resource DB failed (70); retry 1 of 3')));
  assert.ok(lines.some((l) => l.includes('rcm::RcmApi::MoveGroup: (CMS01, 2)')));
  assert.ok(lines.some((l) => l.includes('move of group CMS01 to node2(2) failed: resource DB')));
  assert.ok(lines.some((l) => l.includes('returned to node1(1)')));
  assert.ok(f.remedies.some((r) => r.includes('failover resource reset DB')));
});

test('MOVE-FAILED-OPEN does not fire when the resource had opened, or when the move completed', () => {
  const steps = openFailsMoveFails();
  const recovered = [
    ...steps.slice(0, 12),
    messages.transition('DB', 'OpenCallFailed', 'OpenCallIssued'),
    messages.transition('DB', 'OpenCallIssued', 'Offline'),
    ...steps.slice(12).filter((m) => !m.text.includes('has not opened') && !m.text.includes('<DB>')),
  ];
  assert.deepEqual(ids(analyzeText(failoverLog(recovered), 'node1')), []);
  const completed = [...steps.slice(0, 20), messages.moveCompleted('CMS01', 'node2', 2)];
  assert.deepEqual(ids(analyzeText(failoverLog(completed), 'node1')), []);
});

test('RESOURCE-DEADLOCK: a timed-out call, a pending timeout and the separate monitor', async () => {
  const a = await fixture('deadlock.log');
  assert.deepEqual(ids(a), ['RESOURCE-DEADLOCK']);
  const f = a.findings[0]!;
  assert.equal(f.resource, 'TSM-Server-TSM1');
  assert.equal(f.facts.callTimeouts, 1);
  assert.equal(f.facts.pendingTimeouts, 1);
  assert.equal(f.facts.separateMonitor, true);
  assert.match(f.summary, /ONLINERESOURCE/);
  // failover's own deadlock line reads the same.
  const own = analyzeText(failoverLog([messages.entryPointTimedOut('DB', 'online', 300000)]), 'node1');
  assert.deepEqual(own.findings.map((x) => [x.ruleId, x.resource]), [['RESOURCE-DEADLOCK', 'DB']]);
});

test('RESOURCE-DEADLOCK does not fire for calls that return in time', () => {
  const ok = failoverLog([
    messages.transition('DB', 'Offline', 'OnlineCallIssued'),
    messages.transition('DB', 'OnlineCallIssued', 'OnlinePending'),
    messages.transition('DB', 'OnlinePending', 'Online'),
    messages.transition('DB', 'Online', 'OfflinePending'),
    messages.transition('DB', 'OfflinePending', 'Offline'),
  ]);
  assert.deepEqual(ids(analyzeText(ok, 'node1')), []);
});

test('RESTART-THRESHOLD: restarts exhausted, the group fails over', () => {
  const a = analyzeText(
    failoverLog([
      messages.restartScheduled('DB', 1, 3, 500),
      messages.restartScheduled('DB', 2, 3, 500),
      messages.restartScheduled('DB', 3, 3, 500),
      messages.restartThresholdExceeded('DB', 'CMS01'),
      messages.moveAboutToSucceed('CMS01', 'node1', 1, 'node2', 2, 'Failover', 1),
      messages.moveCompleted('CMS01', 'node2', 2),
    ]),
    'node1',
  );
  assert.deepEqual(ids(a), ['RESTART-THRESHOLD']);
  const f = a.findings[0]!;
  assert.deepEqual([f.resource, f.group, f.facts.failures, f.facts.failoverTo], ['DB', 'CMS01', 3, 'node2']);
  assert.deepEqual(f.nodes, ['node1', 'node2']);
});

test('RESTART-THRESHOLD does not fire when a restart brings the resource back', () => {
  const a = analyzeText(
    failoverLog([messages.restartScheduled('DB', 1, 3, 500), messages.transition('DB', 'OnlinePending', 'Online')]),
    'node1',
  );
  assert.deepEqual(ids(a), []);
});

test('FAILOVER-THRESHOLD: WSFC\'s "Not failing over group" and failover\'s own line', async () => {
  const a = await fixture('failover-threshold.log');
  assert.deepEqual(ids(a), ['FAILOVER-THRESHOLD']);
  assert.equal(a.findings[0]!.group, 'SQL Server (MSSQLSERVER)');
  assert.equal(a.findings[0]!.facts.failoverCount, 8);
  const own = analyzeText(failoverLog([messages.failoverThresholdExceeded('CMS01', 2, 6)]), 'node2');
  assert.deepEqual(own.findings.map((f) => [f.ruleId, f.group]), [['FAILOVER-THRESHOLD', 'CMS01']]);
});

test('FAILOVER-THRESHOLD does not fire for a failover that happened', () => {
  const a = analyzeText(failoverLog([messages.moveAboutToSucceed('CMS01', 'node1', 1, 'node2', 2, 'Failover', 1), messages.moveCompleted('CMS01', 'node2', 2)]), 'node1');
  assert.deepEqual(ids(a), []);
});

test('CANNOT-HOST: a node that is not a possible owner (5015) or cannot run the resource (5071)', async () => {
  const a = await fixture('cannot-host.log');
  assert.deepEqual(ids(a), ['CANNOT-HOST']);
  assert.deepEqual([a.findings[0]!.resource, a.findings[0]!.nodes], ['FS-Disk', ['node3']]);
  const own = analyzeText(failoverLog([messages.cannotHost('DB', 'node3', 5071)]), 'node1');
  assert.deepEqual(own.findings.map((f) => [f.ruleId, f.resource, f.facts.codes]), [['CANNOT-HOST', 'DB', '5071']]);
});

test('CANNOT-HOST does not fire when the move to a possible owner works', () => {
  const a = analyzeText(failoverLog([messages.moveGroupRequest('FileServer', 2), messages.moveCompleted('FileServer', 'node2', 2)]), 'node1');
  assert.deepEqual(ids(a), []);
});

test('QUORUM-LOST and NODE-DOWN: two of three nodes go down, quorum is lost', async () => {
  const a = await fixture('quorum-lost.log');
  assert.deepEqual(ids(a), ['NODE-DOWN', 'NODE-DOWN', 'QUORUM-LOST']);
  const q = a.findings.find((f) => f.ruleId === 'QUORUM-LOST')!;
  assert.equal(q.evidence.filter((e) => e.note?.includes('went down')).length, 2);
  const downs = a.findings.filter((f) => f.ruleId === 'NODE-DOWN').map((f) => [f.nodes[0], f.facts.upAgain]);
  assert.deepEqual(downs, [
    ['node2', false],
    ['node3', false],
  ]);
});

test('NODE-DOWN notes a node that came back; no quorum finding without a quorum loss; nothing for nodes that stay up', () => {
  const a = analyzeText(failoverLog([messages.nodeUp('node1', 1), messages.nodeDown('node2', 2), messages.nodeUp('node2', 2)]), 'node1');
  assert.deepEqual(ids(a), ['NODE-DOWN']);
  assert.equal(a.findings[0]!.facts.upAgain, true);
  assert.deepEqual(ids(analyzeText(failoverLog([messages.nodeUp('node1', 1), messages.nodeUp('node2', 2)]), 'node1')), []);
});

// Each rule on WSFC's own wordings: a fixture where it must fire and one where it must not.
const wsfcCases: { rule: string; positive: string; negative: string; check?: (a: Analysis) => void }[] = [
  {
    rule: 'RESOURCE-DEADLOCK',
    positive: 'rhs-deadlock.log',
    negative: 'rhs-deadlock-none.log',
    check: (a) => {
      const f = a.findings.find((x) => x.ruleId === 'RESOURCE-DEADLOCK')!;
      assert.equal(f.facts.rootCauseErrors, 1);
      assert.match(f.summary, /Named Pipes Provider/, 'the root-cause error is in the summary');
      assert.ok(f.remedies.some((r) => r.includes('SeparateMonitor = 1')));
    },
  },
  {
    rule: 'RESTART-THRESHOLD',
    positive: 'restart-threshold.log',
    negative: 'restart-threshold-recovered.log',
    check: (a) => {
      const f = a.findings[0]!;
      assert.deepEqual([f.resource, f.group, f.facts.failures, f.facts.failoverTo], ['SQL Server', 'SQL Server (MSSQLSERVER)', 3, 'SQLN2']);
    },
  },
  {
    rule: 'FAILOVER-THRESHOLD',
    positive: 'failover-threshold-2016.log',
    negative: 'failover-threshold-none.log',
    check: (a) => assert.deepEqual([a.findings[0]!.facts.failoverCount, a.findings[0]!.facts.threshold], [2, 1]),
  },
  {
    rule: 'CANNOT-HOST',
    positive: 'cannot-host-5015.log',
    negative: 'cannot-host-none.log',
    check: (a) => {
      const f = a.findings[0]!;
      assert.equal(f.resource, 'FS-Disk', 'not "8" from gen(8)');
      assert.ok(f.remedies.some((r) => r.includes('Set-ClusterOwnerNode -Resource "FS-Disk"')));
    },
  },
  {
    rule: 'CANNOT-HOST',
    positive: 'cannot-host-computer-object.log',
    negative: 'cannot-host-none.log',
    check: (a) => {
      const f = a.findings[0]!;
      assert.equal(f.resource, 'SQLNET01');
      assert.equal(f.facts.ownError, true);
      assert.ok(f.evidence.some((e) => e.line.includes('computer object may have been deleted')));
      assert.ok(!f.remedies.some((r) => r.includes('Set-ClusterOwnerNode')), 'its own error is the cause, not possible owners');
      assert.ok(f.remedies.some((r) => r.includes('Update-ClusterNetworkNameResource')));
    },
  },
  {
    rule: 'QUORUM-LOST',
    positive: 'quorum-lost-2012.log',
    negative: 'quorum-one-off.log',
    check: (a) => {
      const f = a.findings.find((x) => x.ruleId === 'QUORUM-LOST')!;
      assert.ok(f.evidence.some((e) => e.line.endsWith('ERR   lost quorum (status = 5925)')));
    },
  },
  { rule: 'WITNESS-FAILED', positive: 'witness-fsw.log', negative: 'witness-ok.log' },
  {
    rule: 'NODE-DOWN',
    positive: 'node-down-netft.log',
    negative: 'node-up.log',
    check: (a) => {
      const f = a.findings.filter((x) => x.ruleId === 'NODE-DOWN');
      assert.deepEqual(f.map((x) => x.node), ['HVN02'], 'one finding, by name, for id 2, its address and its name');
      assert.equal(f[0]!.facts.lostCommunication, 2);
    },
  },
  {
    rule: 'LEASE-TIMEOUT',
    positive: 'ag-lease-timeout.log',
    negative: 'ag-healthy.log',
    check: (a) => assert.deepEqual([a.findings[0]!.resource, a.findings[0]!.facts.leaseTimeouts, a.findings[0]!.facts.healthCheckTimeouts], ['AG1', 1, 2]),
  },
];

for (const c of wsfcCases) {
  test(`${c.rule} on WSFC's wording: fires on ${c.positive}, not on ${c.negative}; advice in WSFC's tools`, async () => {
    const pos = await fixture(c.positive);
    assert.equal(pos.totals.unparsed, 0);
    assert.equal(pos.dialect, 'wsfc');
    assert.ok(ids(pos).includes(c.rule), `${c.positive}: ${ids(pos).join(', ')}`);
    for (const f of pos.findings) assert.ok(!f.remedies.some((r) => r.includes('`failover ')), `${f.ruleId} advises failover's CLI on a WSFC log`);
    c.check?.(pos);
    const neg = await fixture(c.negative);
    assert.ok(!ids(neg).includes(c.rule), `${c.negative}: ${ids(neg).join(', ')}`);
  });
}

test('KB2893882 is not blamed for another group\'s move: the 2016 tables say which group the stuck resource is in', async () => {
  const a = await fixture('ws2016-other-group_cluster.log');
  assert.deepEqual(ids(a), []);
  // Without the tables the same lines still do not blame it: membership must be known, never guessed.
  const lines = readFileSync(path.join(fixtures, 'ws2016-other-group_cluster.log'), 'utf8').split(/\r?\n/);
  assert.deepEqual(ids(analyzeText(lines.filter((l) => /::/.test(l)), 'EXCH01')), []);
});

test("KB2893882 with both nodes' logs: the source's normal offline does not erase the target's OpenCallFailed", async () => {
  const dir2008 = path.join(fixtures, 'ws2008');
  const a = await analyzeLogs([{ path: path.join(dir2008, 'EXMBX01_cluster.log') }, { path: path.join(dir2008, 'EXMBX02_cluster.log') }]);
  const f = a.findings[0]!;
  assert.deepEqual([f.ruleId, f.node, f.facts.moveTarget, f.facts.moveSource], ['KB2893882', 'EXMBX02', 'EXMBX02', 'EXMBX01']);
  assert.ok(f.remedies[0]!.includes('Stop-ClusterNode -Name EXMBX02'));
  // The open failure was on the source instead: the move leaves that node, so it is not this issue.
  const swapped = await analyzeLogs([
    { path: path.join(dir2008, 'EXMBX02_cluster.log'), node: 'EXMBX01' },
    { path: path.join(dir2008, 'EXMBX01_cluster.log'), node: 'EXMBX02' },
  ]);
  assert.deepEqual(ids(swapped), []);
});

test('requests are remembered for a bounded number of threads per node, the thread first seen longest ago forgotten first', () => {
  const k = new LearnedKnowledge();
  const lineOn = (tid: number): LogLine => ({ record: { tid, component: 'RCM', text: '' }, node: 'n1', file: 'f', lineNo: tid, raw: '' });
  const request = (tid: number, target = `R${tid}`): void => k.learn({ event: { type: 'apiCall', api: 'OnlineResource', target }, line: lineOn(tid) });
  for (let tid = 0; tid < requestThreadsPerNodeMax; tid++) request(tid);
  request(1, 'again'); // a thread already known keeps its place
  request(requestThreadsPerNodeMax);
  assert.equal(k.requestOnThread(lineOn(0)), undefined);
  const again = k.requestOnThread(lineOn(1));
  assert.ok(again && again.event.type === 'apiCall' && again.event.target === 'again');
  for (const tid of [2, requestThreadsPerNodeMax - 1, requestThreadsPerNodeMax]) {
    const r = k.requestOnThread(lineOn(tid));
    assert.ok(r && r.event.type === 'apiCall' && r.event.target === `R${tid}`, `thread ${tid}`);
  }
});

test('each rule, shown only the event types it lists, finds on every fixture what it finds when shown every event', async () => {
  const files = readdirSync(fixtures)
    .map((name) => path.join(fixtures, name))
    .filter((file) => statSync(file).isFile() && !file.endsWith('.md'));
  let found = 0;
  for (const file of files) {
    const types = new Set<ClusterEventType>();
    for await (const batch of (await readLogs([{ path: file }])).batches) {
      for (const line of batch) {
        const e = extractEvent(line.record);
        if (e) types.add(e.type);
      }
    }
    const everyEvent = knownIssueRules.map((r) => ({ ...r, events: [...types] }));
    const routed = await analyzeLogs([{ path: file }]);
    assert.deepEqual(routed.findings, (await analyzeLogs([{ path: file }], { rules: everyEvent })).findings, file);
    found += routed.findings.length;
  }
  assert.ok(found >= 10, `the fixtures have findings (${found})`);
});
