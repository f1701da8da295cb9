// The cluster database: a registry-like tree of keys and typed values on the
// store, as WSFC's cluster database and MS-CMRP's registry methods (ApiCreateKey,
// ApiOpenKey, ApiEnumKey, ApiDeleteKey, ApiSetValue, ApiQueryValue,
// ApiEnumValue, ApiDeleteValue, ApiExecuteBatch).
//
// Every write is one store transaction planned by a WritePlan: it reads what it
// depends on, and its compares make it fail, and be re-planned, if any of that
// changed before it committed. Two rules make those compares sufficient:
//  - creating a key, or setting a value, rewrites ("touches") the record of the
//    key it lands in, so deleting a key can guard "no subkeys, no new values"
//    with one compare on that key's record;
//  - a write under a key guards that the key still is the same key
//    (createRevision), so a concurrent delete makes it fail instead of leaving
//    orphans.
// Layout in the store: see paths.ts.
import { ClusterError, errors, isClusterError } from '../model/errors.ts';
import type { KeyValue, Store, Watcher, WatchEvent } from '../store/store.ts';
import { BATCH_COMMANDS_MAX, WRITE_CONFLICT_ATTEMPTS_MAX, tooLargeForOneTransaction } from './limits.ts';
import { WritePlan } from './plan.ts';
import {
  ROOT_PATH,
  StoreLayout,
  canonicalName,
  checkValueName,
  formatPath,
  joinPaths,
  parseKeyPath,
  preview,
  type KeyPath,
} from './paths.ts';
import {
  decodeKeyRecord,
  decodeValueRecord,
  encodeKeyRecord,
  encodeValueRecord,
  validateValue,
  valuesEqual,
  type RegistryValue,
  type RegistryValueInput,
} from './values.ts';

export const DATABASE_ROOT_DEFAULT = '/failover/db/';

export interface KeyInfo {
  /** The key's path in display case. */
  readonly path: string;
  readonly createRevision: number;
  readonly modRevision: number;
}

export interface NamedValue {
  readonly name: string;
  readonly value: RegistryValue;
}

/** A key with everything under it, read at one revision. */
export interface KeyTree {
  readonly name: string;
  readonly path: string;
  readonly values: readonly NamedValue[];
  readonly subkeys: readonly KeyTree[];
}

/**
 * A batch command. `key` is relative to the batch's key ("" or absent: that
 * key itself). requireValue is a condition (MS-CMRP's CLUSREG_CONDITION_*): the
 * value must currently equal `equals` (null: must not exist), else the batch
 * fails with ERROR_CLUSTER_DATABASE_SEQMISMATCH and changes nothing; it lets a
 * read-modify-write go through a batch without losing concurrent updates.
 */
export type BatchCommand =
  | { readonly op: 'createKey'; readonly key: string }
  | { readonly op: 'deleteKey'; readonly key: string }
  | { readonly op: 'setValue'; readonly key?: string; readonly name: string; readonly value: RegistryValueInput }
  | { readonly op: 'deleteValue'; readonly key?: string; readonly name: string }
  | { readonly op: 'requireValue'; readonly key?: string; readonly name: string; readonly equals: RegistryValueInput | null };

export interface BatchResult {
  /** Store revision after the batch (the revision of its one transaction if it wrote anything). */
  readonly revision: number;
  /** Per command: whether it changed anything (createKey of an existing key does not). */
  readonly changed: readonly boolean[];
}

/** A batch command failed: nothing of the batch was applied. Carries the failing command's index. */
export class BatchCommandError extends ClusterError {
  readonly commandIndex: number;
  override readonly cause: ClusterError;
  constructor(commandIndex: number, op: string, cause: ClusterError) {
    const suffix = ` (${errors[cause.name].message})`;
    const detail = cause.message.endsWith(suffix) ? cause.message.slice(0, -suffix.length) : cause.message;
    super(cause.name, `batch command ${commandIndex} (${op}) failed, nothing applied: ${detail}`);
    this.commandIndex = commandIndex;
    this.cause = cause;
  }
}

export type DatabaseEvent =
  | { readonly type: 'keyCreated'; readonly path: string }
  | { readonly type: 'keyDeleted'; readonly path: string }
  | { readonly type: 'valueSet'; readonly path: string; readonly name: string; readonly value: RegistryValue }
  | { readonly type: 'valueDeleted'; readonly path: string; readonly name: string };

