// Kill -9 at random moments: a child process writes to the on-disk store and
// reports each acknowledged write; the parent kills it, reopens the store, and
// checks that every acknowledged write is there and nothing half-written is.
// Many iterations run on the same data directory, so recovery from one crash is
// itself tested by the next (snapshots happen along the way, too).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { cpuHogsFor } from '../support/load.ts';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { CRASH_KEY_PREFIX, crashKey, crashValueIsWhole } from './crash-values.ts';

const ITERATIONS = 50;
/** Acks to wait for before the kill is armed: 1 up to this many. */
const ACKS_BEFORE_KILL_MAX = 120;
/** After the chosen ack, the kill comes at once or after up to this many ms, so it lands mid-write. */
const KILL_DELAY_MS_MAX = 15;
/** Small, so the log is snapshotted and restarted several times during the run. */
const SNAPSHOT_THRESHOLD_BYTES = 256 * 1024;
/** A writer starts (tsx compiles it) and reaches its acks within this, even on a starved machine. */
const CHILD_TIMEOUT_MS = 60_000;
/** Per kill: a writer's start and run and a reopen of the store take 1-3 s idle, several times that under load. */
const TIMEOUT_MS_PER_ITERATION = 10_000;
/** Kills of the run under CPU hogs (4 busy processes per core): few in `npm test` to bound its time. */
const HOG_ITERATIONS = Number(process.env.FAILOVER_CRASH_HOG_KILLS ?? 5);

const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.ts');

interface RunResult {
  readonly acked: Map<string, number>;
  readonly killedAfterAcks: number;
}

/** Runs the writer until `acksBeforeKill` acks arrived (plus a random delay), then kills it with SIGKILL. */
function runAndKill(dir: string, acksBeforeKill: number, killDelayMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(SNAPSHOT_THRESHOLD_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let buffered = '';
    let stderr = '';
    let killArmed = false;
    let killedAfterAcks = 0;
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not reach ${acksBeforeKill} acks in ${CHILD_TIMEOUT_MS} ms (had ${acked.size}); stderr: ${stderr}`));
    }, CHILD_TIMEOUT_MS);
    const kill = () => {
      killedAfterAcks = acked.size;
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a partial line is not an ack yet
      for (const line of lines) {
        const [word, key, revision] = line.split(' ');
        if (word === 'ack' && key) acked.set(key, Number(revision));
      }
      if (!killArmed && acked.size >= acksBeforeKill) {
        killArmed = true;
        if (killDelayMs === 0) kill();
        else setTimeout(kill, killDelayMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}, signal ${signal}); stderr: ${stderr}`));
      else resolve({ acked, killedAfterAcks });
    });
  });
}

it(`every acknowledged write survives kill -9 (${ITERATIONS} kills on one data directory)`, { timeout: ITERATIONS * TIMEOUT_MS_PER_ITERATION }, async () => {
  await killAndCheck(ITERATIONS);
});

it(`under CPU hogs (4 per core), every acknowledged write survives kill -9 (${HOG_ITERATIONS} kills)`, { timeout: HOG_ITERATIONS * TIMEOUT_MS_PER_ITERATION }, async (t) => {
  cpuHogsFor(t, { maxMs: HOG_ITERATIONS * TIMEOUT_MS_PER_ITERATION });
  await killAndCheck(HOG_ITERATIONS);
});

async function killAndCheck(iterations: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  try {
    const allAcked = new Map<string, number>();
    let totalAcks = 0;
    for (let iteration = 0; iteration < iterations; iteration++) {
      const acksBeforeKill = 1 + Math.floor(Math.random() * ACKS_BEFORE_KILL_MAX);
      const killDelayMs = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * KILL_DELAY_MS_MAX);
      const { acked } = await runAndKill(dir, acksBeforeKill, killDelayMs);
      assert.ok(acked.size >= acksBeforeKill, `iteration ${iteration}: ${acked.size} acks before the kill`);
      totalAcks += acked.size;
      for (const [k, r] of acked) allAcked.set(k, r);

      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      try {
        const { kvs, revision } = await store.range(CRASH_KEY_PREFIX);
        const present = new Map(kvs.map((kv) => [kv.key, kv.value]));
        for (const [key, ackedRevision] of allAcked) {
          const value = present.get(key);
          assert.ok(value !== undefined, `iteration ${iteration}: acknowledged ${key} (revision ${ackedRevision}) is missing`);
          assert.ok(revision >= ackedRevision, `iteration ${iteration}: store revision ${revision} is behind acknowledged ${ackedRevision}`);
        }
        for (const [key, value] of present) {
          assert.ok(crashValueIsWhole(key, value), `iteration ${iteration}: value of ${key} is not whole`);
          // A two-key transaction survives as a whole or not at all.
          const index = Number(key.slice(CRASH_KEY_PREFIX.length).split('/')[0]);
          if (index % 5 === 4) {
            const base = crashKey(index);
            assert.equal(present.has(base), present.has(`${base}/pair`), `iteration ${iteration}: transaction ${base} is half there`);
          }
        }
      } finally {
        await store.close();
      }
    }
    assert.ok(totalAcks >= iterations, `${totalAcks} acknowledged writes checked`);
    if (iterations >= ITERATIONS) assert.ok(fs.existsSync(path.join(dir, 'snapshot')), 'snapshots were taken along the way');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
