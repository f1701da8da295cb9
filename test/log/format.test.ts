import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatLine, logLevels, parseLine, placeholderPrefix, type LogRecord } from '../../src/log/format.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'cluster-logs');

test('formats a line exactly as WSFC does', () => {
  const line = formatLine({
    pid: 0xa1c,
    tid: 0xe0c,
    timeMs: Date.UTC(2013, 9, 9, 1, 12, 5, 120),
    level: 'ERR',
    component: 'RES',
    text: 'ExchangeOpen: Error: 70.',
  });
  assert.equal(line, '00000a1c.00000e0c::2013/10/09-01:12:05.120 ERR   [RES] ExchangeOpen: Error: 70.');
  assert.equal(
    formatLine({ pid: 1, tid: 2, timeMs: 0, level: 'INFO', component: 'API', text: 'Online.' }),
    '00000001.00000002::1970/01/01-00:00:00.000 INFO  [API] Online.',
  );
});

test('parses a fixture line into its parts', () => {
  const r = parseLine('00000a1c.00000c50::2013/10/09-02:40:16.004 WARN  [RCM] rcm::RcmApi::OnlineResource: retrying: CMS01, 5908.');
  assert.deepEqual(r, {
    pid: 0xa1c,
    tid: 0xc50,
    timeMs: Date.UTC(2013, 9, 9, 2, 40, 16, 4),
    level: 'WARN',
    component: 'RCM',
    text: 'rcm::RcmApi::OnlineResource: retrying: CMS01, 5908.',
  });
});

test('the KB placeholder prefix parses as unknown pid, tid and time', () => {
  const r = parseLine(`${placeholderPrefix} ERR [RES] Type <R>: failed.`);
  assert.deepEqual(r, { level: 'ERR', component: 'RES', text: 'Type <R>: failed.' });
  assert.equal(formatLine({ level: 'INFO', component: 'API', text: 'Online.' }), `${placeholderPrefix} INFO  [API] Online.`);
});

test('tolerates one space after ERR, no-break spaces, tabs, CRLF and trailing blanks', () => {
  const want = { pid: 1, tid: 2, timeMs: Date.UTC(2020, 0, 2, 3, 4, 5, 6), level: 'ERR', component: 'RHS', text: 'x y' };
  for (const line of [
    '00000001.00000002::2020/01/02-03:04:05.006 ERR [RHS] x y',
    '00000001.00000002::2020/01/02-03:04:05.006\u00a0ERR\u00a0 [RHS] x y',
    '00000001.00000002::2020/01/02-03:04:05.006\tERR\t[RHS] x y',
    '00000001.00000002::2020/01/02-03:04:05.006 ERR   [RHS] x y\r',
    '00000001.00000002::2020/01/02-03:04:05.006 ERR   [RHS] x y   ',
    '00000001.00000002::2020/01/02-03:04:05.006 ERR   [RHS] x y\u00a0\r',
  ]) {
    assert.deepEqual(parseLine(line), want, JSON.stringify(line));
  }
});

test('rejects what is not the format', () => {
  for (const line of [
    '',
    'garbage',
    '    continuation of a multi-line message',
    '// comment from the KB',
    '0000001.00000002::2020/01/02-03:04:05.006 INFO  [RCM] seven hex digits',
    '0000000g.00000002::2020/01/02-03:04:05.006 INFO  [RCM] not hex',
    '00000001.00000002::2020/13/02-03:04:05.006 INFO  [RCM] month 13',
    '00000001.00000002::2021/02/29-03:04:05.006 INFO  [RCM] no Feb 29 in 2021',
    '00000001.00000002::2020/01/02-24:04:05.006 INFO  [RCM] hour 24',
    '00000001.00000002::2020/01/02-03:04:05.006 NOTE  [RCM] unknown level',
    '00000001.00000002::2020/01/02-03:04:05.006 info  [RCM] lower-case level',
    '00000001.00000002::2020/01/02-03:04:05.006 INFO  RCM no brackets',
    '00000001.00000002::2020/01/02-03:04:05.006 INFO  [RCM no closing bracket',
    '00000001.00000002::2020/01/02-03:04:05.006 INFO  [] empty component',
    '00000001.00000002::2020/01/02-03:04:05.006INFO  [RCM] no blank after the time',
    'xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mm INFO  [RCM] short placeholder',
  ]) {
    assert.equal(parseLine(line), undefined, JSON.stringify(line));
  }
});

test('leap day of a leap year parses', () => {
  assert.equal(parseLine('00000001.00000002::2020/02/29-00:00:00.000 INFO  [RCM] x')?.timeMs, Date.UTC(2020, 1, 29));
});

const textArb = fc
  .string({ unit: 'grapheme', maxLength: 80 })
  .map((s) => s.replace(/[\r\n]+/g, ' ').trimEnd());
const componentArb = fc.stringMatching(/^[A-Z][A-Za-z0-9_]{0,7}$/);

test('round trip: parse(format(r)) deep-equals r', () => {
  const known = fc.record({
    pid: fc.integer({ min: 0, max: 0xffffffff }),
    tid: fc.integer({ min: 0, max: 0xffffffff }),
    timeMs: fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
    level: fc.constantFrom(...logLevels),
    component: componentArb,
    text: textArb,
  });
  const unknown = fc.record({ level: fc.constantFrom(...logLevels), component: componentArb, text: textArb });
  fc.assert(
    fc.property(fc.oneof(known, unknown), (r: LogRecord) => {
      assert.deepEqual(parseLine(formatLine(r)), { ...r }); // fast-check builds null-prototype records
    }),
    { numRuns: 2000 },
  );
});

test('every line of the seed excerpt and of the shared fixture parses', () => {
  for (const name of ['kb2893882-seed-excerpt.txt', 'kb2893882-node2.log']) {
    const lines = readFileSync(join(fixtures, name), 'utf8').split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 16, `${name} has its lines`);
    for (const line of lines) assert.ok(parseLine(line), `${name}: ${line}`);
  }
  // The seed writes the timeless placeholder; the fixture has real times.
  const seedFirst = parseLine(readFileSync(join(fixtures, 'kb2893882-seed-excerpt.txt'), 'utf8').split('\n')[0]!);
  assert.deepEqual(seedFirst?.level, 'ERR');
  assert.equal(seedFirst?.timeMs, undefined);
  assert.match(seedFirst?.text ?? '', /^Microsoft Exchange Database Instance <リソース名>: \[EXRES\] ExchangeOpen/);
});
