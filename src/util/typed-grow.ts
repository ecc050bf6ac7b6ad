/**
 * Typed arrays that grow by doubling: the column builders of the ELF reader and the call graph
 * (10^5 to 10^6 entries per file, whose count is known only when they are all read).
 */
type Growable = Int32Array | Uint8Array | Uint32Array | Float64Array;

/** A copy of `a` twice as long (at least 16), its first a.length entries `a`'s. */
export function doubled<T extends Growable>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}
