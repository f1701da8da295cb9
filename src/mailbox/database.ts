// A mounted mailbox database: the active copy of a durable message store.
//
// Messages are log records (see log-format.ts); the index (index-state.ts)
// says where each mailbox's messages are. A delivery is acknowledged only
// after its record is fsynced to the local log and to every passive copy's
// log (continuous replication, replication.ts). Deliveries are group-committed:
// whatever arrives while one batch is written goes into the next, so one
// fsync serves many messages. A message whose (mailbox, Message-ID) is stored
// already is acknowledged without storing it again, so a sender retrying
// after a lost reply does not create a copy.
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { Clock, TimerHandle } from '../model/clock.ts';
import { FencedDirectory, type FencedAppender } from './fenced-directory.ts';
import { INDEX_FILE, loadIndex, type MailboxIndex, type MessageEntry } from './index-state.ts';
import { encodeFrame, generationFileName, generationPath, LOG_DIR, scanLog, type LogRecordHeader, type LogScan } from './log-format.ts';
import { defaultMailboxLimits, type MailboxLimits } from './limits.ts';
import { catchUpCopy, markCopy, replayCopy, reseedCopy, reseedRequested } from './replication.ts';

/** Appends frames to one copy's log, one generation file at a time. */
class LogWriter {
  private appender: FencedAppender | undefined;
  private generation = 0;

  constructor(readonly fence: FencedDirectory) {}

  async append(generation: number, bytes: Buffer): Promise<void> {
    if (generation !== this.generation || !this.appender) {
      await this.appender?.close();
      this.appender = undefined;
      this.appender = await this.fence.openAppender(join(LOG_DIR, generationFileName(generation)));
      this.generation = generation;
    }
    await this.appender.append(bytes);
  }

  async close(): Promise<void> {
    await this.appender?.close();
    this.appender = undefined;
  }
}

export interface Replica {
  readonly node: string;
  readonly fence: FencedDirectory;
}

interface ReplicaState {
  readonly node: string;
  readonly fence: FencedDirectory;
  readonly writer: LogWriter;
  failed?: string;
}

export interface IncomingMessage {
  readonly mailbox: string;
  readonly raw: Buffer;
  readonly messageId?: string;
  readonly from?: string;
  readonly subject?: string;
}

export interface DeliveryResult {
  readonly id: string;
  /** The message was stored already (same mailbox and Message-ID): not stored again. */
  readonly duplicate: boolean;
}

export interface MessageSummary {
  readonly id: string;
  readonly mailbox: string;
  readonly messageId?: string;
  readonly from?: string;
  readonly subject?: string;
  readonly receivedAt: number;
  readonly size: number;
}

interface PendingWrite {
  /** For a put the id is assigned at commit (it is derived from the LSN). */
  readonly header: Omit<LogRecordHeader, 'lsn' | 'epoch' | 'id'> & { readonly id?: string };
  readonly payload: Buffer;
  readonly resolve: (id: string) => void;
  readonly reject: (e: unknown) => void;
}

export interface MountOptions {
  /** Name used in messages and the log (the resource name). */
  readonly name: string;
  /** The active copy's directory, taken for this owner. */
  readonly local: FencedDirectory;
  /** Passive copies (CCR), taken for this owner; none for a single-copy database. */
  readonly replicas?: readonly Replica[];
  /** The group's ownership epoch, written into every record. */
  readonly epoch: number;
  readonly clock: Clock;
  readonly limits?: Partial<MailboxLimits>;
  readonly log?: (message: string) => void;
}

export interface MountReport {
  /** Records replayed into the index at mount (beyond its checkpoint). */
  readonly replayed: number;
  readonly lastLsn: number;
  readonly copies: Array<{ node: string; outcome: 'caught-up' | 'reseeded' | 'failed'; reason?: string }>;
}

function summaryOf(e: MessageEntry): MessageSummary {
  return {
    id: e.id,
    mailbox: e.mailbox,
    ...(e.messageId !== undefined ? { messageId: e.messageId } : {}),
    ...(e.from !== undefined ? { from: e.from } : {}),
    ...(e.subject !== undefined ? { subject: e.subject } : {}),
    receivedAt: e.receivedAt,
    size: e.size,
  };
}

export function normaliseMailbox(name: string): string {
  return name.trim().toLowerCase();
}

