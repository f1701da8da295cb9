// Seeds of the randomised tests: fixed by default so a run is reproducible,
// taken from the environment to replay a failure or explore new inputs, and
// one derived from the commit so CI tries a new seed on every change.
import { execFileSync } from 'node:child_process';

/** FAILOVER_TEST_SEED when set (a whole number), else the test's fixed default. */
export function seedFromEnv(fixedDefault: number): number {
  const raw = process.env.FAILOVER_TEST_SEED;
  if (raw === undefined || raw === '') return fixedDefault;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`FAILOVER_TEST_SEED must be a whole number >= 0, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * A seed that changes with every commit (the first 8 hex digits of HEAD, in
 * 1..2^31), or FAILOVER_TEST_SEED when set; where: the commit it came from, for
 * the test's name, so a failure can be replayed with FAILOVER_TEST_SEED=<seed>.
 */
export function rotatingSeed(fallback: number): { seed: number; where: string } {
  if (process.env.FAILOVER_TEST_SEED) return { seed: seedFromEnv(fallback), where: 'FAILOVER_TEST_SEED' };
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { seed: (Number.parseInt(head.slice(0, 8), 16) % 0x7fffffff) + 1, where: `commit ${head.slice(0, 12)}` };
  } catch {
    return { seed: fallback, where: 'no git checkout: the fixed fallback' };
  }
}
