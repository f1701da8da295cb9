import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchCommandError, ClusterDatabase, type DatabaseEvent } from '../../src/database/registry.ts';
import { KEY_DEPTH_MAX, KEY_NAME_LENGTH_MAX, VALUE_DATA_BYTES_MAX, VALUE_NAME_LENGTH_MAX } from '../../src/database/limits.ts';
import type { Store, Txn, TxnResult } from '../../src/store/store.ts';
import { dump, memoryStore, refusedUnchanged, rejectsWith } from './helpers.ts';
import { storeWith } from '../support/store-with.ts';

async function fresh(): Promise<{ store: Store; db: ClusterDatabase }> {
  const store = await memoryStore();
  return { store, db: new ClusterDatabase(store) };
}

describe('keys', () => {
  it('createKey creates missing parents, is idempotent and says whether it created', async () => {
    const { db } = await fresh();
    assert.equal(await db.createKey('Resources\\DB\\Parameters'), true);
    assert.equal(await db.keyExists('Resources'), true);
    assert.equal(await db.keyExists('Resources\\DB'), true);
    assert.equal(await db.createKey('Resources\\DB\\Parameters'), false);
    assert.equal(await db.createKey('resources\\db\\parameters'), false, 'names are case-insensitive');
    assert.equal(await db.createKey('Resources\\DB\\Other'), true);
  });

  it('openKey keeps the display case and finds the key in any case; a missing key is ERROR_FILE_NOT_FOUND', async () => {
    const { db } = await fresh();
    await db.createKey('Resources\\MailboxDB');
    const info = await db.openKey('RESOURCES\\mailboxdb');
    assert.equal(info.path, 'Resources\\MailboxDB');
    assert.ok(info.createRevision > 0);
    await rejectsWith(db.openKey('Resources\\Nope'), 'ERROR_FILE_NOT_FOUND', ['Resources\\\\Nope']);
    assert.equal(await db.keyExists('Resources\\Nope'), false);
  });

  it('enumKeys lists direct subkeys only, in display case, sorted case-insensitively', async () => {
    const { db } = await fresh();
    for (const p of ['Top\\beta', 'Top\\Alpha\\Deep', 'Top\\gamma', 'Other']) await db.createKey(p);
    await db.setValue('Top', 'v', { type: 'dword', data: 1 });
    assert.deepEqual(await db.enumKeys('Top'), ['Alpha', 'beta', 'gamma']);
    assert.deepEqual(await db.enumKeys(''), ['Other', 'Top']);
    assert.deepEqual(await db.enumKeys('Top\\Alpha\\Deep'), []);
    await rejectsWith(db.enumKeys('Missing'), 'ERROR_FILE_NOT_FOUND', ['Missing']);
  });

  it('names with "/", "@" and "%" are kept apart from the store layout', async () => {
    const { db } = await fresh();
    await db.createKey('a/b\\c@d\\%2F');
    await db.createKey('a');
    await db.setValue('a/b\\c@d', 'x/@%', { type: 'string', data: 'ok' });
    assert.deepEqual(await db.enumKeys(''), ['a', 'a/b']);
    assert.deepEqual(await db.enumKeys('a/b\\c@d'), ['%2F']);
    assert.deepEqual((await db.queryValue('A/B\\C@D', 'X/@%')).data, 'ok');
    assert.deepEqual(await db.enumKeys('a'), []);
  });

  it('deleteKey deletes a key with its values and refuses one with subkeys', async () => {
    const { store, db } = await fresh();
    await db.createKey('Groups\\Web\\Sub');
    await db.setValue('Groups\\Web', 'Description', { type: 'string', data: 'web' });
    await refusedUnchanged(store, () => db.deleteKey('Groups\\Web'), 'ERROR_ACCESS_DENIED', ['Groups\\\\Web', 'Sub']);
    await db.deleteKey('Groups\\Web\\Sub');
    await db.deleteKey('groups\\web');
    assert.equal(await db.keyExists('Groups\\Web'), false);
    assert.deepEqual(await db.enumKeys('Groups'), []);
    const { kvs } = await store.range('/failover/db/GROUPS/WEB/');
    assert.equal(kvs.length, 0, 'no values left behind');
    await refusedUnchanged(store, () => db.deleteKey('Groups\\Web'), 'ERROR_FILE_NOT_FOUND', ['Groups\\\\Web']);
    await refusedUnchanged(store, () => db.deleteKey(''), 'ERROR_ACCESS_DENIED', ['root']);
  });

  it('deleteTree deletes a whole subtree and nothing beside it', async () => {
    const { store, db } = await fresh();
    await db.createKey('Groups\\Web\\A\\B');
    await db.createKey('Groups\\WebFarm');
    await db.setValue('Groups\\Web\\A', 'v', { type: 'dword', data: 7 });
    await db.deleteTree('Groups\\Web');
    assert.deepEqual(await db.enumKeys('Groups'), ['WebFarm']);
    await refusedUnchanged(store, () => db.deleteTree('Groups\\Web'), 'ERROR_FILE_NOT_FOUND', ['Groups\\\\Web']);
  });

  it('uses its own root prefix, so two databases on one store do not see each other', async () => {
    const store = await memoryStore();
    const a = new ClusterDatabase(store, { root: '/a/' });
    const b = new ClusterDatabase(store, { root: '/b/' });
    await a.createKey('K');
    assert.equal(await b.keyExists('K'), false);
    assert.equal((await store.range('/a/')).kvs.length, 1);
  });
});

