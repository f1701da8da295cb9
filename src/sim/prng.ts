// The simulator's one source of randomness: xoshiro128** seeded through
// splitmix32. Every choice a simulation makes (faults, their timing, operator
// actions, resource delays) is drawn from one Prng made from the run's seed,
// so a seed replays the same run exactly. 32-bit integer arithmetic only
// (Math.imul, >>> 0), so results are identical on every platform.
import { assert } from '../model/errors.ts';

/** Largest seed accepted: seeds are whole numbers that survive a JSON round trip. */
export const SEED_MAX = Number.MAX_SAFE_INTEGER;

export function isValidSeed(seed: number): boolean {
  return Number.isSafeInteger(seed) && seed >= 0 && seed <= SEED_MAX;
}

/** splitmix32: spreads a 32-bit value over the whole range (used only to seed). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    assert(isValidSeed(seed), `seed ${seed} is a whole number from 0 to ${SEED_MAX}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.s0 = splitmix32(low);
    this.s1 = splitmix32(this.s0 ^ high);
    this.s2 = splitmix32(this.s1 ^ 0x6a09e667);
    this.s3 = splitmix32(this.s2 ^ 0xbb67ae85);
    // xoshiro's state must not be all zero.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A whole number from lo to hi, both included. */
  int(lo: number, hi: number): number {
    assert(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo <= hi, `int(${lo}, ${hi}) is a range of whole numbers`);
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from a non-empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Picks by weight; weights are >= 0 and not all 0. */
  weighted<T extends string>(weights: Readonly<Record<T, number>>): T {
    const entries = (Object.entries(weights) as [T, number][]).filter(([, w]) => w > 0);
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    assert(total > 0, 'weighted pick needs a positive weight');
    let x = this.float() * total;
    for (const [k, w] of entries) {
      if (x < w) return k;
      x -= w;
    }
    return entries[entries.length - 1]![0];
  }

  /** An independent generator for one purpose, so adding draws elsewhere does not shift its sequence. */
  fork(): Prng {
    return new Prng(this.nextUint32() * 0x20_0000 + (this.nextUint32() >>> 11));
  }
}
