// Key paths and value names of the cluster database, and where they live in the
// store.
//
// Paths are backslash-separated ("Resources\DB\Parameters"); "" is the root
// key. Names compare case-insensitively, as in the Windows registry: the store
// keys use a canonical (upper-cased) form, the records keep the display case.
//
// Store layout under the root prefix R (canonical names, escaped so that "/"
// only separates and "@" only starts an entry of the key itself):
//   R + "A/B/" + "@key"              the record of key A\B: {"path": "A\\B"} (display case)
//   R + "A/B/" + "@v:" + NAME        a value of A\B: {"path", "name", "type", "data"}
//   R + "A/B/" + "@h:" + sha256hex   a value whose escaped name is too long for a store key
//   R + "A/B/" + "C/..."             the subtree of A\B\C
// So one prefix (R + "A/B/") holds a key, its values and its whole subtree.
import { createHash } from 'node:crypto';
import { ClusterError, assert } from '../model/errors.ts';
import { canonicalName } from '../model/names.ts';
import {
  KEY_DEPTH_MAX,
  KEY_NAME_LENGTH_MAX,
  KEY_PATH_BYTES_MAX,
  ROOT_PREFIX_BYTES_MAX,
  VALUE_NAME_INLINE_BYTES_MAX,
  VALUE_NAME_LENGTH_MAX,
} from './limits.ts';

export { canonicalName };

export interface KeyPath {
  /** Names as the caller wrote them. */
  readonly display: readonly string[];
  /** Names in canonical (case-folded) form. */
  readonly canonical: readonly string[];
}

export const ROOT_PATH: KeyPath = { display: [], canonical: [] };