describe('values', () => {
  it('round-trips every type, case-insensitive names, display case kept', async () => {
    const { db } = await fresh();
    await db.createKey('K');
    await db.setValue('K', 'Str', { type: 'string', data: 'héllo' });
    await db.setValue('K', 'Multi', { type: 'multiString', data: ['a', 'b'] });
    await db.setValue('K', 'Dw', { type: 'dword', data: 0xffffffff });
    await db.setValue('K', 'Qw', { type: 'qword', data: 0xffff_ffff_ffff_ffffn });
    await db.setValue('K', 'QwNum', { type: 'qword', data: 42 });
    await db.setValue('K', 'Bin', { type: 'binary', data: new Uint8Array([0, 1, 255]) });
    await db.setValue('K', '', { type: 'string', data: 'default value' });
    assert.deepEqual(await db.queryValue('k', 'str'), { type: 'string', data: 'héllo' });
    assert.deepEqual(await db.queryValue('K', 'MULTI'), { type: 'multiString', data: ['a', 'b'] });
    assert.deepEqual(await db.queryValue('K', 'dw'), { type: 'dword', data: 0xffffffff });
    assert.deepEqual(await db.queryValue('K', 'qw'), { type: 'qword', data: 0xffff_ffff_ffff_ffffn });
    assert.deepEqual(await db.queryValue('K', 'qwnum'), { type: 'qword', data: 42n });
    assert.deepEqual(await db.queryValue('K', 'bin'), { type: 'binary', data: new Uint8Array([0, 1, 255]) });
    assert.deepEqual(await db.queryValue('K', ''), { type: 'string', data: 'default value' });
    const names = (await db.enumValues('K')).map((v) => v.name);
    assert.deepEqual(names, ['', 'Bin', 'Dw', 'Multi', 'Qw', 'QwNum', 'Str']);
  });

  it('overwrites in place, whatever the case of the name', async () => {
    const { db } = await fresh();
    await db.createKey('K');
    await db.setValue('K', 'Count', { type: 'dword', data: 1 });
    await db.setValue('K', 'COUNT', { type: 'string', data: 'two' });
    assert.deepEqual(await db.enumValues('K'), [{ name: 'COUNT', value: { type: 'string', data: 'two' } }]);
  });

  it('keeps long value names (stored under a hash) apart and queryable', async () => {
    const { db } = await fresh();
    await db.createKey('K');
    const long1 = 'n'.repeat(VALUE_NAME_LENGTH_MAX);
    const long2 = `${'n'.repeat(VALUE_NAME_LENGTH_MAX - 1)}m`;
    await db.setValue('K', long1, { type: 'dword', data: 1 });
    await db.setValue('K', long2, { type: 'dword', data: 2 });
    assert.deepEqual(await db.queryValue('K', long1.toUpperCase()), { type: 'dword', data: 1 });
    assert.deepEqual(await db.queryValue('K', long2), { type: 'dword', data: 2 });
    await db.deleteValue('K', long1);
    assert.deepEqual((await db.enumValues('K')).map((v) => v.name), [long2]);
  });

  it('deleteValue removes one value; missing value or key is ERROR_FILE_NOT_FOUND', async () => {
    const { store, db } = await fresh();
    await db.createKey('K');
    await db.setValue('K', 'a', { type: 'dword', data: 1 });
    await db.setValue('K', 'b', { type: 'dword', data: 2 });
    await db.deleteValue('K', 'A');
    assert.deepEqual((await db.enumValues('K')).map((v) => v.name), ['b']);
    await refusedUnchanged(store, () => db.deleteValue('K', 'a'), 'ERROR_FILE_NOT_FOUND', ['"a"', 'K']);
    await refusedUnchanged(store, () => db.deleteValue('Nope', 'b'), 'ERROR_FILE_NOT_FOUND', ['Nope']);
    await rejectsWith(db.queryValue('K', 'zzz'), 'ERROR_FILE_NOT_FOUND', ['zzz']);
    await rejectsWith(db.queryValue('Nope', 'b'), 'ERROR_FILE_NOT_FOUND', ['Nope']);
  });
});

