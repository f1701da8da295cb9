// Self-checking keys and values for the crash test: each value names its own
// key and ends with a hash of what precedes it, so a reader can tell a whole
// value from a damaged one.

import { createHash } from 'node:crypto';

export const CRASH_KEY_PREFIX = 'crash/';

export function crashValue(key: string, index: number): string {
  // Sizes vary from tens of bytes to ~6 KiB, so records straddle pages.
  const filler = 'x'.repeat((index * 7919) % 6_000);
  const body = `${key}|${index}|${filler}`;
  return `${body}|${createHash('sha256').update(body).digest('hex')}`;
}

/** Whether value is a whole value written for key. */
export function crashValueIsWhole(key: string, value: string): boolean {
  const cut = value.lastIndexOf('|');
  const body = value.slice(0, cut);
  return cut > 0 && body.startsWith(`${key}|`) && createHash('sha256').update(body).digest('hex') === value.slice(cut + 1);
}

export function crashKey(index: number): string {
  return `${CRASH_KEY_PREFIX}${String(index).padStart(8, '0')}`;
}