/** A short form of a possibly huge input, for error messages. */
export function preview(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 60))}… (${text.length} characters)` : JSON.stringify(text);
}

const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/** Parses and checks a key path; throws a ClusterError naming the path. */
export function parseKeyPath(path: unknown): KeyPath {
  if (typeof path !== 'string') {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `key path must be a string, got ${typeof path}`);
  }
  if (path === '') return ROOT_PATH;
  const display = path.split('\\');
  for (const name of display) {
    if (name === '') {
      throw new ClusterError('ERROR_INVALID_NAME', `key path ${preview(path)} has an empty key name (leading, trailing or doubled "\\")`);
    }
    if (name.length > KEY_NAME_LENGTH_MAX) {
      throw new ClusterError('ERROR_FILENAME_EXCED_RANGE', `key path ${preview(path)}: key name ${preview(name)} is longer than ${KEY_NAME_LENGTH_MAX} characters`);
    }
    if (CONTROL_CHARACTER.test(name)) {
      throw new ClusterError('ERROR_INVALID_NAME', `key path ${preview(path)}: key name ${preview(name)} contains a control character`);
    }
  }
  const result = { display, canonical: display.map(canonicalName) };
  checkPathLimits(result);
  return result;
}

/** Depth and encoded length limits, checked again whenever paths are joined. */
export function checkPathLimits(path: KeyPath): void {
  if (path.display.length > KEY_DEPTH_MAX) {
    throw new ClusterError('ERROR_FILENAME_EXCED_RANGE', `key path ${preview(formatPath(path))} is ${path.display.length} keys deep, more than ${KEY_DEPTH_MAX}`);
  }
  const bytes = Buffer.byteLength(encodedPath(path.canonical), 'utf8');
  if (bytes > KEY_PATH_BYTES_MAX) {
    throw new ClusterError('ERROR_FILENAME_EXCED_RANGE', `key path ${preview(formatPath(path))} takes ${bytes} bytes in the store, more than ${KEY_PATH_BYTES_MAX}`);
  }
}

export function joinPaths(base: KeyPath, relative: KeyPath): KeyPath {
  const joined = { display: [...base.display, ...relative.display], canonical: [...base.canonical, ...relative.canonical] };
  checkPathLimits(joined);
  return joined;
}

export function formatPath(path: KeyPath): string {
  return path.display.join('\\');
}

/** Checks a value name ("" is the key's default value); returns its canonical form. */
export function checkValueName(name: unknown, keyPath: string): string {
  if (typeof name !== 'string') {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `value name in key ${preview(keyPath)} must be a string, got ${typeof name}`);
  }
  if (name.length > VALUE_NAME_LENGTH_MAX) {
    throw new ClusterError('ERROR_FILENAME_EXCED_RANGE', `value name ${preview(name)} in key ${preview(keyPath)} is longer than ${VALUE_NAME_LENGTH_MAX} characters`);
  }
  if (name.includes('\0')) {
    throw new ClusterError('ERROR_INVALID_NAME', `value name ${preview(name)} in key ${preview(keyPath)} contains a NUL character`);
  }
  return canonicalName(name);
}

// Escaping keeps "/" a pure separator and "@" a pure marker; "%" escapes itself.
function escapeName(name: string): string {
  return name.replace(/[%/@]/g, (c) => (c === '%' ? '%25' : c === '/' ? '%2F' : '%40'));
}

function unescapeName(text: string): string {
  return text.replace(/%(25|2F|40)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function encodedPath(canonical: readonly string[]): string {
  return canonical.map((n) => `${escapeName(n)}/`).join('');
}

const RECORD_SUFFIX = '@key';
const INLINE_VALUE_MARK = '@v:';
const HASHED_VALUE_MARK = '@h:';

/** What a store key under the root stands for. */
export type StoreEntry =
  | { readonly kind: 'key'; readonly canonical: readonly string[] }
  | { readonly kind: 'value'; readonly canonical: readonly string[]; /** undefined when stored under a hash */ readonly valueName: string | undefined };

/** Maps key paths and value names to store keys under one root prefix. */
export class StoreLayout {
  constructor(readonly root: string) {
    assert(root.endsWith('/'), `database root ${JSON.stringify(root)} must end with "/"`);
    assert(Buffer.byteLength(root, 'utf8') <= ROOT_PREFIX_BYTES_MAX, `database root is longer than ${ROOT_PREFIX_BYTES_MAX} bytes`);
  }

  /** The prefix holding a key's record, its values and its whole subtree. */
  prefix(path: KeyPath): string {
    return this.root + encodedPath(path.canonical);
  }

  recordKey(path: KeyPath): string {
    assert(path.canonical.length > 0, 'the root key has no record');
    return this.prefix(path) + RECORD_SUFFIX;
  }

  valueKey(path: KeyPath, canonicalValueName: string): string {
    const escaped = escapeName(canonicalValueName);
    if (Buffer.byteLength(escaped, 'utf8') <= VALUE_NAME_INLINE_BYTES_MAX) return this.prefix(path) + INLINE_VALUE_MARK + escaped;
    return this.prefix(path) + HASHED_VALUE_MARK + createHash('sha256').update(canonicalValueName).digest('hex');
  }

  /** Decodes a store key; undefined for keys this layout did not write. */
  parse(storeKey: string): StoreEntry | undefined {
    if (!storeKey.startsWith(this.root)) return undefined;
    let rest = storeKey.slice(this.root.length);
    const canonical: string[] = [];
    while (!rest.startsWith('@')) {
      const end = rest.indexOf('/');
      if (end <= 0) return undefined;
      canonical.push(unescapeName(rest.slice(0, end)));
      rest = rest.slice(end + 1);
    }
    if (rest === RECORD_SUFFIX) return canonical.length > 0 ? { kind: 'key', canonical } : undefined;
    if (rest.startsWith(INLINE_VALUE_MARK)) return { kind: 'value', canonical, valueName: unescapeName(rest.slice(INLINE_VALUE_MARK.length)) };
    if (rest.startsWith(HASHED_VALUE_MARK)) return { kind: 'value', canonical, valueName: undefined };
    return undefined;
  }
}
