// Child process of crash.test.ts: opens the on-disk store in DIR and writes
// self-checking keys until it is killed, printing every acknowledged write.
//
//   node --import tsx test/store/crash-writer.ts DIR [snapshotThresholdBytes]
//
// Values check themselves (crash-values.ts). Every fifth write is a transaction
// of two keys, which must survive together or not at all.
// Output lines: "ready <next index>", then "ack <key> <revision>" per write.

import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { CRASH_KEY_PREFIX, crashKey, crashValue } from './crash-values.ts';

/** Writes kept in flight at once, so group commit batches several into one fsync. */
const WRITES_IN_FLIGHT = 8;

async function main(dir: string, snapshotThresholdBytes: number): Promise<void> {
  const store = await openEmbeddedStore({ dataDir: dir, snapshotThresholdBytes });
  const existing = (await store.range(CRASH_KEY_PREFIX)).kvs;
  let next = existing.length === 0 ? 0 : Number(existing[existing.length - 1]!.key.slice(CRASH_KEY_PREFIX.length).split('/')[0]) + 1;
  process.stdout.write(`ready ${next}\n`);
  const writeOne = async (): Promise<void> => {
    const index = next++;
    const key = crashKey(index);
    if (index % 5 === 4) {
      const pairKey = `${key}/pair`;
      const r = await store.txn({
        compare: [{ key, target: 'version', op: '==', value: 0 }],
        success: [
          { type: 'put', key, value: crashValue(key, index) },
          { type: 'put', key: pairKey, value: crashValue(pairKey, index) },
        ],
      });
      process.stdout.write(`ack ${key} ${r.revision}\nack ${pairKey} ${r.revision}\n`);
    } else {
      const r = await store.put(key, crashValue(key, index));
      process.stdout.write(`ack ${key} ${r.revision}\n`);
    }
  };
  const worker = async (): Promise<void> => {
    for (;;) await writeOne();
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, worker));
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: crash-writer.ts DIR [snapshotThresholdBytes]\n');
  process.exit(2);
}
main(dir, Number(process.argv[3] ?? 1024 * 1024)).catch((e: unknown) => {
  process.stderr.write(`crash-writer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
