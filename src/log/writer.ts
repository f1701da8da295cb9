// A node's cluster log: WSFC-format lines to `cluster.log` with size-based
// rotation (cluster.log -> cluster.log.1 -> ... -> cluster.log.<maxFiles-1>),
// a level filter, and an in-memory tail of recent lines for tests and the
// simulator.
//
// Lines are buffered and written in batches (when the buffer reaches
// flushBytesMax or flushIntervalMs after the first buffered line), so logging
// a line costs a string format, not a system call. A batch is written with one
// synchronous write of whole lines: a line is never split across files or
// interleaved with another. close() flushes synchronously.

import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock, TimerHandle } from '../model/clock.ts';
import { assert, ClusterError } from '../model/errors.ts';
import type { LogComponent, LogLevel, LogMessage } from '../model/messages.ts';
import { canonicalText, formatLine, levelRank } from './format.ts';

/** Limits of the writer, with their units. */
export const clusterLogLimits = {
  /** Rotate when the current file would exceed this (WSFC's default log size is 100 MB). */
  maxBytesDefault: 100 * 1024 * 1024,
  /** Files kept, the current one included. */
  maxFilesDefault: 5,
  /** Lines kept in memory for lines(). */
  memoryLinesDefault: 1000,
  /** Buffered bytes that trigger a write. */
  flushBytesMax: 64 * 1024,
  /** Longest a buffered line waits before it is written. */
  flushIntervalMs: 200,
} as const;

export interface ClusterLogWriterOptions {
  /** Path of the current file (e.g. `<data-dir>/logs/<node>/cluster.log`); without it the log is memory only. */
  path?: string;
  pid: number;
  clock: Clock;
  /** Lines below this level are dropped. Default INFO. */
  level?: LogLevel;
  maxBytes?: number;
  maxFiles?: number;
  memoryLines?: number;
  /** Thread id for lines written without one. Default 0. */
  defaultTid?: number;
}

export class ClusterLogWriter {
  readonly path: string | undefined;
  private readonly pid: number;
  private readonly clock: Clock;
  private level: LogLevel;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly memoryLines: number;
  private readonly defaultTid: number;

  private fd: number | undefined;
  private fileBytes = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: TimerHandle | undefined;
  private closed = false;
  /** Ring buffer of the most recent lines. */
  private readonly tail: string[] = [];
  private tailStart = 0;
  /** The last error of a background flush; background flushes never throw. */
  lastWriteError: ClusterError | undefined;

