// Operation results (results/<opId>): their deadlines and their retention.
// Every operation ends by its deadline whoever is up: the coordinator's sweep
// ends overdue ones, and so does any API server that reads one, so a client
// learns of the timeout even while no node runs. An ended result stays for
// opResultRetentionMs, then the coordinator deletes it.
import type { Clock } from '../model/clock.ts';
import { clusterError, type ClusterErrorValue } from '../model/errors.ts';
import type { KeyValue, Store, Watcher } from '../store/store.ts';
import { keys } from './keys.ts';
import type { AgentLimits } from './limits.ts';
import { decodeObject, encode } from './records.ts';

/**
 * An operation not ended by its deadline has ended with ERROR_TIMEOUT, whoever
 * notices first: the coordinator's sweep, or any API server reading it (so a
 * client learns it even while no node is up). Returns the ended record, or
 * undefined if the operation has ended or its deadline lies ahead.
 * fallbackDeadlineMs: the deadline, from requestedAt, of a record that does not carry one.
 */
export type EndedRecord = Record<string, unknown> & { readonly error: ClusterErrorValue };

export function endedAtDeadline(raw: Record<string, unknown>, now: number, fallbackDeadlineMs: number): EndedRecord | undefined {
  // A drain has no deadline of its own: it ends when the moves it started have ended.
  if (raw.done !== false || typeof raw.opId !== 'string' || raw.kind === 'drainNode') return undefined;
  const deadlineAt = typeof raw.deadlineAt === 'number' ? raw.deadlineAt : typeof raw.requestedAt === 'number' ? raw.requestedAt + fallbackDeadlineMs : undefined;
  if (deadlineAt === undefined || now < deadlineAt) return undefined;
  const node = typeof raw.node === 'string' ? raw.node : undefined;
  const within = typeof raw.requestedAt === 'number' ? ` within ${deadlineAt - raw.requestedAt} ms` : ' by its deadline';
  const error = clusterError(
    'ERROR_TIMEOUT',
    `operation ${raw.opId} (${String(raw.kind)} of ${String(raw.target)}) did not end${within}${node ? `: node ${node}, which had it, went down or could not record its outcome` : ''}`,
  );
  return { ...raw, done: true, ok: false, error };
}

/**
 * Ends an overdue operation in the store (compare-and-swap on its record, so an
 * outcome written meanwhile stands) and removes its request. Returns the ended
 * record if this call ended it.
 */
export async function endOverdueOperation(store: Store, kv: KeyValue, raw: Record<string, unknown>, now: number, fallbackDeadlineMs: number): Promise<EndedRecord | undefined> {
  const ended = endedAtDeadline(raw, now, fallbackDeadlineMs);
  if (!ended) return undefined;
  const node = typeof ended.node === 'string' ? ended.node : undefined;
  const r = await store.txn({
    compare: [{ key: kv.key, target: 'modRevision', op: '==', value: kv.modRevision }],
    success: [{ type: 'put', key: kv.key, value: encode(ended) }, ...(node ? [{ type: 'delete' as const, key: keys.op(node, String(ended.opId)) }] : [])],
  });
  return r.succeeded ? ended : undefined;
}

interface Tracked {
  readonly kv: KeyValue;
  readonly raw: Record<string, unknown>;
  /** When something is to be done about it: end it (past its deadline) or delete it (past its retention). */
  readonly dueAt: number;
}

/**
 * The coordinator's index of operation results, fed by a watch on results/:
 * each sweep acts on the results that are due (end an overdue operation,
 * delete a result past its retention) without reading the others from the
 * store. Retention counts from when the index saw the result ended (a new
 * coordinator counts afresh, so a result may stay up to twice as long).
 */
export class OperationResults {
  private readonly tracked = new Map<string, Tracked>();
  private watcher: Watcher | undefined;
  private stale = true;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly limits: Pick<AgentLimits, 'operationEndDeadlineMs' | 'opResultRetentionMs'>,
  ) {}

  /** Results being tracked (for tests and diagnostics). */
  get size(): number {
    return this.tracked.size;
  }

  close(): void {
    this.closed = true;
    void this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }

  /** Ends the operations past their deadline and deletes the results past their retention; returns the ended ones. */
  async sweep(): Promise<EndedRecord[]> {
    if (this.stale) await this.load();
    const now = this.clock.now();
    const ended: EndedRecord[] = [];
    for (const [key, t] of [...this.tracked]) {
      if (t.dueAt > now || this.closed) continue;
      if (t.raw.done === true || t.raw.kind === 'drainNode') {
        const r = await this.store.txn({ compare: [{ key, target: 'modRevision', op: '==', value: t.kv.modRevision }], success: [{ type: 'delete', key }] });
        if (r.succeeded && this.tracked.get(key) === t) this.tracked.delete(key);
      } else {
        const e = await endOverdueOperation(this.store, t.kv, t.raw, now, this.limits.operationEndDeadlineMs);
        if (e) ended.push(e);
      }
    }
    return ended;
  }

  private async load(): Promise<void> {
    void this.watcher?.cancel().catch(() => undefined);
    const all = await this.store.range(keys.results);
    this.tracked.clear();
    for (const kv of all.kvs) this.absorb(kv);
    this.stale = false;
    this.watcher = await this.store.watchPrefix(
      keys.results,
      (events) => {
        for (const e of events) {
          if (e.type === 'delete') this.tracked.delete(e.kv.key);
          else this.absorb(e.kv);
        }
      },
      // Events lost (a compacted revision): read everything again at the next sweep.
      { fromRevision: all.revision + 1, onError: () => void (this.stale = true) },
    );
    if (this.closed) this.close();
  }

  private absorb(kv: KeyValue): void {
    const raw = decodeObject(kv.value);
    if (!raw) return;
    const seenAt = this.clock.now();
    const { operationEndDeadlineMs: deadlineMs, opResultRetentionMs: retentionMs } = this.limits;
    const requestedAt = typeof raw.requestedAt === 'number' ? raw.requestedAt : seenAt;
    let dueAt: number;
    if (raw.done === true) dueAt = seenAt + retentionMs;
    else if (raw.kind === 'drainNode') dueAt = requestedAt + deadlineMs + retentionMs; // its moves have ended by then
    else dueAt = typeof raw.deadlineAt === 'number' ? raw.deadlineAt : requestedAt + deadlineMs;
    this.tracked.set(kv.key, { kv, raw, dueAt });
  }
}
