// Shared helpers of the cluster database tests.
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { isClusterError, type ErrorName } from '../../src/model/errors.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import type { Store } from '../../src/store/store.ts';

export async function memoryStore(): Promise<Store> {
  return openEmbeddedStore({ clock: new VirtualClock() });
}

/** Everything in the store, with revisions, so "state unchanged" means exactly that. */
export async function dump(store: Store): Promise<string> {
  const { kvs } = await store.range('');
  return JSON.stringify({ kvs, revision: await store.revision() });
}

/** Expects a ClusterError with this name whose message names every given input. */
export async function rejectsWith(action: Promise<unknown>, name: ErrorName, mentions: readonly string[] = []): Promise<Error> {
  let caught: unknown;
  try {
    await action;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${name}, but the call succeeded`);
  assert.ok(isClusterError(caught), `expected a ClusterError ${name}, got ${String(caught)}`);
  assert.equal(caught.name, name, `expected ${name}, got ${caught.name}: ${caught.message}`);
  for (const m of mentions) assert.ok(caught.message.includes(m), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(m)}`);
  return caught;
}

/** Runs the bad call and checks the error and that the store did not change at all. */
export async function refusedUnchanged(store: Store, action: () => Promise<unknown>, name: ErrorName, mentions: readonly string[] = []): Promise<Error> {
  const before = await dump(store);
  const error = await rejectsWith(action(), name, mentions);
  assert.equal(await dump(store), before, `store changed although the call failed with ${name}`);
  return error;
}
