// `failover log ...` run as a subprocess, as an administrator would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { ClusterLogWriter } from '../../src/log/writer.ts';
import { messages } from '../../src/model/messages.ts';

const root = path.join(import.meta.dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'cluster-logs');
const bin = path.join(root, 'bin', 'failover.js');

function failover(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('log diagnose: a known issue is reported with its remedies and exit code 1', () => {
  const r = failover('log', 'diagnose', path.join(fixtures, 'kb2893882-node2.log'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /KB2893882/);
  assert.match(r.stdout, /group: CMS01/);
  assert.match(r.stdout, /Stop-ClusterNode -Name kb2893882-node2/);
});

test('log diagnose --json on the seed excerpt names the resource and group', () => {
  const r = failover('log', 'diagnose', '--json', path.join(fixtures, 'kb2893882-seed-excerpt.txt'));
  assert.equal(r.status, 1, r.stderr);
  const a = JSON.parse(r.stdout) as { findings: { ruleId: string; resource: string; group: string }[] };
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.resource, f.group]), [['KB2893882', 'リソース名', 'グループ名']]);
});

test('log diagnose: nothing known exits 0; a missing file exits 2 naming it', () => {
  const ok = failover('log', 'diagnose', path.join(fixtures, 'kb2893882-open-recovered.log'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /No known issue found/);
  const missing = path.join(dir, 'missing.log');
  const bad = failover('log', 'diagnose', path.join(fixtures, 'kb2893882-node2.log'), missing);
  assert.equal(bad.status, 2);
  assert.ok(bad.stderr.includes(missing));
  assert.equal(failover('log', 'diagnose', '--no-such-option', missing).status, 2);
});

test('log diagnose: a file most of whose lines cannot be read exits 7 with the count and the first bad line, never "No known issue"', () => {
  const prose = path.join(dir, 'notes.txt');
  writeFileSync(prose, 'The cluster was slow on Tuesday.\nWe moved CMS01 by hand.\n00000a1c.00000a24::2013/10/09-01:12:03.105 INFO  [CS] one real line\n');
  const r = failover('log', 'diagnose', prose);
  assert.equal(r.status, 7, r.stderr);
  assert.doesNotMatch(r.stdout, /No known issue found/);
  assert.match(r.stderr, /2 of 3 lines could not be read\. First unreadable line \(1\): The cluster was slow on Tuesday\./);
  const empty = path.join(dir, 'empty.log');
  writeFileSync(empty, '');
  assert.equal(failover('log', 'diagnose', empty).status, 7, 'a file that parses to nothing is not healthy');
});

test('log diagnose reads a zip bundle of both nodes (exit 1) and a gzip file', () => {
  const z = failover('log', 'diagnose', '--json', path.join(fixtures, 'kb2893882-ws2008.zip'));
  assert.equal(z.status, 1, z.stderr);
  const a = JSON.parse(z.stdout) as { dialect: string; findings: { ruleId: string; node: string }[] };
  assert.deepEqual([a.dialect, a.findings.map((f) => [f.ruleId, f.node])], ['wsfc', [['KB2893882', 'EXMBX02']]]);
  assert.equal(failover('log', 'diagnose', path.join(fixtures, 'witness-ok.log')).status, 0);
});

test('log diagnose --html writes one self-contained page: findings with evidence, a timeline per group with the states drawn', () => {
  const out = path.join(dir, 'report.html');
  const r = failover('log', 'diagnose', '--html', out, path.join(fixtures, 'kb2893882-ws2008.zip'));
  assert.equal(r.status, 1, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /KB2893882/);
  assert.match(html, /retrying: CMS01, 5908\./, 'evidence lines');
  assert.match(html, /<h3>Group CMS01<\/h3>\n<svg/);
  assert.match(html, /<rect [^>]*fill="#d0392b"><title>Microsoft Exchange Database Instance \(CMS01\/First Storage Group\/Mailbox Database\) on EXMBX02: OpenCallFailed for /);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no script, nothing fetched');
});

test('log timeline streams entries with how long each state lasted, filters by resource, group and time window', () => {
  const log = path.join(fixtures, 'kb2893882-node2.log');
  const r = failover('log', 'timeline', log, '--resource', 'Network Name (CMS01)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /resource Network Name \(CMS01\): OnlineCallIssued --> Online {2}\[OnlineCallIssued for 340 ms\]/);
  assert.match(r.stdout, /Held at the end of the log:\n.*Network Name \(CMS01\): Online for 5\.3 s/);
  assert.doesNotMatch(r.stdout, /Mailbox Database/);
  const stuck = failover('log', 'timeline', log, '--group', 'CMS01');
  assert.match(stuck.stdout, /Mailbox Database\) \(group CMS01\): OpenCallFailed for 1 h 28 min/, 'the stuck state and how long it lasted');
  const j = failover('log', 'timeline', '--json', '--group', 'CMS01', '--from', '2013-10-09 02:40', '--to', '2013/10/09-02:40:17.000', log);
  const objects = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object?: { kind: string; name: string }; at?: { timeMs: number } });
  assert.equal(objects.at(-1)!.type, 'end');
  const entries = objects.filter((o) => o.type === 'entry');
  assert.ok(entries.some((e) => e.object!.kind === 'group' && e.object!.name === 'CMS01'));
  assert.ok(entries.every((e) => e.at!.timeMs >= Date.UTC(2013, 9, 9, 2, 40) && e.at!.timeMs <= Date.UTC(2013, 9, 9, 2, 40, 17)));
  assert.equal(failover('log', 'timeline', '--resource', 'a', '--group', 'b', log).status, 2);
  assert.equal(failover('log', 'timeline', '--from', 'yesterday', log).status, 2);
});

test('log collect gathers every node log of a local cluster, then diagnose reads them with node names', () => {
  const dataDir = path.join(dir, '.failover');
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  for (const [node, id] of [
    ['node1', 1],
    ['node2', 2],
  ] as const) {
    const w = new ClusterLogWriter({ path: path.join(dataDir, 'logs', node, 'cluster.log'), pid: id, clock });
    w.writeMessage(messages.nodeUp(node, id));
    if (node === 'node2') w.writeMessage(messages.quorumLost());
    w.close();
  }
  const out = path.join(dir, 'collected');
  const r = failover('log', 'collect', '--data-dir', dataDir, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['node1_cluster.log', 'node2_cluster.log']);
  const d = failover('log', 'diagnose', '--json', ...readdirSync(out).map((f) => path.join(out, f)));
  assert.equal(d.status, 1, d.stderr);
  const a = JSON.parse(d.stdout) as { files: { node: string }[]; findings: { ruleId: string; nodes: string[] }[] };
  assert.deepEqual(a.files.map((f) => f.node), ['node1', 'node2']);
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.nodes]), [['QUORUM-LOST', ['node2']]]);
});

test('log collect without a local cluster exits 2 with a clear message', () => {
  const r = failover('log', 'collect', '--data-dir', path.join(dir, 'none'), '--out', path.join(dir, 'out'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no local cluster/);
});

test('log --help explains the format and the exit codes', () => {
  const r = failover('log', '--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Exit codes: 0 no known issue/);
  assert.match(r.stdout, /7 a file most of whose lines could not be read/);
  assert.match(r.stdout, /diagnose/);
  assert.match(r.stdout, /collect/);
});
