// failover's own logs, end to end: the RCM scenario runner's logs of the
// seed's two scenarios, written as one cluster log file per node and
// diagnosed together, as `failover log diagnose` reads collected logs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { parse } from 'yaml';
import { analyzeLogs, type Analysis } from '../../src/diagnostics/analyze.ts';
import { canonicalText, formatLine } from '../../src/log/format.ts';
import { ScenarioRun, type Scenario } from '../rcm/harness.ts';

const scenarios = path.join(import.meta.dirname, '..', 'rcm', 'scenarios');
const startMs = Date.UTC(2026, 0, 1);

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function diagnoseScenario(file: string): Promise<Analysis> {
  const sc = parse(readFileSync(path.join(scenarios, file), 'utf8')) as Scenario;
  const run = new ScenarioRun(sc);
  run.run(() => {});
  const files = sc.nodes.map((node, i) => {
    const lines = run.effects.flatMap((r) =>
      r.node === node && r.effect.type === 'log'
        ? [formatLine({ pid: i + 1, tid: 1, timeMs: startMs + r.at, level: r.effect.message.level, component: r.effect.message.component, text: canonicalText(r.effect.message.text) })]
        : [],
    );
    const p = path.join(dir, `${node}_cluster.log`);
    writeFileSync(p, lines.map((l) => `${l}\r\n`).join(''));
    return { path: p };
  });
  return analyzeLogs(files);
}

test("the RCM's logs of the seed's second scenario: a move that failed because DB could not open", async () => {
  const a = await diagnoseScenario('seed-move-fails-reset.yaml');
  assert.equal(a.totals.unparsed, 0);
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.resource, f.group]), [['MOVE-FAILED-OPEN', 'DB', 'CMS01']]);
  const f = a.findings[0]!;
  assert.ok(f.nodes.includes('node2'));
  assert.ok(f.evidence.some((e) => e.node === 'node2' && e.line.includes('move of group CMS01 to node2(2) failed: resource DB: ERROR_SHARING_PAUSED(70)')));
  assert.ok(f.evidence.some((e) => e.line.includes('TransitionToState(DB) OpenCallIssued-->OpenCallFailed.') || e.line.includes('Open of resource DB failed (70)')));
  assert.ok(f.remedies.some((r) => r.includes('failover resource reset DB')));
});

test("the RCM's logs of the seed's first scenario (the move completes) show no known issue", async () => {
  assert.deepEqual((await diagnoseScenario('seed-move-completes.yaml')).findings, []);
});