export type DatabaseWatchCallback = (events: readonly DatabaseEvent[], revision: number) => void;

export class ClusterDatabase {
  private readonly layout: StoreLayout;

  constructor(
    private readonly store: Store,
    options: { root?: string } = {},
  ) {
    this.layout = new StoreLayout(options.root ?? DATABASE_ROOT_DEFAULT);
  }

  /** The store this database lives on (writers in one process can coordinate per store). */
  get backingStore(): Store {
    return this.store;
  }

  // ---- keys ----

  /** Creates the key and any missing parents; returns whether the key was created (false: it existed). */
  async createKey(path: string): Promise<boolean> {
    const key = parseKeyPath(path);
    return (await this.write((plan) => this.planCreateKey(plan, key))).result;
  }

  /** The key's info; ERROR_FILE_NOT_FOUND if it does not exist. */
  async openKey(path: string): Promise<KeyInfo> {
    const key = parseKeyPath(path);
    if (key.canonical.length === 0) return { path: '', createRevision: 0, modRevision: 0 };
    const storeKey = this.layout.recordKey(key);
    const kv = await this.store.get(storeKey);
    if (!kv) throw keyNotFound(key);
    return { path: decodeKeyRecord(storeKey, kv.value).path, createRevision: kv.createRevision, modRevision: kv.modRevision };
  }

  async keyExists(path: string): Promise<boolean> {
    const key = parseKeyPath(path);
    if (key.canonical.length === 0) return true;
    return (await this.store.get(this.layout.recordKey(key))) !== undefined;
  }

  /** Names (display case) of the key's direct subkeys, in canonical order. */
  async enumKeys(path: string): Promise<string[]> {
    const tree = await this.readTree(path);
    return tree.subkeys.map((k) => k.name);
  }

  /** Deletes a key and its values; refuses (ERROR_ACCESS_DENIED, as MS-CMRP) a key that has subkeys. */
  async deleteKey(path: string): Promise<void> {
    const key = parseKeyPath(path);
    await this.write((plan) => this.planDeleteKey(plan, key));
  }

  /** Deletes a key with all its subkeys and values. */
  async deleteTree(path: string): Promise<void> {
    const key = parseKeyPath(path);
    if (key.canonical.length === 0) throw new ClusterError('ERROR_ACCESS_DENIED', 'the root key of the cluster database cannot be deleted');
    await this.write(async (plan) => {
      if ((await plan.get(this.layout.recordKey(key), 'identity')) === undefined) throw keyNotFound(key);
      await plan.list(this.layout.prefix(key));
      plan.deletePrefix(this.layout.prefix(key));
    });
  }

  // ---- values ----

  async setValue(path: string, name: string, value: RegistryValueInput): Promise<void> {
    const key = parseKeyPath(path);
    await this.write((plan) => this.planSetValue(plan, key, name, value));
  }

  /** The value; ERROR_FILE_NOT_FOUND if the key or the value does not exist. */
  async queryValue(path: string, name: string): Promise<RegistryValue> {
    const key = parseKeyPath(path);
    const canonical = checkValueName(name, formatPath(key));
    const storeKey = this.layout.valueKey(key, canonical);
    const kv = await this.store.get(storeKey);
    if (kv) return decodeValueRecord(storeKey, kv.value).value;
    if (!(await this.keyExists(path))) throw keyNotFound(key);
    throw valueNotFound(key, name);
  }

  /** The key's values, in canonical name order. */
  async enumValues(path: string): Promise<NamedValue[]> {
    return [...(await this.readTree(path)).values];
  }

  async deleteValue(path: string, name: string): Promise<void> {
    const key = parseKeyPath(path);
    await this.write((plan) => this.planDeleteValue(plan, key, name));
  }

  /** The key and its whole subtree, read at one store revision. */
  async readTree(path: string): Promise<KeyTree & { revision: number }> {
    const key = parseKeyPath(path);
    const { kvs, revision } = await this.store.range(this.layout.prefix(key));
    const tree = keyTreeFrom(this.layout, kvs, key);
    if (!tree) throw keyNotFound(key);
    return { ...tree, revision };
  }

  /** Where this database keeps its keys in the store (views built from store entries need it). */
  get storeLayout(): StoreLayout {
    return this.layout;
  }

  // ---- batch ----

