// The CLI's exit codes: one per error class, so scripts can tell "not found"
// from "refused" from "cannot reach the cluster" without parsing messages.
import { errorClassOf, type ErrorClass } from '../api/error-classes.ts';

export const exitCodes = {
  ok: 0,
  /** The operation ran and failed (a resource failed, a move ended in failure). */
  failed: 1,
  /** Bad usage or input: unknown option, bad name, wrong property type, bad dependency expression, bad YAML. */
  badInput: 2,
  /** The object named does not exist. */
  notFound: 3,
  /** Refused in the current state: exists already, group moving (5908), resource online, node paused, ... */
  refused: 4,
  /** The cluster cannot be reached, or the token is missing or not allowed to do this. */
  unreachable: 5,
  /** A deadline passed before the operation ended. */
  timedOut: 6,
} as const;

const byClass: Readonly<Record<ErrorClass, number>> = {
  failed: exitCodes.failed,
  badInput: exitCodes.badInput,
  notFound: exitCodes.notFound,
  conflict: exitCodes.refused,
  denied: exitCodes.unreachable,
  unavailable: exitCodes.unreachable,
  timeout: exitCodes.timedOut,
};

export function exitCodeOf(error: { code: number; name?: string }): number {
  return byClass[errorClassOf(error)];
}

export const exitCodesHelp = `Exit codes:
  0  ok
  1  the operation ran and failed (e.g. a resource failed, a move ended in failure)
  2  bad usage or input (unknown option, invalid name, wrong property type, bad YAML)
  3  not found (no such node, group, resource, type or key)
  4  refused in the current state (already exists, group moving 5908, resource online, ...)
  5  cannot reach the cluster, or the token is missing or not allowed (401/403)
  6  timed out (the operation or --timeout ended first)`;
