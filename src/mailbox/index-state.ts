// The mailbox database's index: which messages each mailbox holds and where
// their bytes lie in the log, and the Message-IDs already stored (for
// de-duplication). It is rebuilt by replaying log records in order, and
// checkpointed to index.json so a copy's replay resumes where it stopped.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogRecordHeader, ScannedRecord } from './log-format.ts';

export const INDEX_FILE = 'index.json';

export interface MessageEntry {
  readonly id: string;
  readonly mailbox: string;
  readonly lsn: number;
  readonly messageId?: string;
  readonly receivedAt: number;
  readonly from?: string;
  readonly subject?: string;
  readonly size: number;
  readonly generation: number;
  readonly payloadOffset: number;
}

interface IndexCheckpoint {
  readonly version: 1;
  readonly lastLsn: number;
  readonly lastEpoch: number;
  readonly entries: MessageEntry[];
  readonly dedup: Array<[string, string]>;
}

export function dedupKey(mailbox: string, messageId: string): string {
  return `${mailbox}\0${messageId}`;
}

export class MailboxIndex {
  /** mailbox -> id -> entry, in delivery order. */
  private readonly mailboxes = new Map<string, Map<string, MessageEntry>>();
  /** (mailbox, Message-ID) -> id, kept after a delete so a late retry is not stored again. */
  private readonly dedup = new Map<string, string>();
  lastLsn = 0;
  lastEpoch = 0;

  /** Applies one log record; records at or below lastLsn were applied already and are skipped. */
  apply(record: ScannedRecord): void {
    const h: LogRecordHeader = record.header;
    if (h.lsn <= this.lastLsn) return;
    this.lastLsn = h.lsn;
    this.lastEpoch = h.epoch;
    if (h.op === 'put') {
      let box = this.mailboxes.get(h.mailbox);
      if (!box) this.mailboxes.set(h.mailbox, (box = new Map()));
      box.set(h.id, {
        id: h.id,
        mailbox: h.mailbox,
        lsn: h.lsn,
        ...(h.messageId !== undefined ? { messageId: h.messageId } : {}),
        receivedAt: h.receivedAt ?? 0,
        ...(h.from !== undefined ? { from: h.from } : {}),
        ...(h.subject !== undefined ? { subject: h.subject } : {}),
        size: record.payloadLength,
        generation: record.position.generation,
        payloadOffset: record.payloadOffset,
      });
      if (h.messageId !== undefined) this.dedup.set(dedupKey(h.mailbox, h.messageId), h.id);
    } else {
      this.mailboxes.get(h.mailbox)?.delete(h.id);
    }
  }

  duplicateOf(mailbox: string, messageId: string): string | undefined {
    return this.dedup.get(dedupKey(mailbox, messageId));
  }

  get(mailbox: string, id: string): MessageEntry | undefined {
    return this.mailboxes.get(mailbox)?.get(id);
  }

  /** A page of a mailbox's messages in delivery order. */
  page(mailbox: string, offset: number, limit: number): { total: number; entries: MessageEntry[] } {
    const box = this.mailboxes.get(mailbox);
    if (!box) return { total: 0, entries: [] };
    const entries: MessageEntry[] = [];
    let i = 0;
    for (const e of box.values()) {
      if (i >= offset + limit) break;
      if (i >= offset) entries.push(e);
      i++;
    }
    return { total: box.size, entries };
  }

  mailboxCounts(): Array<{ mailbox: string; count: number }> {
    return [...this.mailboxes].filter(([, box]) => box.size > 0).map(([mailbox, box]) => ({ mailbox, count: box.size })).sort((a, b) => a.mailbox.localeCompare(b.mailbox));
  }

  messageCount(): number {
    let n = 0;
    for (const box of this.mailboxes.values()) n += box.size;
    return n;
  }

  toCheckpoint(): string {
    const c: IndexCheckpoint = {
      version: 1,
      lastLsn: this.lastLsn,
      lastEpoch: this.lastEpoch,
      entries: [...this.mailboxes.values()].flatMap((box) => [...box.values()]),
      dedup: [...this.dedup],
    };
    return JSON.stringify(c);
  }

  static fromCheckpoint(text: string): MailboxIndex | undefined {
    let c: IndexCheckpoint;
    try {
      c = JSON.parse(text) as IndexCheckpoint;
    } catch {
      return undefined;
    }
    if (c.version !== 1 || !Array.isArray(c.entries) || !Array.isArray(c.dedup)) return undefined;
    const index = new MailboxIndex();
    index.lastLsn = c.lastLsn;
    index.lastEpoch = c.lastEpoch;
    for (const e of c.entries.sort((a, b) => a.lsn - b.lsn)) {
      let box = index.mailboxes.get(e.mailbox);
      if (!box) index.mailboxes.set(e.mailbox, (box = new Map()));
      box.set(e.id, e);
    }
    for (const [k, v] of c.dedup) index.dedup.set(k, v);
    return index;
  }
}

/**
 * A copy's index: its checkpoint if it matches the log (the log still holds the
 * checkpoint's last record, written at the same epoch), else empty; then every
 * record after it replayed.
 */
export async function loadIndex(copyDir: string, records: readonly ScannedRecord[]): Promise<{ index: MailboxIndex; replayed: number; checkpointLsn: number }> {
  let index: MailboxIndex | undefined;
  try {
    index = MailboxIndex.fromCheckpoint(await readFile(join(copyDir, INDEX_FILE), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (index && index.lastLsn > 0) {
    const at = records.find((r) => r.header.lsn === index!.lastLsn);
    if (!at || at.header.epoch !== index.lastEpoch) index = undefined;
  }
  index ??= new MailboxIndex();
  const checkpointLsn = index.lastLsn;
  let replayed = 0;
  for (const r of records) {
    if (r.header.lsn > index.lastLsn) {
      index.apply(r);
      replayed++;
    }
  }
  return { index, replayed, checkpointLsn };
}

/** The last LSN a copy's checkpoint says it replayed (0 without one). */
export async function checkpointLsnOf(copyDir: string): Promise<number> {
  try {
    const text = await readFile(join(copyDir, INDEX_FILE), 'utf8');
    const m = /"lastLsn":(\d+)/.exec(text.slice(0, 200));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