describe('bad input is refused with a WSFC code naming the input, and changes nothing', () => {
  const longName = 'k'.repeat(KEY_NAME_LENGTH_MAX + 1);
  const deep = Array.from({ length: KEY_DEPTH_MAX + 1 }, (_, i) => `L${i}`).join('\\');
  const wide = Array.from({ length: 8 }, (_, i) => `${i}${'w'.repeat(KEY_NAME_LENGTH_MAX - 1)}`).join('\\');
  const keyCases: [string, unknown, Parameters<typeof rejectsWith>[1], string[]][] = [
    ['a key name over the limit', `K\\${longName}`, 'ERROR_FILENAME_EXCED_RANGE', [longName.slice(0, 40), String(KEY_NAME_LENGTH_MAX)]],
    ['an empty key name', 'K\\\\X', 'ERROR_INVALID_NAME', ['K\\\\\\\\X', 'empty']],
    ['a leading backslash', '\\K', 'ERROR_INVALID_NAME', ['\\\\K']],
    ['a control character', 'K\\a\u0001b', 'ERROR_INVALID_NAME', ['control']],
    ['a path deeper than the limit', deep, 'ERROR_FILENAME_EXCED_RANGE', ['L0', String(KEY_DEPTH_MAX)]],
    ['a path too long for the store', wide, 'ERROR_FILENAME_EXCED_RANGE', ['0www', 'bytes']],
    ['a path that is not a string', 42, 'ERROR_INVALID_PARAMETER', ['number']],
  ];
  for (const [what, path, code, mentions] of keyCases) {
    it(`createKey: ${what}`, async () => {
      const { store, db } = await fresh();
      await db.createKey('K');
      await refusedUnchanged(store, () => db.createKey(path as string), code, mentions);
    });
  }

  const big = 'x'.repeat(VALUE_DATA_BYTES_MAX / 2);
  const valueCases: [string, string, unknown, Parameters<typeof rejectsWith>[1], string[]][] = [
    ['a negative dword', 'Dw', { type: 'dword', data: -1 }, 'ERROR_INVALID_PARAMETER', ['"Dw"', '-1']],
    ['a dword over 2^32-1', 'Dw', { type: 'dword', data: 2 ** 32 }, 'ERROR_INVALID_PARAMETER', ['"Dw"', '4294967296']],
    ['a fractional dword', 'Dw', { type: 'dword', data: 1.5 }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"Dw"', '1.5']],
    ['a string as dword', 'Dw', { type: 'dword', data: '5' }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"Dw"', '"5"']],
    ['a qword over 2^64-1', 'Qw', { type: 'qword', data: 2n ** 64n }, 'ERROR_INVALID_PARAMETER', ['"Qw"', '18446744073709551616']],
    ['a negative qword', 'Qw', { type: 'qword', data: -1n }, 'ERROR_INVALID_PARAMETER', ['"Qw"', '-1']],
    ['an unsafe integer qword', 'Qw', { type: 'qword', data: 2 ** 60 }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"Qw"', 'bigint']],
    ['a string with NUL', 'S', { type: 'string', data: 'a\0b' }, 'ERROR_INVALID_PARAMETER', ['"S"', 'NUL']],
    ['a number as string', 'S', { type: 'string', data: 3 }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"S"', '3']],
    ['an empty multiString item', 'M', { type: 'multiString', data: ['a', ''] }, 'ERROR_INVALID_PARAMETER', ['"M"', 'item 1']],
    ['a multiString that is not a list', 'M', { type: 'multiString', data: 'a' }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"M"']],
    ['binary that is not bytes', 'B', { type: 'binary', data: [1, 2] }, 'ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', ['"B"']],
    ['an unknown type', 'U', { type: 'float', data: 1 }, 'ERROR_INVALID_PARAMETER', ['"U"', 'float']],
    ['no type at all', 'U', 7, 'ERROR_INVALID_PARAMETER', ['"U"']],
    ['data over the size limit', 'Big', { type: 'string', data: big }, 'ERROR_INVALID_PARAMETER', ['"Big"', String(VALUE_DATA_BYTES_MAX)]],
    ['a value name over the limit', 'n'.repeat(VALUE_NAME_LENGTH_MAX + 1), { type: 'dword', data: 1 }, 'ERROR_FILENAME_EXCED_RANGE', ['nnnn', String(VALUE_NAME_LENGTH_MAX)]],
    ['a value name with NUL', 'a\0b', { type: 'dword', data: 1 }, 'ERROR_INVALID_NAME', ['NUL']],
  ];
  for (const [what, name, value, code, mentions] of valueCases) {
    it(`setValue: ${what}`, async () => {
      const { store, db } = await fresh();
      await db.createKey('K');
      await db.setValue('K', 'other', { type: 'dword', data: 9 });
      await refusedUnchanged(store, () => db.setValue('K', name, value as never), code, mentions);
    });
  }

  it('setValue: a key that does not exist', async () => {
    const { store, db } = await fresh();
    await refusedUnchanged(store, () => db.setValue('Missing\\Key', 'v', { type: 'dword', data: 1 }), 'ERROR_FILE_NOT_FOUND', ['Missing\\\\Key']);
  });

  it('multi-byte data that fits the registry count but not a store entry is refused too', async () => {
    const { store, db } = await fresh();
    await db.createKey('K');
    // 400k characters count 800 KB as UTF-16 but take 1.2 MB as UTF-8, and 2.4 MB as JSON escapes.
    const escaped = '\u0001'.repeat(400_000);
    await refusedUnchanged(store, () => db.setValue('K', 'Esc', { type: 'string', data: escaped }), 'ERROR_INVALID_PARAMETER', ['"Esc"', 'store']);
  });
});

describe('executeBatch', () => {
  it('applies every command in one store revision', async () => {
    const { store, db } = await fresh();
    await db.createKey('Resources');
    const before = await store.revision();
    const result = await db.executeBatch('Resources', [
      { op: 'createKey', key: 'DB\\Parameters' },
      { op: 'setValue', key: 'DB', name: 'Type', value: { type: 'string', data: 'Mailbox' } },
      { op: 'setValue', key: 'DB\\Parameters', name: 'Path', value: { type: 'string', data: 'C:\\db' } },
      { op: 'createKey', key: 'db' },
    ]);
    assert.equal(result.revision, before + 1);
    assert.equal(await store.revision(), before + 1);
    assert.deepEqual(result.changed, [true, true, true, false]);
    assert.deepEqual(await db.queryValue('Resources\\DB', 'Type'), { type: 'string', data: 'Mailbox' });
    assert.deepEqual(await db.queryValue('Resources\\DB\\Parameters', 'Path'), { type: 'string', data: 'C:\\db' });
  });

  it('a failing command leaves everything unchanged and names its index', async () => {
    const { store, db } = await fresh();
    await db.createKey('Resources\\Old');
    await db.setValue('Resources\\Old', 'Keep', { type: 'dword', data: 1 });
    const error = await refusedUnchanged(
      store,
      () =>
        db.executeBatch('Resources', [
          { op: 'createKey', key: 'New' },
          { op: 'deleteValue', key: 'Old', name: 'Keep' },
          { op: 'setValue', key: 'New', name: 'Bad', value: { type: 'dword', data: -5 } },
          { op: 'deleteKey', key: 'Old' },
        ]),
      'ERROR_INVALID_PARAMETER',
      ['command 2', '"Bad"', '-5'],
    );
    assert.ok(error instanceof BatchCommandError);
    assert.equal(error.commandIndex, 2);
    assert.equal(error.code, 87);
    assert.equal(error.message.split('(The parameter is incorrect.)').length, 2, `the code's text appears once: ${error.message}`);
  });

  it('sees its own earlier commands: a deleted value cannot be deleted twice, a deleted key is gone', async () => {
    const { store, db } = await fresh();
    await db.createKey('K\\Sub');
    await db.setValue('K\\Sub', 'v', { type: 'dword', data: 1 });
    const e1 = await refusedUnchanged(
      store,
      () => db.executeBatch('K', [{ op: 'deleteValue', key: 'Sub', name: 'v' }, { op: 'deleteValue', key: 'Sub', name: 'v' }]),
      'ERROR_FILE_NOT_FOUND',
      ['"v"'],
    );
    assert.equal((e1 as BatchCommandError).commandIndex, 1);
    const e2 = await refusedUnchanged(
      store,
      () => db.executeBatch('K', [{ op: 'deleteKey', key: 'Sub' }, { op: 'setValue', key: 'Sub', name: 'w', value: { type: 'dword', data: 2 } }]),
      'ERROR_FILE_NOT_FOUND',
      ['K\\\\Sub'],
    );
    assert.equal((e2 as BatchCommandError).commandIndex, 1);
    const e3 = await refusedUnchanged(
      store,
      () => db.executeBatch('', [{ op: 'createKey', key: 'K\\Sub\\Deeper' }, { op: 'deleteKey', key: 'K\\Sub' }]),
      'ERROR_ACCESS_DENIED',
      ['K\\\\Sub'],
    );
    assert.equal((e3 as BatchCommandError).commandIndex, 1);
  });

  it('can delete a key and create it again in one batch (a change of display case)', async () => {
    const { db } = await fresh();
    await db.createKey('K\\web');
    await db.setValue('K\\web', 'old', { type: 'dword', data: 1 });
    await db.executeBatch('K', [
      { op: 'deleteKey', key: 'web' },
      { op: 'createKey', key: 'Web' },
      { op: 'setValue', key: 'Web', name: 'new', value: { type: 'dword', data: 2 } },
    ]);
    assert.deepEqual(await db.enumKeys('K'), ['Web']);
    assert.deepEqual(await db.enumValues('K\\WEB'), [{ name: 'new', value: { type: 'dword', data: 2 } }]);
  });

  it('requireValue conditions the batch on a value', async () => {
    const { store, db } = await fresh();
    await db.createKey('K');
    await db.setValue('K', 'n', { type: 'dword', data: 1 });
    await db.executeBatch('K', [
      { op: 'requireValue', name: 'n', equals: { type: 'dword', data: 1 } },
      { op: 'requireValue', name: 'absent', equals: null },
      { op: 'setValue', name: 'n', value: { type: 'dword', data: 2 } },
    ]);
    assert.deepEqual(await db.queryValue('K', 'n'), { type: 'dword', data: 2 });
    await refusedUnchanged(
      store,
      () => db.executeBatch('K', [{ op: 'requireValue', name: 'n', equals: { type: 'dword', data: 1 } }, { op: 'setValue', name: 'n', value: { type: 'dword', data: 3 } }]),
      'ERROR_CLUSTER_DATABASE_SEQMISMATCH',
      ['"n"'],
    );
  });

  it('refuses a batch on a missing key, an unknown command, or too many commands or store writes (naming the limit)', async () => {
    const { store, db } = await fresh();
    await refusedUnchanged(store, () => db.executeBatch('Missing', []), 'ERROR_FILE_NOT_FOUND', ['Missing']);
    await db.createKey('K');
    const e = await refusedUnchanged(store, () => db.executeBatch('K', [{ op: 'frob' } as never]), 'ERROR_INVALID_PARAMETER', ['frob']);
    assert.equal((e as BatchCommandError).commandIndex, 0);
    const many = Array.from({ length: 101 }, () => ({ op: 'createKey' as const, key: 'X' }));
    await refusedUnchanged(store, () => db.executeBatch('K', many), 'ERROR_NOT_ENOUGH_QUOTA', ['101 commands', 'BATCH_COMMANDS_MAX', '100']);
    const tooManyWrites = Array.from({ length: 100 }, (_, i) => ({ op: 'setValue' as const, name: `v${i}`, value: { type: 'dword' as const, data: i } }));
    await db.executeBatch('K', tooManyWrites);
    const wider = Array.from({ length: 70 }, (_, i) => ({ op: 'createKey' as const, key: `S${i}\\T` }));
    await refusedUnchanged(store, () => db.executeBatch('K', wider), 'ERROR_NOT_ENOUGH_QUOTA', ['store writes', 'STORE_TXN_OPS_MAX', '128']);
  });
});

describe('watch', () => {
  it('reports key and value changes in the subtree with their revisions, and nothing else', async () => {
    const { db } = await fresh();
    await db.createKey('Outside');
    await db.createKey('Groups');
    const seen: { events: readonly DatabaseEvent[]; revision: number }[] = [];
    const watcher = await db.watch('Groups', (events, revision) => seen.push({ events, revision }));
    const r1 = (await db.executeBatch('Groups', [{ op: 'createKey', key: 'Web' }, { op: 'setValue', key: 'Web', name: 'Priority', value: { type: 'dword', data: 3000 } }])).revision;
    await db.setValue('Outside', 'x', { type: 'dword', data: 1 });
    await db.deleteValue('Groups\\Web', 'priority');
    await db.deleteKey('Groups\\Web');
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.cancel();
    assert.deepEqual(seen.map((s) => s.events), [
      [{ type: 'keyCreated', path: 'Groups\\Web' }, { type: 'valueSet', path: 'Groups\\Web', name: 'Priority', value: { type: 'dword', data: 3000 } }],
      [{ type: 'valueDeleted', path: 'Groups\\Web', name: 'Priority' }],
      [{ type: 'keyDeleted', path: 'Groups\\Web' }],
    ]);
    assert.equal(seen[0]!.revision, r1);
    assert.ok(seen[1]!.revision > r1 + 1, 'the write outside the subtree took a revision but was not reported');
  });

  it('replays from a revision', async () => {
    const { db } = await fresh();
    await db.createKey('K');
    const { revision } = await db.executeBatch('K', [{ op: 'setValue', name: 'a', value: { type: 'string', data: 'x' } }]);
    await db.setValue('K', 'b', { type: 'string', data: 'y' });
    const seen: DatabaseEvent[] = [];
    const watcher = await db.watch('K', (events) => seen.push(...events), { fromRevision: revision });
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.cancel();
    assert.deepEqual(seen.map((e) => (e.type === 'valueSet' ? e.name : e.type)), ['a', 'b']);
  });
});

/** A store that runs `interfere` once, just before the first transaction it forwards. */
function interfering(store: Store, interfere: () => Promise<void>): Store {
  let pending = true;
  return storeWith(store, {
    txn: async (txn: Txn): Promise<TxnResult> => {
      if (pending) {
        pending = false;
        await interfere();
      }
      return store.txn(txn);
    },
  });
}

describe('concurrent writers', () => {
  it('two databases racing read-increment batches lose no update', async () => {
    const store = await memoryStore();
    const a = new ClusterDatabase(store);
    const b = new ClusterDatabase(store);
    await a.createKey('Counter');
    await a.setValue('Counter', 'n', { type: 'qword', data: 0n });
    const incrementsEach = 40;
    let conflicts = 0;
    const incrementer = async (db: ClusterDatabase): Promise<void> => {
      for (let done = 0; done < incrementsEach; ) {
        const current = await db.queryValue('Counter', 'n');
        assert.equal(current.type, 'qword');
        try {
          await db.executeBatch('Counter', [
            { op: 'requireValue', name: 'n', equals: current },
            { op: 'setValue', name: 'n', value: { type: 'qword', data: (current.data as bigint) + 1n } },
          ]);
          done++;
        } catch (e) {
          if (!(e instanceof BatchCommandError) || e.name !== 'ERROR_CLUSTER_DATABASE_SEQMISMATCH') throw e;
          conflicts++;
        }
      }
    };
    await Promise.all([incrementer(a), incrementer(b)]);
    assert.deepEqual(await a.queryValue('Counter', 'n'), { type: 'qword', data: BigInt(2 * incrementsEach) });
    assert.ok(conflicts > 0, 'the two writers should have interleaved at least once');
  });

  it('a value changed between the read and the commit makes the batch re-read (and its condition fail)', async () => {
    const base = await memoryStore();
    const other = new ClusterDatabase(base);
    await other.createKey('K');
    await other.setValue('K', 'n', { type: 'dword', data: 1 });
    const db = new ClusterDatabase(interfering(base, () => other.setValue('K', 'n', { type: 'dword', data: 5 })));
    await rejectsWith(
      db.executeBatch('K', [{ op: 'requireValue', name: 'n', equals: { type: 'dword', data: 1 } }, { op: 'setValue', name: 'n', value: { type: 'dword', data: 2 } }]),
      'ERROR_CLUSTER_DATABASE_SEQMISMATCH',
    );
    assert.deepEqual(await other.queryValue('K', 'n'), { type: 'dword', data: 5 });
  });

  it('a subkey created between the read and the commit stops a deleteKey', async () => {
    const base = await memoryStore();
    const other = new ClusterDatabase(base);
    await other.createKey('K');
    const db = new ClusterDatabase(interfering(base, async () => void (await other.createKey('K\\Child'))));
    await rejectsWith(db.deleteKey('K'), 'ERROR_ACCESS_DENIED', ['Child']);
    assert.deepEqual(await other.enumKeys('K'), ['Child']);
  });

  it('a value set between the read and the commit is not left behind by a deleteKey', async () => {
    const base = await memoryStore();
    const other = new ClusterDatabase(base);
    await other.createKey('K');
    const db = new ClusterDatabase(interfering(base, () => other.setValue('K', 'late', { type: 'dword', data: 1 })));
    await db.deleteKey('K');
    assert.deepEqual((await base.range('/failover/db/')).kvs, []);
  });

  it('a key deleted between the read and the commit is created again, parents included, not orphaned', async () => {
    const base = await memoryStore();
    const other = new ClusterDatabase(base);
    await other.createKey('A\\B');
    const db = new ClusterDatabase(interfering(base, () => other.deleteTree('A')));
    assert.equal(await db.createKey('A\\B\\C'), true);
    assert.equal(await other.keyExists('A\\B\\C'), true);
    assert.equal((await other.openKey('A')).path, 'A');
  });

  it('racing creators and deleters never leave an entry without its key', async () => {
    const store = await memoryStore();
    const a = new ClusterDatabase(store);
    const b = new ClusterDatabase(store);
    const ignoreExpected = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
      } catch (e) {
        if (!(e instanceof Error) || !['ERROR_FILE_NOT_FOUND', 'ERROR_ACCESS_DENIED'].includes(e.name)) throw e;
      }
    };
    for (let round = 0; round < 30; round++) {
      await Promise.all([
        ignoreExpected(a.createKey(`T\\K${round % 3}\\C`)),
        ignoreExpected(b.deleteKey(`T\\K${round % 3}`)),
        ignoreExpected(a.setValue(`T\\K${round % 3}`, 'v', { type: 'dword', data: round })),
        ignoreExpected(b.deleteTree(`T\\K${(round + 1) % 3}`)),
      ]);
    }
    const { kvs } = await store.range('/failover/db/');
    const keys = new Set(kvs.map((kv) => kv.key));
    for (const kv of kvs) {
      const prefix = kv.key.slice(0, kv.key.lastIndexOf('/') + 1);
      const own = `${prefix}@key`;
      assert.ok(prefix === '/failover/db/' || keys.has(own), `${kv.key} has no key record ${own}`);
      if (kv.key.endsWith('/@key')) {
        const parent = prefix.slice(0, prefix.slice(0, -1).lastIndexOf('/') + 1);
        assert.ok(parent === '/failover/db/' || keys.has(`${parent}@key`), `${kv.key} has no parent record`);
      }
    }
    assert.ok(await dump(store));
  });
});

describe('entries the database did not write', () => {
  it('a corrupt value is reported as undeserializable data naming the entry, and watches skip it', async () => {
    const { store, db } = await fresh();
    await db.createKey('K');
    const seen: DatabaseEvent[] = [];
    const watcher = await db.watch('K', (events) => seen.push(...events));
    await store.put('/failover/db/K/@v:BROKEN', '{not json');
    await db.setValue('K', 'fine', { type: 'dword', data: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.cancel();
    assert.deepEqual(seen.map((e) => e.type), ['valueSet']);
    await rejectsWith(db.queryValue('K', 'broken'), 'ERROR_CLUSTER_CANT_DESERIALIZE_DATA', ['BROKEN']);
    await rejectsWith(db.enumValues('K'), 'ERROR_CLUSTER_CANT_DESERIALIZE_DATA', ['BROKEN']);
  });
});
