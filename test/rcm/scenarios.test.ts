// Runs every scenario file in test/rcm/scenarios/: a cluster, scripted
// entry-point behaviour, a timeline of inputs in virtual time, and expectations.
// A new case is a new file. See harness.ts for the file's shape.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { canonical, findEffects, findLogs, logLines, ScenarioRun, type Expectation, type Scenario } from './harness.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function checkExpectation(run: ScenarioRun, sc: Scenario, x: Expectation): void {
  const node = x.node ?? sc.nodes[0]!;
  const where = `at ${x.at} on ${node}`;
  const context = (): string => `\nrecent log:\n${logLines(run)}`;
  for (const [r, want] of Object.entries(x.states ?? {})) {
    assert.equal(run.resourceState(node, r), want, `${where}: state of ${r}${context()}`);
  }
  for (const [r, want] of Object.entries(x.errors ?? {})) {
    assert.equal(run.lastErrorCode(node, r), want, `${where}: last error code of ${r}${context()}`);
  }
  for (const [r, want] of Object.entries(x.seq ?? {})) {
    assert.equal(run.seqOf(node, r), want, `${where}: state sequence of ${r}`);
  }
  for (const [g, want] of Object.entries(x.groups ?? {})) {
    assert.equal(run.groupStateOf(node, g), want, `${where}: state of group ${g}${context()}`);
  }
  for (const [g, want] of Object.entries(x.moving ?? {})) {
    assert.equal(run.moving(node, g), want, `${where}: group ${g} moving${context()}`);
  }
  for (const [g, want] of Object.entries(x.owned ?? {})) {
    assert.equal(run.owned(node, g), want, `${where}: group ${g} owned`);
  }
  for (const spec of x.effects ?? []) {
    const found = findEffects(run, spec);
    if (spec.count !== undefined) assert.equal(found.length, spec.count, `${where}: count of effect ${JSON.stringify(spec)}${context()}`);
    else assert.ok(found.length > 0, `${where}: expected effect ${JSON.stringify(spec)}${context()}`);
  }
  for (const spec of x.noEffects ?? []) {
    const found = findEffects(run, spec);
    assert.equal(found.length, 0, `${where}: unexpected effect ${JSON.stringify(found[0])} matching ${JSON.stringify(spec)}${context()}`);
  }
  for (const spec of x.logs ?? []) {
    const found = findLogs(run, spec);
    const count = typeof spec === 'string' ? undefined : spec.count;
    if (count !== undefined) assert.equal(found.length, count, `${where}: count of log ${JSON.stringify(spec)}${context()}`);
    else assert.ok(found.length > 0, `${where}: expected log ${JSON.stringify(spec)}${context()}`);
  }
  for (const spec of x.noLogs ?? []) {
    const found = findLogs(run, spec);
    assert.equal(found.length, 0, `${where}: unexpected log matching ${JSON.stringify(spec)}${context()}`);
  }
  if (x.inOrder) {
    const texts = run.effects.flatMap((r) => (r.effect.type === 'log' && r.node === node ? [r.effect.message.text] : []));
    let from = 0;
    for (const want of x.inOrder) {
      const i = texts.findIndex((t, k) => k >= from && t.includes(want));
      assert.ok(i >= 0, `${where}: log ${JSON.stringify(want)} in order after line ${from}${context()}`);
      from = i + 1;
    }
  }
}

for (const file of files) {
  const sc = parse(readFileSync(join(dir, file), 'utf8')) as Scenario;
  test(`${file}: ${sc.description}`, () => {
    const run = new ScenarioRun(sc);
    run.run((x) => checkExpectation(run, sc, x));
    assert.deepEqual(run.problems, [], `invariant violations:\n${run.problems.join('\n')}\nrecent log:\n${logLines(run)}`);
    // The same inputs give the same effects: the core is deterministic.
    const again = new ScenarioRun(sc);
    again.run(() => {});
    assert.equal(canonical(again.effects), canonical(run.effects), 'a second run produced different effects');
  });
}

test('scenario files exist', () => {
  assert.ok(files.length >= 20, `expected at least 20 scenario files, found ${files.length}`);
});
