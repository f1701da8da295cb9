// The resource process of the split-brain test, run by a Generic Application:
//   node --import tsx fenced-writer.ts --tag T --group G --log SHARED --acks DIR
// Appends to the shared log through the fencing-token guard every few ms with
// the token its agent gave it (FAILOVER_EPOCH), and records each write the
// guard acknowledged in its own file, so the test can check every
// acknowledged write against the log. Stops writing once refused: it has
// been fenced off.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { FencedLog } from '../../src/node/fencing.ts';
import { guardedEnvironment } from '../../src/node/guarded-types.ts';

const writeIntervalMs = 20;

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`fenced-writer: ${name} is required`);
  return v;
}

const group = arg('--group');
const shared = new FencedLog(arg('--log'));
const node = process.env[guardedEnvironment.node] ?? 'unknown';
const token = Number(process.env[guardedEnvironment.epoch]);
const acks = path.join(arg('--acks'), `${group}-${node}-${process.pid}.acks`);
let seq = 0;

const timer = setInterval(() => {
  try {
    const r = shared.append(token, node, { group, seq: ++seq });
    appendFileSync(acks, `${r.id}\n`);
  } catch (e) {
    appendFileSync(acks, `refused ${(e as Error).message}\n`);
    clearInterval(timer);
  }
}, writeIntervalMs);
process.on('SIGTERM', () => process.exit(0));
