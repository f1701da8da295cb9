// A map that is never written once built, yet costs what a change touches:
// immutable's hash array mapped trie behind the ReadonlyMap interface the RCM's
// state exposes. A step takes a transient copy (O(1)), changes it in place,
// and seals it; the previous state keeps sharing the untouched parts.
import { Map as ImmutableMap } from 'immutable';

export class PersistentMap<K, V> implements ReadonlyMap<K, V> {
  /** Wraps a sealed (immutable) map; use from() or a TransientMap's seal(). */
  constructor(private readonly map: ImmutableMap<K, V>) {}

  static from<K, V>(entries: Iterable<readonly [K, V]> | ReadonlyMap<K, V> = []): PersistentMap<K, V> {
    if (entries instanceof PersistentMap) return entries as PersistentMap<K, V>;
    return new PersistentMap(ImmutableMap<K, V>().withMutations((m) => {
      for (const [k, v] of entries) m.set(k, v);
    }));
  }

  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  keys(): MapIterator<K> {
    return this.map.keys() as MapIterator<K>;
  }
  values(): MapIterator<V> {
    return this.map.values() as MapIterator<V>;
  }
  entries(): MapIterator<[K, V]> {
    return this.map.entries() as MapIterator<[K, V]>;
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    this.map.forEach((v, k) => {
      callback(v, k, this);
    });
  }

  /** A copy to change in place; seal() it when done. The original is untouched. */
  edit(): TransientMap<K, V> {
    return new TransientMap(this.map.asMutable());
  }
}

/** A PersistentMap being changed by one owner (one RCM step). */
export class TransientMap<K, V> {
  constructor(private map: ImmutableMap<K, V>) {}
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map = this.map.set(key, value);
  }
  delete(key: K): void {
    this.map = this.map.delete(key);
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  seal(): PersistentMap<K, V> {
    return new PersistentMap(this.map.asImmutable());
  }
}