export class MailboxDatabase {
  readonly limits: MailboxLimits;
  readonly mountReport: MountReport;
  private readonly writer: LogWriter;
  private readonly replicas: ReplicaState[];
  private queue: PendingWrite[] = [];
  /** (mailbox, Message-ID) of deliveries queued or being written, with their outcome. */
  private readonly inFlight = new Map<string, Promise<DeliveryResult>>();
  private flushing: Promise<void> | undefined;
  /** Serialises the commit loop with reseeds (both write copies' logs). */
  private exclusive: Promise<void> = Promise.resolve();
  private nextLsn: number;
  private generation: number;
  private generationBytes: number;
  private state: 'mounted' | 'dismounting' | 'dismounted' | 'failed' = 'mounted';
  private failure: ClusterError | undefined;
  private replayTimer: TimerHandle | undefined;
  private replaying = false;

  private constructor(
    private readonly options: MountOptions,
    private readonly index: MailboxIndex,
    scan: LogScan,
    report: MountReport,
  ) {
    this.limits = { ...defaultMailboxLimits, ...options.limits };
    this.writer = new LogWriter(options.local);
    this.replicas = (options.replicas ?? []).map((r) => ({ node: r.node, fence: r.fence, writer: new LogWriter(r.fence) }));
    for (const c of report.copies) {
      const r = this.replicas.find((x) => x.node === c.node);
      if (r && c.outcome === 'failed') r.failed = c.reason ?? 'catch-up failed';
    }
    this.nextLsn = scan.lastLsn + 1;
    const last = scan.generations.at(-1);
    this.generation = last?.generation ?? 1;
    this.generationBytes = last?.validBytes ?? 0;
    this.mountReport = report;
    this.scheduleReplay();
  }

