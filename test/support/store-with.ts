// A store that answers some calls its own way and forwards every other one:
// for tests of what nodes do when the store hangs, refuses or answers late.
import type { Store } from '../../src/store/store.ts';

export function storeWith(inner: Store, overrides: Partial<Store>): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
