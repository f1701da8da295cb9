// A 500-group cluster end to end, as a user builds it: `failover up` as its own
// process, `failover apply` of 500 groups x 5 resources, everything online, a
// drain, a restart. It guards the data path: with full reads of the cluster on
// every operation this size never finishes applying. The bounds are generous
// (shared, loaded machines); the benchmark prints the real figures at 2,000.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runScale } from '../../bench/scale-run.ts';

/** Far above what the incremental data path needs here, far below what full reads take. */
const APPLY_AND_ONLINE_BOUND_MS = 10 * 60_000;

test('500 groups x 5 resources: apply, all online, drain with anti-affinity spread, restart with every group back online', { timeout: 40 * 60_000 }, async () => {
  const f = await runScale({ groups: 500, throughputMs: 2_000, log: (line) => console.log(`# ${line}`) });
  assert.ok(f.applyMs + f.onlineAfterApplyMs < APPLY_AND_ONLINE_BOUND_MS, `apply ${f.applyMs} ms + online ${f.onlineAfterApplyMs} ms`);
  assert.equal(f.mutationErrors, 0, 'no configuration change refused under 8 concurrent clients');
  assert.equal(f.drainAntiAffinityViolations, 0, 'anti-affinity classes spread over the remaining nodes');
  assert.equal(f.leaseLosses, 0, 'no node lost its lease');
});
