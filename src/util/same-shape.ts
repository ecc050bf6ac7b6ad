/**
 * Copies that keep V8's hidden classes shared.
 *
 * In the V8 of Node 20 (11.3), an object literal that begins with a spread and then adds keys
 * (`{ ...via, verdict }`) gets a hidden class of its own, one per object: the spread's copy of
 * the source's class sits outside the transition tree, so every key added after it makes a new
 * class. `check /usr/bin --sysroot /` made about 125,000 such classes (a fifth of its live
 * heap, and every property access on those objects megamorphic). Object.assign onto a fresh
 * literal follows the tree, so copies with the same keys share one class, as literals do.
 * Hot paths copy with these; a literal that starts with its own keys and spreads after them is
 * fine as it is.
 */

/** `{ ...base, ...more }`, with shared hidden classes (same keys, same order, same values). */
export function withProps<T extends object, U extends object>(base: T, more: U): T & U {
  return Object.assign({}, base, more);
}
