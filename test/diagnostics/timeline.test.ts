import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeText } from '../../src/diagnostics/analyze.ts';
import { extractEvent } from '../../src/diagnostics/events.ts';
import { formatTime } from '../../src/diagnostics/report.ts';
import { parseLine } from '../../src/log/format.ts';
import type { HeldState, TimelineEntry, TimelineFilter } from '../../src/diagnostics/timeline.ts';

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

test('timeline: entries in time order with how long the state they end had lasted; states held at the end', () => {
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
  const run = (filter: TimelineFilter): { entries: TimelineEntry[]; held: HeldState[] } => {
    const entries: TimelineEntry[] = [];
    const a = analyzeText(lines, 'node1', { rules: [], timeline: { filter, onEntry: (e) => entries.push(e) } });
    return { entries, held: a.held! };
  };
  const all = run({});
  const db = all.entries.filter((e) => e.object.name === 'DB' && e.kind === 'state');
  assert.deepEqual(
    db.map((e) => [e.to, e.fromLastedMs]),
    [
      ['OnlineCallIssued', undefined],
      ['Online', 250],
      ['OfflineCallIssued', 60_000],
      ['Offline', 750],
    ],
  );
  assert.equal(db[0]!.object.group, 'CMS01');
  assert.deepEqual(
    all.held.map((h) => [h.object.name, h.state, h.durationMs]),
    [
      ['DB', 'Offline', 3000],
      ['Other', 'Online', 1000],
    ],
  );
  assert.ok(all.entries.some((e) => e.object.kind === 'group' && e.text === 'move requested to node 2'));
  assert.ok(all.entries.some((e) => e.object.kind === 'cluster' && e.text === 'node node2 is Down'));
  assert.deepEqual([...new Set(run({ group: 'CMS01' }).entries.map((e) => `${e.object.kind}:${e.object.name}`))], ['resource:DB', 'group:CMS01']);
  assert.deepEqual([...new Set(run({ resource: 'Other' }).entries.map((e) => e.object.name))], ['Other']);
  // A window: only what happened in it, but durations still count from before it.
  const window = run({ fromMs: Date.UTC(2026, 0, 1, 0, 1, 0, 500), toMs: Date.UTC(2026, 0, 1, 0, 1, 2) });
  assert.deepEqual(window.entries.map((e) => [e.object.name, e.to, e.fromLastedMs]), [['DB', 'Offline', 750]]);
  assert.deepEqual(window.held.map((h) => [h.object.name, h.state, h.durationMs]), [['DB', 'Offline', 1000]]);
});

test('times are written as UTC to the millisecond, in and across seconds, before 1970 and after 9999', () => {
  const iso = (t: number): string => new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  const t0 = Date.UTC(2013, 9, 9, 1, 12, 5);
  for (const t of [t0, t0 + 7, t0 + 42, t0 + 999, t0 + 1000, t0 + 1001, t0 - 1, 0, -1, -1001, Date.UTC(10000, 0, 1, 0, 0, 0, 5), t0 + 86_400_000]) {
    assert.equal(formatTime(t), iso(t), String(t));
  }
  assert.equal(formatTime(t0 + 5), '2013-10-09 01:12:05.005');
  assert.equal(formatTime(undefined), '(time unknown)         ');
});