  constructor(options: ClusterLogWriterOptions) {
    this.path = options.path;
    this.pid = options.pid;
    this.clock = options.clock;
    this.level = options.level ?? 'INFO';
    this.maxBytes = options.maxBytes ?? clusterLogLimits.maxBytesDefault;
    this.maxFiles = options.maxFiles ?? clusterLogLimits.maxFilesDefault;
    this.memoryLines = options.memoryLines ?? clusterLogLimits.memoryLinesDefault;
    this.defaultTid = options.defaultTid ?? 0;
    assert(Number.isInteger(this.maxBytes) && this.maxBytes > 0, `maxBytes ${this.maxBytes} is a positive integer`);
    assert(Number.isInteger(this.maxFiles) && this.maxFiles >= 1, `maxFiles ${this.maxFiles} is at least 1`);
    assert(Number.isInteger(this.memoryLines) && this.memoryLines >= 0, `memoryLines ${this.memoryLines} is not negative`);
    if (this.path !== undefined) this.openFile(this.path);
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  getLevel(): LogLevel {
    return this.level;
  }

  /** Writes one line unless it is below the configured level. Returns the line, or undefined if dropped. */
  write(level: LogLevel, component: LogComponent | string, text: string, tid?: number): string | undefined {
    assert(!this.closed, 'cluster log written after close');
    if (levelRank[level] < levelRank[this.level]) return undefined;
    const line = formatLine({
      pid: this.pid,
      tid: tid ?? this.defaultTid,
      timeMs: Math.floor(this.clock.now()),
      level,
      component,
      text: canonicalText(text),
    });
    this.remember(line);
    if (this.fd !== undefined) this.enqueue(line);
    return line;
  }

  writeMessage(message: LogMessage, tid?: number): string | undefined {
    return this.write(message.level, message.component, message.text, tid);
  }

  /** The most recent lines (up to memoryLines), oldest first. */
  lines(): string[] {
    return [...this.tail.slice(this.tailStart), ...this.tail.slice(0, this.tailStart)];
  }

  /** Writes every buffered line now. Throws a ClusterError if the file cannot be written. */
  flush(): void {
    this.cancelTimer();
    if (this.pending.length === 0 || this.fd === undefined) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.writeBatch(batch);
  }

  /** Flushes and closes the file; later writes are programmer errors. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private remember(line: string): void {
    if (this.memoryLines === 0) return;
    if (this.tail.length < this.memoryLines) {
      this.tail.push(line);
    } else {
      this.tail[this.tailStart] = line;
      this.tailStart = (this.tailStart + 1) % this.memoryLines;
    }
  }

  private enqueue(line: string): void {
    const entry = `${line}\n`;
    this.pending.push(entry);
    this.pendingBytes += Buffer.byteLength(entry);
    if (this.pendingBytes >= clusterLogLimits.flushBytesMax) {
      this.backgroundFlush();
    } else if (this.flushTimer === undefined) {
      this.flushTimer = this.clock.setTimer(clusterLogLimits.flushIntervalMs, () => {
        this.flushTimer = undefined;
        this.backgroundFlush();
      });
    }
  }

  private backgroundFlush(): void {
    try {
      this.flush();
    } catch (e) {
      // Logging must not take the node down; the error is kept for whoever asks.
      this.lastWriteError = e instanceof ClusterError ? e : toClusterError(e, this.path ?? '');
    }
  }

  private cancelTimer(): void {
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Writes whole lines, rotating before a line that would push the file past maxBytes. */
  private writeBatch(batch: readonly string[]): void {
    const path = this.path;
    assert(path !== undefined, 'a file-backed writer has a path');
    let chunk: string[] = [];
    let chunkBytes = 0;
    for (const entry of batch) {
      const bytes = Buffer.byteLength(entry);
      if (this.fileBytes + chunkBytes + bytes > this.maxBytes && this.fileBytes + chunkBytes > 0) {
        this.writeChunk(chunk, path);
        chunk = [];
        chunkBytes = 0;
        this.rotate(path);
      }
      chunk.push(entry);
      chunkBytes += bytes;
    }
    this.writeChunk(chunk, path);
  }

  private writeChunk(chunk: readonly string[], path: string): void {
    if (chunk.length === 0 || this.fd === undefined) return;
    const data = Buffer.from(chunk.join(''));
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      throw toClusterError(e, path);
    }
    this.fileBytes += data.length;
  }

  private rotate(path: string): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      if (this.maxFiles === 1) {
        rmSync(path, { force: true });
      } else {
        rmSync(`${path}.${this.maxFiles - 1}`, { force: true });
        for (let n = this.maxFiles - 2; n >= 1; n--) renameIfExists(`${path}.${n}`, `${path}.${n + 1}`);
        renameIfExists(path, `${path}.1`);
      }
    } catch (e) {
      throw toClusterError(e, path);
    }
    this.openFile(path);
  }

  private openFile(path: string): void {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'a');
      this.fileBytes = fstatSync(this.fd).size;
    } catch (e) {
      throw toClusterError(e, path);
    }
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function toClusterError(e: unknown, path: string): ClusterError {
  const code = (e as NodeJS.ErrnoException).code;
  const detail = `cluster log ${path}: ${(e as Error).message}`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ClusterError('ERROR_FILE_NOT_FOUND', detail);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new ClusterError('ERROR_ACCESS_DENIED', detail);
  if (code === 'ENOSPC') return new ClusterError('ERROR_DISK_FULL', detail);
  return new ClusterError('ERROR_WRITE_FAULT', detail);
}
