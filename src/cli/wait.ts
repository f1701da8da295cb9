// Waiting for a long operation (online, offline, move, drain, reset) with
// progress: one line per change — move phase, resource and group states — so
// it reads well in a terminal and in a log file. The wait ends when the
// operation ends (each has its own deadline) or when --timeout passes.
import { ClusterError } from '../model/errors.ts';
import type { ClusterApi, ClusterEvent, OperationView } from '../api/types.ts';
import type { Ctx } from './kit.ts';
import { exitCodeOf, exitCodes } from './exit-codes.ts';

export const waitLimits = {
  /** How often the operation is re-read (events also trigger a re-read). */
  operationPollIntervalMs: 250,
  /** Default bound of a wait when --timeout is not given; operations end by their own deadlines well before. */
  waitTimeoutMsDefault: 15 * 60_000,
} as const;

export interface WaitOptions {
  /** The group whose events show the progress; empty: every group's (a drain). */
  readonly group: string;
  readonly timeoutMs: number;
  readonly wait: boolean;
}

/** withDeadline: a move line also says when the move's deadline is. */
function describeEvent(e: ClusterEvent, withDeadline: boolean): string | undefined {
  switch (e.type) {
    case 'move': {
      const deadline = withDeadline ? `, deadline in ${seconds(e.move.deadlineAt - e.move.startedAt)}` : '';
      return `  move     ${e.move.group}: ${e.move.phase}${e.move.phase === 'ended' ? ` (${e.move.outcome ?? 'done'})` : ''}  ${e.move.from || '(none)'} -> ${e.move.to}${deadline}`;
    }
    case 'resourceState':
      return `  resource ${e.resource}: ${e.state}${e.node ? ` on ${e.node}` : ''}`;
    case 'groupState':
      return `  group    ${e.group}: ${e.state}${e.owner ? ` on ${e.owner}` : ''}`;
    case 'reconnect':
      return '  (events were lost; reading the state again)';
    default:
      return undefined;
  }
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function describeOutcome(op: OperationView, elapsedMs: number): string {
  const took = seconds(elapsedMs);
  if (op.ok) {
    const where = op.move ? ` (${op.move.from || '(none)'} -> ${op.move.to})` : '';
    return `${op.kind} ${op.target}: done in ${took}${where}`;
  }
  const e = op.error;
  return `${op.kind} ${op.target}: failed after ${took}: ${e ? `${e.message} [${e.name} ${e.code}]` : 'no reason given'}`;
}

/**
 * Starts an operation and follows it to its end, printing progress; sets the exit
 * code from the outcome. The event subscription is opened before the operation
 * starts, so its first transitions are shown too.
 */
export async function followOperation(ctx: Ctx, api: ClusterApi, start: () => Promise<OperationView>, options: WaitOptions): Promise<OperationView> {
  if (!options.wait) {
    const started = await start();
    if (ctx.json) ctx.emitJson(started);
    else ctx.say(started.done ? describeOutcome(started, 0) : `${started.kind} ${started.target}: started (operation ${started.id}); not waiting`);
    if (started.done && started.ok === false) ctx.fail(started.error ? exitCodeOf(started.error) : exitCodes.failed);
    return started;
  }
  const clock = ctx.deps.clock;
  const t0 = clock.now();
  const deadline = t0 + options.timeoutMs;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // A move's deadline is set when its source starts it (again for the way back), which may be after the
  // operation's first line: it is shown once known, and again whenever it changes.
  const deadlinesShown = new Map<string, number>();
  const show = (e: ClusterEvent): void => {
    const withDeadline = e.type === 'move' && e.move.deadlineAt !== deadlinesShown.get(e.move.moveId);
    if (e.type === 'move') deadlinesShown.set(e.move.moveId, e.move.deadlineAt);
    const line = describeEvent(e, withDeadline);
    if (line) ctx.progress(line);
  };
  // Events that arrive before the operation's first line are held back, so the output reads in order.
  let held: ClusterEvent[] | undefined = [];
  const sub = await api
    .subscribe({ ...(options.group ? { group: options.group } : {}), types: ['resourceState', 'groupState', 'move'] }, (e) => {
      if (held) held.push(e);
      else show(e);
      poke();
    })
    .catch(() => undefined); // progress is a nicety: without events the wait still polls
  let op: OperationView;
  try {
    op = await start();
    if (op.move) deadlinesShown.set(op.move.moveId, op.move.deadlineAt);
    ctx.progress(`${op.kind} ${op.target}: started (operation ${op.id})${op.move ? `, deadline in ${seconds(op.move.deadlineAt - op.move.startedAt)}` : ''}`);
    for (const e of held) show(e);
    held = undefined;
    while (!op.done) {
      const left = deadline - clock.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = clock.setTimer(Math.min(waitLimits.operationPollIntervalMs, left), () => poke());
        wake = () => {
          clock.clearTimer(timer);
          resolve();
        };
      });
      op = await api.getOperation(op.id);
    }
  } finally {
    sub?.close();
    held = undefined;
  }
  const elapsed = clock.now() - t0;
  if (!op.done) {
    const msg = `${op.kind} ${op.target}: still running after ${(elapsed / 1000).toFixed(1)} s (--timeout); operation ${op.id} goes on and ends by its own deadline`;
    if (ctx.json) ctx.emitJson(op);
    else ctx.say(msg);
    ctx.deps.io.err(`failover: ${new ClusterError('WAIT_TIMEOUT', msg).message}\n`);
    ctx.fail(exitCodes.timedOut);
    return op;
  }
  if (ctx.json) ctx.emitJson(op);
  else ctx.say(describeOutcome(op, elapsed));
  if (!op.ok) ctx.fail(op.error ? exitCodeOf(op.error) : exitCodes.failed);
  return op;
}
