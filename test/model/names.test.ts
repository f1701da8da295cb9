import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalName } from '../../src/model/names.ts';
import { groupCommonProperties, propertyIndex, resourceCommonProperties, type PropertyDescriptor } from '../../src/model/properties.ts';

/** The registry's rule spelled out: each character upper-cased on its own, unless that makes it longer. */
function foldEachCharacter(name: string): string {
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

test('canonicalName: ASCII upper-cased; a character whose upper case is longer stays; length never changes', () => {
  assert.equal(canonicalName('PersistentState'), 'PERSISTENTSTATE');
  assert.equal(canonicalName('straße'), 'STRAßE');
  assert.equal(canonicalName('ǆ'), 'Ǆ');
  assert.equal(canonicalName(''), '');
});

test('property: canonicalName matches folding each character on its own, for any string', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (s) => {
      assert.equal(canonicalName(s), foldEachCharacter(s));
      assert.equal(canonicalName(s).length, s.length);
    }),
    { numRuns: 2000 },
  );
});

test('propertyIndex: one index per schema, exact and case-insensitive lookups, schema order kept', () => {
  const index = propertyIndex(resourceCommonProperties);
  assert.equal(propertyIndex(resourceCommonProperties), index, 'built once per schema');
  assert.notEqual(propertyIndex(groupCommonProperties), index);
  assert.equal(index.byName.get('RestartAction')?.name, 'RestartAction');
  assert.equal(index.byName.get('restartaction'), undefined);
  assert.equal(index.byCanonicalName.get(canonicalName('restartACTION'))?.name, 'RestartAction');
  assert.deepEqual(index.entries.map((e) => e.descriptor.name), resourceCommonProperties.map((d) => d.name));
  const twice: PropertyDescriptor[] = [
    { name: 'A', kind: 'dword', description: 'first' },
    { name: 'a', kind: 'string', description: 'second' },
  ];
  assert.equal(propertyIndex(twice).byCanonicalName.get('A')?.description, 'first', 'the first declaration wins, as a search in order');
});
