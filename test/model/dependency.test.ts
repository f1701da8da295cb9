import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatDependencies,
  isSatisfied,
  parseDependencies,
  providersOf,
  validateDependencies,
  DEPENDENCY_DEPTH_MAX,
  type DependencyExpr,
} from '../../src/model/dependency.ts';
import { errors, type ClusterErrorValue } from '../../src/model/errors.ts';

function parse(text: string): DependencyExpr | undefined {
  const r = parseDependencies(text);
  if (r && 'code' in r) assert.fail(`unexpected error for ${text}: ${r.message}`);
  return r;
}

function parseError(text: string): ClusterErrorValue {
  const r = parseDependencies(text);
  assert.ok(r && 'code' in r, `expected an error for ${JSON.stringify(text)}`);
  return r;
}

test('parses single names, and, or, and parentheses', () => {
  assert.deepEqual(parse('[A]'), { kind: 'resource', name: 'A' });
  assert.deepEqual(parse('[A] and [B]'), {
    kind: 'and',
    items: [
      { kind: 'resource', name: 'A' },
      { kind: 'resource', name: 'B' },
    ],
  });
  assert.deepEqual(parse('[IP1] OR [IP2]'), {
    kind: 'or',
    items: [
      { kind: 'resource', name: 'IP1' },
      { kind: 'resource', name: 'IP2' },
    ],
  });
  const nested = parse('[Disk] and ([IP1] or [IP2])');
  assert.equal(formatDependencies(nested), '[Disk] and ([IP1] or [IP2])');
  assert.deepEqual(providersOf(nested), ['Disk', 'IP1', 'IP2']);
});

test('names may hold spaces, parentheses and slashes as WSFC resource names do', () => {
  const e = parse('[Microsoft Exchange Database Instance (CMS01/First Storage Group/Mailbox Database)]');
  assert.deepEqual(providersOf(e), ['Microsoft Exchange Database Instance (CMS01/First Storage Group/Mailbox Database)']);
});

test('empty text means no dependencies', () => {
  assert.equal(parse(''), undefined);
  assert.equal(parse('   '), undefined);
  assert.equal(formatDependencies(undefined), '');
});

test('format and parse round-trip', () => {
  for (const text of ['[A]', '[A] and [B] and [C]', '([A] or [B]) and [C]', '[A] or ([B] and ([C] or [D]))']) {
    assert.equal(formatDependencies(parse(text)), text);
  }
});

test('malformed expressions are refused with a code and the position', () => {
  for (const text of ['[A', '[A] and', 'A and B', '[A] and or [B]', '([A]', '[A])', '[]', '[A] [B]', '[A] and [B] or [C]']) {
    const e = parseError(text);
    assert.equal(e.code, errors.ERROR_CLUSTER_INVALID_STRING_FORMAT.code, text);
    assert.match(e.message, /dependency expression/);
  }
});

test('nesting deeper than the limit is refused as too complex', () => {
  const deep = '('.repeat(DEPENDENCY_DEPTH_MAX + 1) + '[A]' + ')'.repeat(DEPENDENCY_DEPTH_MAX + 1);
  assert.equal(parseError(deep).code, errors.ERROR_DEPENDENCY_TREE_TOO_COMPLEX.code);
});

test('isSatisfied evaluates and/or', () => {
  const e = parse('[Disk] and ([IP1] or [IP2])');
  const online = (set: string[]) => (n: string) => set.includes(n);
  assert.equal(isSatisfied(e, online(['Disk', 'IP2'])), true);
  assert.equal(isSatisfied(e, online(['Disk'])), false);
  assert.equal(isSatisfied(e, online(['IP1', 'IP2'])), false);
  assert.equal(isSatisfied(undefined, online([])), true);
});

// A small cluster: group G has A, B, C; group H has X.
const groups: Record<string, string> = { A: 'G', B: 'G', C: 'G', X: 'H' };
function check(resource: string, text: string, existing: Record<string, string[]> = {}) {
  return validateDependencies(resource, parse(text), (n) => groups[n], (n) => existing[n] ?? []);
}

test('validation accepts providers of the same group', () => {
  assert.equal(check('A', '[B] and [C]'), undefined);
});

test('validation refuses self, unknown, cross-group and cycles with WSFC codes', () => {
  assert.equal(check('A', '[A]')?.code, errors.ERROR_CIRCULAR_DEPENDENCY.code);
  const unknown = check('A', '[Nope]');
  assert.equal(unknown?.code, errors.ERROR_RESOURCE_NOT_FOUND.code);
  assert.match(unknown!.message, /Nope/);
  const cross = check('A', '[X]');
  assert.equal(cross?.code, errors.ERROR_INVALID_PARAMETER.code);
  assert.match(cross!.message, /another group/);
  const cycle = check('A', '[B]', { B: ['C'], C: ['A'] });
  assert.equal(cycle?.code, errors.ERROR_CIRCULAR_DEPENDENCY.code);
  assert.match(cycle!.message, /A -> B -> C -> A/);
});

test('a chain deeper than 100 is refused; exactly 100 is allowed', () => {
  const names = Array.from({ length: DEPENDENCY_DEPTH_MAX + 2 }, (_, i) => `R${i}`);
  const groupOf = (n: string) => (names.includes(n) ? 'G' : undefined);
  // R(i) depends on R(i+1): the chain from R0 has depth = number of edges.
  const chain = (top: number) => (n: string) => {
    const i = names.indexOf(n);
    return i >= 0 && i < top ? [names[i + 1]!] : [];
  };
  const ok = validateDependencies('R0', parse('[R1]'), groupOf, chain(DEPENDENCY_DEPTH_MAX));
  assert.equal(ok, undefined);
  const tooDeep = validateDependencies('R0', parse('[R1]'), groupOf, chain(DEPENDENCY_DEPTH_MAX + 1));
  assert.equal(tooDeep?.code, errors.ERROR_DEPENDENCY_TREE_TOO_COMPLEX.code);
});
