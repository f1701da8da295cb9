import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeText } from '../../src/diagnostics/analyze.ts';
import { extractEvent } from '../../src/diagnostics/events.ts';
import { parseLine } from '../../src/log/format.ts';

const ev = (line: string): unknown => extractEvent(parseLine(line)!);
const p = '00000a1c.00000c3c::2016/05/04-10:00:00.000';

test('events: both transition styles, WSFC moves and failover lines', () => {
  assert.deepEqual(ev(`${p} INFO  [RCM] TransitionToState(A (x)) Offline-->OnlineCallIssued.`), { type: 'resourceState', resource: 'A (x)', from: 'Offline', to: 'OnlineCallIssued' });
  assert.deepEqual(ev(`${p} INFO  [RCM] Res Cluster IP Address: OnlinePending -> Online( StateUnknown )`), {
    type: 'resourceState',
    resource: 'Cluster IP Address',
    from: 'OnlinePending',
    to: 'Online',
  });
  assert.deepEqual(ev(`${p} INFO  [RCM] move of group SQL from N1(1) to N2(2) of type MoveType::Failover is about to succeed, failoverCount=1, lastFailoverTime=x`), {
    type: 'moveAboutToSucceed',
    group: 'SQL',
    from: 'N1',
    fromId: '1',
    to: 'N2',
    toId: '2',
    moveType: 'Failover',
  });
  assert.deepEqual(ev(`${p} INFO  [RCM] rcm::RcmApi::MoveGroup: (Group, with comma, 2)`), { type: 'moveRequest', group: 'Group, with comma', target: '2' });
  assert.deepEqual(ev(`${p} ERR   [RES] Generic <DB>: open failed: ERROR_SHARING_PAUSED(70): not yet`), {
    type: 'entryPointError',
    resource: 'DB',
    resourceType: 'Generic',
    entryPoint: 'Open',
    code: 70,
    detail: 'open failed: ERROR_SHARING_PAUSED(70): not yet',
  });
  assert.deepEqual(ev(`${p} WARN  [NM] Node 2 is Down.`), { type: 'nodeState', node: '2', nodeId: '2', state: 'Down' });
  assert.equal(ev(`${p} INFO  [RES] Physical Disk <Disk 1>: IsAlive sanity check succeeded.`), undefined, 'INFO from a resource is not an error');
  assert.equal(ev(`${p} INFO  [GUM] Node 2: Processing RequestLock 1:17`), undefined);
});

test('timeline: per resource and group, with how long each state lasted and what is still held at the end', () => {
  const lines = [
    `00000001.00000002::2026/01/01-00:00:00.000 INFO  [RCM] rcm::RcmGum::CreateResource(DB,guid,CMS01)`,
    `00000001.00000002::2026/01/01-00:00:00.000 INFO  [RCM] TransitionToState(DB) Offline-->OnlineCallIssued.`,
    `00000001.00000002::2026/01/01-00:00:00.250 INFO  [RCM] TransitionToState(DB) OnlineCallIssued-->Online.`,
    'garbage in between',
    `00000001.00000002::2026/01/01-00:01:00.250 INFO  [RCM] rcm::RcmApi::MoveGroup: (CMS01, 2)`,
    `00000001.00000002::2026/01/01-00:01:00.250 INFO  [RCM] TransitionToState(DB) Online-->OfflineCallIssued.`,
    `00000001.00000002::2026/01/01-00:01:01.000 INFO  [RCM] TransitionToState(DB) OfflineCallIssued-->Offline.`,
    `00000001.00000002::2026/01/01-00:01:03.000 INFO  [RCM] TransitionToState(Other) Offline-->Online.`,
    `00000001.00000002::2026/01/01-00:01:04.000 WARN  [NM] Node node2(2) is Down.`,
  ];
  const a = analyzeText(lines, 'node1', { rules: [], timeline: true });
  assert.equal(a.totals.unparsed, 1);
  const db = a.timelines!.find((t) => t.kind === 'resource' && t.name === 'DB')!;
  assert.equal(db.group, 'CMS01');
  const states = db.entries.filter((e) => e.kind === 'state').map((e) => [e.to, e.durationMs, e.ongoing ?? false]);
  assert.deepEqual(states, [
    ['OnlineCallIssued', 250, false],
    ['Online', 60_000, false],
    ['OfflineCallIssued', 750, false],
    ['Offline', 3000, true], // until the log's last line
  ]);
  assert.deepEqual(db.finalStates, { node1: 'Offline' });
  const g = a.timelines!.find((t) => t.kind === 'group' && t.name === 'CMS01')!;
  assert.deepEqual(g.entries.map((e) => e.text), ['move requested to node 2']);
  const cluster = a.timelines!.find((t) => t.kind === 'cluster')!;
  assert.deepEqual(cluster.entries.map((e) => e.text), ['node node2 is Down']);

  const onlyGroup = analyzeText(lines, 'node1', { rules: [], timeline: { group: 'CMS01' } });
  assert.deepEqual(onlyGroup.timelines!.map((t) => `${t.kind}:${t.name}`), ['group:CMS01', 'resource:DB']);
  const onlyOther = analyzeText(lines, 'node1', { rules: [], timeline: { resource: 'Other' } });
  assert.deepEqual(onlyOther.timelines!.map((t) => `${t.kind}:${t.name}`), ['resource:Other']);
});
