// Every known-issue rule, in the order findings are reported.
import type { Rule } from '../types.ts';
import { resourceDeadlock } from './deadlock.ts';
import { kb2893882 } from './kb2893882.ts';
import { leaseTimeout } from './lease.ts';
import { nodeDown, quorumLost, witnessFailed } from './membership.ts';
import { moveFailedOpen } from './move-failed-open.ts';
import { cannotHost } from './placement.ts';
import { failoverThreshold, restartThreshold } from './thresholds.ts';

export const knownIssueRules: readonly Rule[] = [
  kb2893882,
  moveFailedOpen,
  resourceDeadlock,
  restartThreshold,
  failoverThreshold,
  cannotHost,
  quorumLost,
  witnessFailed,
  nodeDown,
  leaseTimeout,
];

export { cannotHost, failoverThreshold, kb2893882, leaseTimeout, moveFailedOpen, nodeDown, quorumLost, resourceDeadlock, restartThreshold, witnessFailed };