  /**
   * Mounts the active copy: cuts a torn tail off its log, replays the log into
   * the index (from its checkpoint), then brings every passive copy level with
   * it. A copy that cannot be brought level is marked Failed; the database
   * mounts anyway (its status shows the copy Failed until a reseed).
   */
  static async mount(options: MountOptions): Promise<MailboxDatabase> {
    const local = options.local;
    await local.mkdir(LOG_DIR);
    let scan = await scanLog(local.root);
    const torn = scan.generations.find((g) => g.validBytes < g.fileBytes);
    if (torn) {
      options.log?.(`log generation ${generationFileName(torn.generation)} has a torn tail at byte ${torn.validBytes} (an unacknowledged write); cut off`);
      const fh = await open(generationPath(local.root, torn.generation), 'r+');
      try {
        await local.check();
        await fh.truncate(torn.validBytes);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      for (const g of scan.generations) if (g.generation > torn.generation) await rm(generationPath(local.root, g.generation), { force: true });
      scan = await scanLog(local.root);
    }
    const { index, replayed } = await loadIndex(local.root, scan.records);
    const copies: MountReport['copies'] = [];
    for (const r of options.replicas ?? []) {
      try {
        copies.push({ node: r.node, outcome: await catchUpCopy(local.root, scan, r.fence, options.clock.now()) });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        copies.push({ node: r.node, outcome: 'failed', reason });
        await markCopy(r.fence, { state: 'Failed', reason, at: options.clock.now() }).catch(() => undefined);
      }
    }
    return new MailboxDatabase(options, index, scan, { replayed, lastLsn: scan.lastLsn, copies });
  }

  get name(): string {
    return this.options.name;
  }

  get mounted(): boolean {
    return this.state === 'mounted';
  }

  /** Why the database stopped (a write failed, e.g. its fence was taken), if it did. */
  get failedWith(): ClusterError | undefined {
    return this.failure;
  }

  get lastLsn(): number {
    return this.nextLsn - 1;
  }

  status(): { name: string; mounted: boolean; lastLsn: number; generation: string; messages: number; copies: Array<{ node: string; failed?: string }> } {
    return {
      name: this.name,
      mounted: this.mounted,
      lastLsn: this.lastLsn,
      generation: generationFileName(this.generation),
      messages: this.index.messageCount(),
      copies: this.replicas.map((r) => ({ node: r.node, ...(r.failed ? { failed: r.failed } : {}) })),
    };
  }

  private notMounted(what: string): ClusterError {
    if (this.failure) return new ClusterError('ERROR_NOT_READY', `${this.name}: ${what}: the database failed: ${this.failure.message}`);
    return new ClusterError('ERROR_NOT_READY', `${this.name}: ${what}: the database is not mounted`);
  }

  /** Stores a message durably (local log and every healthy copy) and resolves only then. */
  deliver(message: IncomingMessage): Promise<DeliveryResult> {
    if (!this.mounted) return Promise.reject(this.notMounted('deliver'));
    const mailbox = normaliseMailbox(message.mailbox);
    if (message.messageId !== undefined) {
      const stored = this.index.duplicateOf(mailbox, message.messageId);
      if (stored !== undefined) return Promise.resolve({ id: stored, duplicate: true });
      const key = `${mailbox}\0${message.messageId}`;
      const pending = this.inFlight.get(key);
      if (pending) return pending.then((r) => ({ id: r.id, duplicate: true }));
      const p = this.write({ op: 'put', mailbox, messageId: message.messageId, ...optional(message) }, message.raw);
      this.inFlight.set(key, p);
      void p.finally(() => this.inFlight.delete(key)).catch(() => undefined);
      return p;
    }
    return this.write({ op: 'put', mailbox, ...optional(message) }, message.raw);
  }

  /** Deletes a message; false if the mailbox has no such message. */
  async delete(mailbox: string, id: string): Promise<boolean> {
    if (!this.mounted) throw this.notMounted('delete');
    const box = normaliseMailbox(mailbox);
    if (!this.index.get(box, id)) return false;
    await this.write({ op: 'delete', mailbox: box, id }, Buffer.alloc(0));
    return true;
  }

  list(mailbox: string, offset: number, limit: number): { total: number; messages: MessageSummary[] } {
    if (!this.mounted) throw this.notMounted('list');
    const page = this.index.page(normaliseMailbox(mailbox), offset, limit);
    return { total: page.total, messages: page.entries.map(summaryOf) };
  }

  mailboxes(): Array<{ mailbox: string; count: number }> {
    if (!this.mounted) throw this.notMounted('list mailboxes');
    return this.index.mailboxCounts();
  }

  async read(mailbox: string, id: string): Promise<{ summary: MessageSummary; raw: Buffer } | undefined> {
    if (!this.mounted) throw this.notMounted('read');
    const e = this.index.get(normaliseMailbox(mailbox), id);
    if (!e) return undefined;
    const fh = await open(generationPath(this.options.local.root, e.generation), 'r');
    try {
      const raw = Buffer.allocUnsafe(e.size);
      await fh.read(raw, 0, e.size, e.payloadOffset);
      return { summary: summaryOf(e), raw };
    } finally {
      await fh.close();
    }
  }

  /**
   * Dismounts cleanly: stops taking deliveries, lets the batches already queued
   * commit, checkpoints the index and releases the copies' directories.
   */
  async dismount(): Promise<void> {
    if (this.state !== 'mounted' && this.state !== 'failed') return;
    const failed = this.state === 'failed';
    this.state = 'dismounting';
    this.stopReplay();
    await this.flushing;
    await this.exclusive;
    try {
      if (!failed) await this.options.local.writeFile(INDEX_FILE, this.index.toCheckpoint());
    } finally {
      await this.closeWriters();
      this.state = 'dismounted';
      for (const fence of [this.options.local, ...this.replicas.map((r) => r.fence)]) await fence.release().catch(() => fence.close());
    }
  }

  /** Stops at once (terminate, crash): queued deliveries fail, nothing more is written; directories are not released. */
  abort(reason: string): void {
    if (this.state === 'dismounted') return;
    this.state = 'dismounted';
    this.stopReplay();
    this.options.local.close();
    for (const r of this.replicas) r.fence.close();
    const err = new ClusterError('ERROR_NOT_READY', `${this.name}: ${reason}`);
    for (const w of this.queue.splice(0)) w.reject(err);
    void this.closeWriters();
  }

  // ---- commit ----

  private write(header: PendingWrite['header'], payload: Buffer): Promise<DeliveryResult> {
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ header: { ...header, receivedAt: header.receivedAt ?? this.options.clock.now() }, payload, resolve, reject });
      this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
    }).then((id) => ({ id, duplicate: false }));
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && this.state !== 'dismounted') {
      const batch = this.queue.splice(0, this.limits.commitBatchMessagesMax);
      await this.serially(() => this.commit(batch));
    }
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(fn);
    this.exclusive = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    if (this.state === 'dismounted') {
      const err = this.notMounted('commit');
      for (const w of batch) w.reject(err);
      return;
    }
    const frames: Buffer[] = [];
    const headers: LogRecordHeader[] = [];
    for (const w of batch) {
      const lsn = this.nextLsn++;
      const header: LogRecordHeader = { ...w.header, lsn, epoch: this.options.epoch, id: w.header.op === 'put' ? messageIdFor(lsn) : (w.header.id ?? '') };
      headers.push(header);
      frames.push(encodeFrame({ header, payload: w.payload }));
    }
    const bytes = Buffer.concat(frames);
    if (this.generationBytes > 0 && this.generationBytes + bytes.length > this.limits.logGenerationBytesMax) {
      this.generation++;
      this.generationBytes = 0;
    }
    const generation = this.generation;
    const startOffset = this.generationBytes;
    const healthy = this.replicas.filter((r) => !r.failed);
    const [local, ...copies] = await Promise.allSettled([this.writer.append(generation, bytes), ...healthy.map((r) => r.writer.append(generation, bytes))]);
    if (local!.status === 'rejected') {
      const e = local!.reason as unknown;
      this.failure = isClusterError(e) ? e : new ClusterError('ERROR_WRITE_FAULT', `${this.name}: log write failed: ${e instanceof Error ? e.message : String(e)}`);
      this.options.log?.(`log write failed; the database stops: ${this.failure.message}`);
      this.state = 'failed';
      this.stopReplay();
      for (const w of [...batch, ...this.queue.splice(0)]) w.reject(this.failure);
      return;
    }
    for (const [i, r] of copies.entries()) {
      if (r.status === 'fulfilled') continue;
      const replica = healthy[i]!;
      replica.failed = r.reason instanceof Error ? r.reason.message : String(r.reason);
      this.options.log?.(`shipping to the copy on node ${replica.node} failed; the copy is Failed until reseeded: ${replica.failed}`);
      await markCopy(replica.fence, { state: 'Failed', reason: replica.failed, at: this.options.clock.now() }).catch(() => undefined);
    }
    this.generationBytes += bytes.length;
    let offset = startOffset;
    for (const [i, header] of headers.entries()) {
      const frame = frames[i]!;
      const headerLength = frame.readUInt32LE(8);
      const payloadOffset = offset + 8 + 4 + headerLength;
      this.index.apply({ header, position: { generation, offset, length: frame.length }, payloadOffset, payloadLength: frame.length - (payloadOffset - offset) });
      offset += frame.length;
    }
    for (const [i, w] of batch.entries()) w.resolve(headers[i]!.id);
  }

  // ---- passive copies ----

  private scheduleReplay(): void {
    if (this.replicas.length === 0 || this.state !== 'mounted') return;
    this.replayTimer = this.options.clock.setTimer(this.limits.copyReplayIntervalMs, () => void this.replayTick());
  }

  private stopReplay(): void {
    if (this.replayTimer) this.options.clock.clearTimer(this.replayTimer);
    this.replayTimer = undefined;
  }

  /** Replays what each healthy copy received, and carries out requested reseeds. */
  private async replayTick(): Promise<void> {
    this.replayTimer = undefined;
    if (this.replaying || this.state !== 'mounted') return;
    this.replaying = true;
    try {
      for (const r of this.replicas) {
        if (this.state !== 'mounted') break;
        try {
          if (await reseedRequested(r.fence.root)) await this.reseed(r);
          else if (!r.failed) await replayCopy(r.fence);
        } catch (e) {
          this.options.log?.(`replay/reseed of the copy on node ${r.node} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    } finally {
      this.replaying = false;
      this.scheduleReplay();
    }
  }

  /** Rebuilds a passive copy from this one while no commit runs. */
  private reseed(r: ReplicaState): Promise<void> {
    return this.serially(async () => {
      if (this.state !== 'mounted') return;
      this.options.log?.(`reseeding the copy on node ${r.node}`);
      await r.writer.close();
      const scan = await scanLog(this.options.local.root);
      await reseedCopy(this.options.local.root, scan, r.fence, this.options.clock.now());
      delete r.failed;
      this.options.log?.(`the copy on node ${r.node} was reseeded up to LSN ${scan.lastLsn}`);
    });
  }

  private async closeWriters(): Promise<void> {
    await this.writer.close();
    for (const r of this.replicas) await r.writer.close();
  }
}

function optional(m: IncomingMessage): Partial<Pick<LogRecordHeader, 'from' | 'subject'>> {
  return { ...(m.from !== undefined ? { from: m.from } : {}), ...(m.subject !== undefined ? { subject: m.subject } : {}) };
}

export function messageIdFor(lsn: number): string {
  return `m${lsn}`;
}