  /**
   * Runs the commands all-or-nothing as ONE store transaction (MS-CMRP
   * ApiExecuteBatch). A failing command throws BatchCommandError with its
   * index; nothing is applied.
   */
  async executeBatch(path: string, commands: readonly BatchCommand[]): Promise<BatchResult> {
    const base = parseKeyPath(path);
    if (!Array.isArray(commands)) throw new ClusterError('ERROR_INVALID_PARAMETER', `batch on key ${preview(path)}: commands must be a list`);
    if (commands.length > BATCH_COMMANDS_MAX) throw tooLargeForOneTransaction(`batch on key ${preview(path)}`, `${commands.length} commands`, 'BATCH_COMMANDS_MAX');
    const { revision, result } = await this.write(async (plan) => {
      if (base.canonical.length > 0 && (await plan.get(this.layout.recordKey(base), 'identity')) === undefined) throw keyNotFound(base);
      const changed: boolean[] = [];
      for (const [index, command] of commands.entries()) {
        const op = typeof command === 'object' && command !== null && typeof command.op === 'string' ? command.op : String(command);
        try {
          changed.push(await this.planCommand(plan, base, command));
        } catch (e) {
          if (isClusterError(e)) throw new BatchCommandError(index, op, e);
          throw e;
        }
      }
      return changed;
    });
    return { revision, changed: result };
  }

  // ---- watch ----

  /**
   * Notifies every change in the key's subtree (the key included), one store
   * revision at a time. fromRevision replays from that revision on.
   */
  async watch(
    path: string,
    callback: DatabaseWatchCallback,
    options: { fromRevision?: number; onError?: (error: Error) => void } = {},
  ): Promise<Watcher> {
    const key = parseKeyPath(path);
    return this.store.watchPrefix(
      this.layout.prefix(key),
      (events, revision) => {
        const translated = events.flatMap((e) => {
          try {
            return this.translate(e);
          } catch (error) {
            // An entry this database cannot read (written by something else) is no database event.
            if (isClusterError(error)) return [];
            throw error;
          }
        });
        if (translated.length > 0) callback(translated, revision);
      },
      options,
    );
  }

  // ---- planning ----

