// Cluster log figures: lines formatted and parsed per second, and the
// writer's throughput to a rotating file, with the time a write() call takes
// (it must not block the event loop: lines are buffered and written in batches).

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealClock } from '../src/clock/real.ts';
import { formatLine, parseLine, type LogRecord } from '../src/log/format.ts';
import { ClusterLogWriter } from '../src/log/writer.ts';
import { messages } from '../src/model/messages.ts';
import { report, summary } from './stats.ts';

const lines = 1_000_000;
const sampleEvery = 100;
const records: LogRecord[] = Array.from({ length: 1000 }, (_, i) => ({
  pid: 0xa1c,
  tid: 0xc00 + (i % 32),
  timeMs: Date.UTC(2026, 0, 1) + i * 7,
  level: i % 10 === 0 ? 'WARN' : 'INFO',
  component: 'RCM',
  text: `TransitionToState(Resource ${i}) OnlineCallIssued-->OnlinePending.`,
}));

let t = process.hrtime.bigint();
const formatted: string[] = [];
for (let i = 0; i < lines; i++) {
  const s = formatLine(records[i % records.length]!);
  if (i < records.length) formatted.push(s);
}
report('log: formatLine', lines / (Number(process.hrtime.bigint() - t) / 1e9), 'lines/s');

t = process.hrtime.bigint();
let parsed = 0;
for (let i = 0; i < lines; i++) if (parseLine(formatted[i % formatted.length]!)) parsed++;
report('log: parseLine', parsed / (Number(process.hrtime.bigint() - t) / 1e9), 'lines/s');

const dir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
try {
  const clock = new RealClock();
  const writer = new ClusterLogWriter({ path: path.join(dir, 'cluster.log'), pid: 0xa1c, clock, maxBytes: 16 * 1024 * 1024, maxFiles: 3 });
  const callUs: number[] = [];
  t = process.hrtime.bigint();
  for (let i = 0; i < lines; i++) {
    if (i % sampleEvery === 0) {
      const c = process.hrtime.bigint();
      writer.writeMessage(messages.transition(`Resource ${i % 1000}`, 'OnlineCallIssued', 'OnlinePending'), i % 32);
      callUs.push(Number(process.hrtime.bigint() - c) / 1e3);
    } else {
      writer.writeMessage(messages.transition(`Resource ${i % 1000}`, 'OnlineCallIssued', 'OnlinePending'), i % 32);
    }
  }
  writer.close();
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  report('log: ClusterLogWriter to a rotating file', lines / s, 'lines/s');
  const w = summary(callUs);
  report('log: write() call, median', w.median, 'us');
  report('log: write() call, p99 (includes batch writes)', w.p99, 'us');
  report('log: write() call, max (a batch write or rotation)', w.max, 'us');
  report('log: files after rotation', readdirSync(dir).length);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