  private async planCommand(plan: WritePlan, base: KeyPath, command: BatchCommand): Promise<boolean> {
    if (typeof command !== 'object' || command === null) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `a batch command must be an object, got ${String(command)}`);
    }
    const relative = (key: unknown, required: boolean): KeyPath => {
      if (key === undefined && !required) return base;
      return joinPaths(base, parseKeyPath(key));
    };
    switch (command.op) {
      case 'createKey': {
        const key = relative(command.key, true);
        if (key.canonical.length === base.canonical.length) throw new ClusterError('ERROR_INVALID_PARAMETER', 'createKey in a batch needs a subkey path');
        return this.planCreateKey(plan, key);
      }
      case 'deleteKey': {
        const key = relative(command.key, true);
        if (key.canonical.length === base.canonical.length) throw new ClusterError('ERROR_INVALID_PARAMETER', 'deleteKey in a batch needs a subkey path');
        await this.planDeleteKey(plan, key);
        return true;
      }
      case 'setValue':
        await this.planSetValue(plan, relative(command.key, false), command.name, command.value);
        return true;
      case 'deleteValue':
        await this.planDeleteValue(plan, relative(command.key, false), command.name);
        return true;
      case 'requireValue':
        await this.planRequireValue(plan, relative(command.key, false), command.name, command.equals);
        return false;
      default:
        throw new ClusterError('ERROR_INVALID_PARAMETER', `unknown batch command ${JSON.stringify((command as { op?: unknown }).op)}`);
    }
  }

  /** The key's record as the plan sees it; the root always exists and has none. */
  private async readKey(plan: WritePlan, key: KeyPath, guard: 'identity' | 'exact'): Promise<string | undefined> {
    if (key.canonical.length === 0) return encodeKeyRecord({ path: '' });
    return plan.get(this.layout.recordKey(key), guard);
  }

  /** Rewrites a key's record unchanged, so guards on it see that something landed in the key. */
  private touch(plan: WritePlan, key: KeyPath, record: string): void {
    if (key.canonical.length > 0) plan.put(this.layout.recordKey(key), record);
  }

  private async planCreateKey(plan: WritePlan, key: KeyPath): Promise<boolean> {
    let parent = ROOT_PATH;
    let parentRecord = await this.readKey(plan, parent, 'identity');
    let parentDisplay = '';
    let created = false;
    for (let depth = 1; depth <= key.canonical.length; depth++) {
      const path: KeyPath = { display: key.display.slice(0, depth), canonical: key.canonical.slice(0, depth) };
      let record = await this.readKey(plan, path, 'identity');
      created = record === undefined;
      if (record === undefined) {
        const name = key.display[depth - 1]!;
        record = encodeKeyRecord({ path: parentDisplay === '' ? name : `${parentDisplay}\\${name}` });
        plan.put(this.layout.recordKey(path), record);
        this.touch(plan, parent, parentRecord!);
      }
      parent = path;
      parentRecord = record;
      parentDisplay = decodeKeyRecord(this.layout.recordKey(path), record).path;
    }
    return created;
  }

  private async planDeleteKey(plan: WritePlan, key: KeyPath): Promise<void> {
    if (key.canonical.length === 0) throw new ClusterError('ERROR_ACCESS_DENIED', 'the root key of the cluster database cannot be deleted');
    // 'exact': a subkey or value created after this read touches the record and fails the transaction.
    const record = await this.readKey(plan, key, 'exact');
    if (record === undefined) throw keyNotFound(key);
    const prefix = this.layout.prefix(key);
    const entries = await plan.list(prefix);
    const childRecord = entries.find((e) => {
      const entry = this.layout.parse(e.key);
      return entry?.kind === 'key' && entry.canonical.length === key.canonical.length + 1;
    });
    if (childRecord !== undefined) {
      const child = decodeKeyRecord(childRecord.key, childRecord.value).path.split('\\').at(-1) ?? '';
      throw new ClusterError('ERROR_ACCESS_DENIED', `key ${preview(formatPath(key))} has subkeys (such as ${preview(child)}); delete them first or delete the whole tree`);
    }
    plan.deletePrefix(prefix);
  }

  private async existingKey(plan: WritePlan, key: KeyPath): Promise<string> {
    const record = await this.readKey(plan, key, 'identity');
    if (record === undefined) throw keyNotFound(key);
    return record;
  }

  private async planSetValue(plan: WritePlan, key: KeyPath, name: string, input: RegistryValueInput): Promise<void> {
    const canonical = checkValueName(name, formatPath(key));
    const where = `value ${preview(name)} of key ${preview(formatPath(key))}`;
    const value = validateValue(where, input);
    const record = await this.existingKey(plan, key);
    const path = decodeKeyRecord(this.layout.prefix(key), record).path;
    plan.put(this.layout.valueKey(key, canonical), encodeValueRecord({ path, name, value }, where));
    this.touch(plan, key, record);
  }

  private async planDeleteValue(plan: WritePlan, key: KeyPath, name: string): Promise<void> {
    const canonical = checkValueName(name, formatPath(key));
    await this.existingKey(plan, key);
    const storeKey = this.layout.valueKey(key, canonical);
    if ((await plan.get(storeKey, 'identity')) === undefined) throw valueNotFound(key, name);
    plan.delete(storeKey);
  }

  private async planRequireValue(plan: WritePlan, key: KeyPath, name: string, equals: RegistryValueInput | null): Promise<void> {
    const canonical = checkValueName(name, formatPath(key));
    const where = `value ${preview(name)} of key ${preview(formatPath(key))}`;
    const expected = equals === null ? null : validateValue(where, equals);
    await this.existingKey(plan, key);
    const storeKey = this.layout.valueKey(key, canonical);
    const text = await plan.get(storeKey, 'exact');
    const actual = text === undefined ? null : decodeValueRecord(storeKey, text).value;
    const holds = expected === null ? actual === null : actual !== null && valuesEqual(actual, expected);
    if (!holds) {
      throw new ClusterError(
        'ERROR_CLUSTER_DATABASE_SEQMISMATCH',
        `${where} is ${actual === null ? 'absent' : 'different'}${expected === null ? ', expected absent' : ' from what was expected'}`,
      );
    }
  }

  /** Runs a plan as one transaction, re-planning from fresh reads while other writers get in between. */
  private async write<T>(planner: (plan: WritePlan) => Promise<T>): Promise<{ revision: number; result: T }> {
    for (let attempt = 1; attempt <= WRITE_CONFLICT_ATTEMPTS_MAX; attempt++) {
      const plan = new WritePlan(this.store);
      const result = await planner(plan);
      const txn = plan.toTxn();
      if (!WritePlan.fits(txn)) throw tooLargeForOneTransaction('the write', `${txn.success.length} store writes and ${txn.compare.length} compares`, 'STORE_TXN_OPS_MAX');
      const outcome = await this.store.txn(txn);
      if (outcome.succeeded) return { revision: outcome.revision, result };
    }
    throw new ClusterError('ERROR_CLUSTER_DATABASE_SEQMISMATCH', `the cluster database kept changing underneath; gave up after ${WRITE_CONFLICT_ATTEMPTS_MAX} attempts`);
  }

  private translate(event: WatchEvent): DatabaseEvent[] {
    const entry = this.layout.parse(event.kv.key);
    if (!entry) return [];
    const canonicalPath = entry.canonical.join('\\');
    if (entry.kind === 'key') {
      if (event.type === 'delete') {
        const path = event.prevKv ? decodeKeyRecord(event.kv.key, event.prevKv.value).path : canonicalPath;
        return [{ type: 'keyDeleted', path }];
      }
      // A put of an existing record is a touch (something landed in the key), not news by itself.
      return event.kv.version === 1 ? [{ type: 'keyCreated', path: decodeKeyRecord(event.kv.key, event.kv.value).path }] : [];
    }
    if (event.type === 'put') {
      const record = decodeValueRecord(event.kv.key, event.kv.value);
      return [{ type: 'valueSet', path: record.path, name: record.name, value: record.value }];
    }
    if (event.prevKv) {
      const record = decodeValueRecord(event.kv.key, event.prevKv.value);
      return [{ type: 'valueDeleted', path: record.path, name: record.name }];
    }
    // Without the previous entry only the canonical form is known (a hashed name not even that).
    return [{ type: 'valueDeleted', path: canonicalPath, name: entry.valueName ?? '' }];
  }
}

/**
 * The tree of a key built from the store entries under its prefix (the key's
 * record, its values and everything below); undefined if the key's own record
 * is not among them (the root always exists).
 */
export function keyTreeFrom(layout: StoreLayout, kvs: Iterable<KeyValue>, key: KeyPath): KeyTree | undefined {
  interface Node { name: string; path: string; values: NamedValue[]; subkeys: Map<string, Node> }
  const root: Node = { name: key.display.at(-1) ?? '', path: formatPath(key), values: [], subkeys: new Map() };
  let found = key.canonical.length === 0;
  const nodeAt = (canonical: readonly string[]): Node => {
    let node = root;
    for (const name of canonical.slice(key.canonical.length)) {
      let next = node.subkeys.get(name);
      if (!next) {
        next = { name, path: '', values: [], subkeys: new Map() };
        node.subkeys.set(name, next);
      }
      node = next;
    }
    return node;
  };
  for (const kv of kvs) {
    const entry = layout.parse(kv.key);
    if (!entry) continue;
    const node = nodeAt(entry.canonical);
    if (entry.kind === 'key') {
      node.path = decodeKeyRecord(kv.key, kv.value).path;
      node.name = node.path.split('\\').at(-1) ?? '';
      if (entry.canonical.length === key.canonical.length) found = true;
    } else {
      const record = decodeValueRecord(kv.key, kv.value);
      node.values.push({ name: record.name, value: record.value });
    }
  }
  if (!found) return undefined;
  const freeze = (node: Node): KeyTree => ({
    name: node.name,
    path: node.path,
    values: byCanonicalName(node.values),
    subkeys: byCanonicalName([...node.subkeys.values()].filter((n) => n.path !== '').map(freeze)),
  });
  return freeze(root);
}

function keyNotFound(key: KeyPath): ClusterError {
  return new ClusterError('ERROR_FILE_NOT_FOUND', `key ${preview(formatPath(key))} does not exist`);
}

function valueNotFound(key: KeyPath, name: string): ClusterError {
  return new ClusterError('ERROR_FILE_NOT_FOUND', `value ${preview(name)} does not exist in key ${preview(formatPath(key))}`);
}

function byCanonicalName<T extends { readonly name: string }>(list: T[]): T[] {
  return list
    .map((item) => ({ item, canonical: canonicalName(item.name) }))
    .sort((a, b) => (a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : 0))
    .map((e) => e.item);
}
