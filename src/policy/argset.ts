/**
 * Exact set algebra over a call's arguments, for formats whose engine (libseccomp, and so runc,
 * crun and every OCI runtime) cannot be told "the most severe matching clause wins": they get
 * disjoint rules instead, one per region where a single action applies, so the engine's own
 * order among rules cannot matter. Also tells the loader whether two entries overlap.
 *
 * A comparison on one 64-bit argument is a set of values; every such set is a union of
 * "cubes" {x : (x & mask) == value}, which is exactly what SCMP_CMP_MASKED_EQ tests. Cubes are
 * the fallback; comparisons the engine can test directly stay as they are.
 */
import { InputError } from '../errors.ts';
import type { ArgCondition, CompareOp } from './types.ts';

const M64 = 0xffffffffffffffffn;
const M32 = 0xffffffffn;

/** A comparison as libseccomp states it: 64-bit, at most one per argument in a rule. */
export interface Cmp64 {
  index: number;
  op: CompareOp;
  value: bigint;
  mask?: bigint;
}

interface Cube {
  mask: bigint;
  value: bigint;
}

const bit = (b: number): bigint => 1n << BigInt(b);
/** The bits above bit b, within the width mask. */
const above = (b: number, w: bigint): bigint => w & ~((bit(b) << 1n) - 1n);

function geCubes(v: bigint, bits: number, w: bigint): Cube[] {
  const out: Cube[] = [{ mask: w, value: v }];
  for (let b = 0; b < bits; b++) if (!(v & bit(b))) out.push({ mask: above(b, w) | bit(b), value: (v & above(b, w)) | bit(b) });
  return out;
}

function leCubes(v: bigint, bits: number, w: bigint): Cube[] {
  const out: Cube[] = [{ mask: w, value: v }];
  for (let b = 0; b < bits; b++) if (v & bit(b)) out.push({ mask: above(b, w) | bit(b), value: v & above(b, w) });
  return out;
}

/** Everything outside a cube, as cubes (they overlap; a union does not mind). */
function complement(c: Cube): Cube[] {
  const out: Cube[] = [];
  for (let b = 0; b < 64; b++) if (c.mask & bit(b)) out.push({ mask: bit(b), value: ~c.value & bit(b) });
  return out;
}

/** The values of the argument (as the kernel passes all 64 bits) that satisfy c. */
function cubesOf(c: ArgCondition): Cube[] {
  const w = c.width === 32 ? M32 : M64;
  const bits = c.width;
  const v = c.value;
  switch (c.op) {
    case 'eq':
      return v <= w ? [{ mask: w, value: v }] : [];
    case 'ne':
      return v <= w ? complement({ mask: w, value: v }) : [{ mask: 0n, value: 0n }];
    case 'masked-eq': {
      const m = (c.mask ?? 0n) & w;
      return v & ~m ? [] : [{ mask: m, value: v }];
    }
    case 'ge':
      return v > w ? [] : geCubes(v, bits, w);
    case 'gt':
      return v >= w ? [] : geCubes(v + 1n, bits, w);
    case 'le':
      return leCubes(v >= w ? w : v, bits, w);
    case 'lt':
      return v === 0n ? [] : leCubes(v > w ? w : v - 1n, bits, w);
  }
}

/** The comparison that holds exactly where c does not. */
export function negate(c: ArgCondition): ArgCondition[] {
  const flip: Partial<Record<CompareOp, CompareOp>> = { eq: 'ne', ne: 'eq', lt: 'ge', ge: 'lt', le: 'gt', gt: 'le' };
  const op = flip[c.op];
  if (op) return [{ ...c, op }];
  // not ((x & m) == v): some bit of the mask differs from v (or v has bits outside m: always).
  const w = c.width === 32 ? M32 : M64;
  const m = (c.mask ?? 0n) & w;
  if (c.value & ~m) return [{ index: c.index, op: 'masked-eq', mask: 0n, value: 0n, width: 64 }]; // always
  const out: ArgCondition[] = [];
  for (let b = 0; b < 64; b++) {
    if (m & bit(b)) out.push({ index: c.index, op: 'masked-eq', mask: bit(b), value: ~c.value & bit(b), width: 64 });
  }
  return out;
}

function meet(a: Cube, b: Cube): Cube | undefined {
  if ((a.value ^ b.value) & a.mask & b.mask) return undefined;
  return { mask: a.mask | b.mask, value: a.value | b.value };
}

/** A comparison libseccomp tests directly (it compares all 64 bits). */
function direct(c: ArgCondition): Cmp64 | undefined {
  if (c.width === 64) return { index: c.index, op: c.op, value: c.value, ...(c.op === 'masked-eq' ? { mask: c.mask ?? 0n } : {}) };
  if (c.op === 'eq') return { index: c.index, op: 'masked-eq', mask: M32, value: c.value };
  if (c.op === 'masked-eq') return { index: c.index, op: 'masked-eq', mask: (c.mask ?? 0n) & M32, value: c.value };
  return undefined;
}

/**
 * The alternatives for one argument that together hold exactly where every condition in cs
 * holds: each alternative is one comparison (or none: any value). Empty when nothing can hold.
 */
function argAlternatives(index: number, cs: ArgCondition[], limit: number): (Cmp64 | null)[] {
  // libseccomp 2.5.4 loses rules when several share a NE comparison (its tree merge drops
  // one: seen with a4 != x in two ALLOW rows), so ne becomes its two halves (le, ge).
  if (cs.length === 1 && cs[0]!.op !== 'ne') {
    const d = direct(cs[0]!);
    if (d && d.op === 'masked-eq' && d.mask === 0n) return d.value === 0n ? [null] : [];
    if (d) return cubesOf(cs[0]!).length ? [d] : [];
  }
  if (cs.every((c) => c.width === 64 && c.op !== 'masked-eq')) return intervalAlternatives(index, cs);
  let acc: Cube[] = [{ mask: 0n, value: 0n }];
  for (const c of cs) {
    const next: Cube[] = [];
    for (const a of acc) {
      for (const b of cubesOf(c)) {
        const m = meet(a, b);
        if (m) next.push(m);
        if (next.length > limit) throw tooMany(limit);
      }
    }
    acc = dedupe(next);
  }
  return acc.map((c) => (c.mask === 0n ? null : { index, op: 'masked-eq', mask: c.mask, value: c.value }));
}

type Interval = [bigint, bigint];

function intervalsOf(c: ArgCondition): Interval[] {
  const v = c.value;
  switch (c.op) {
    case 'eq':
      return [[v, v]];
    case 'ne':
      return [...(v > 0n ? [[0n, v - 1n] as Interval] : []), ...(v < M64 ? [[v + 1n, M64] as Interval] : [])];
    case 'lt':
      return v > 0n ? [[0n, v - 1n]] : [];
    case 'le':
      return [[0n, v]];
    case 'gt':
      return v < M64 ? [[v + 1n, M64]] : [];
    case 'ge':
      return [[v, M64]];
    default:
      throw new Error('masked-eq is not an interval');
  }
}

/** Plain 64-bit comparisons on one argument: their intersection is a few intervals. */
function intervalAlternatives(index: number, cs: ArgCondition[]): (Cmp64 | null)[] {
  let acc: Interval[] = [[0n, M64]];
  for (const c of cs) {
    const next: Interval[] = [];
    for (const [a, b] of acc) {
      for (const [x, y] of intervalsOf(c)) {
        const lo = a > x ? a : x;
        const hi = b < y ? b : y;
        if (lo <= hi) next.push([lo, hi]);
      }
    }
    acc = next;
  }
  const out: (Cmp64 | null)[] = [];
  for (const [lo, hi] of acc) {
    if (lo === 0n && hi === M64) out.push(null);
    else if (lo === hi) out.push({ index, op: 'eq', value: lo });
    else if (lo === 0n) out.push({ index, op: 'le', value: hi });
    else if (hi === M64) out.push({ index, op: 'ge', value: lo });
    else {
      // [lo, hi] as aligned blocks (at most 2 per bit): each block is one masked-eq.
      let x = lo;
      while (x <= hi) {
        let size = 1n;
        while ((x & (size * 2n - 1n)) === 0n && x + size * 2n - 1n <= hi && size < 1n << 63n) size *= 2n;
        out.push(size === 1n ? { index, op: 'eq', value: x } : { index, op: 'masked-eq', mask: M64 & ~(size - 1n), value: x });
        x += size;
      }
    }
  }
  return out;
}

function dedupe(cs: Cube[]): Cube[] {
  const seen = new Set<string>();
  return cs.filter((c) => {
    const k = `${c.mask}/${c.value}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

class TooMany extends Error {}
const tooMany = (limit: number): TooMany => new TooMany(`more than ${limit} rules`);

/** One AND-list as rows of libseccomp comparisons (each row at most one per argument); [] = never holds. */
function rowsOf(list: ArgCondition[], limit: number): Cmp64[][] {
  const byArg = new Map<number, ArgCondition[]>();
  for (const c of list) byArg.set(c.index, [...(byArg.get(c.index) ?? []), c]);
  let rows: Cmp64[][] = [[]];
  for (const index of [...byArg.keys()].sort((a, b) => a - b)) {
    const alts = argAlternatives(index, byArg.get(index)!, limit);
    const next: Cmp64[][] = [];
    for (const r of rows) for (const a of alts) next.push(a ? [...r, a] : r);
    if (next.length > limit) throw tooMany(limit);
    rows = next;
  }
  return rows;
}

/** AND of two DNFs (OR of AND-lists). */
function and(a: ArgCondition[][], b: ArgCondition[][], limit: number): ArgCondition[][] {
  const out: ArgCondition[][] = [];
  for (const x of a) {
    for (const y of b) {
      const t = [...x, ...y];
      // Drop terms that can never hold early: they would multiply the rest.
      if (rowsOfOrEmpty(t, limit)) out.push(t);
      if (out.length > limit) throw tooMany(limit);
    }
  }
  return out;
}

/** Whether an AND-list can hold for some arguments (true when it is too big to tell). */
function rowsOfOrEmpty(t: ArgCondition[], limit = 256): boolean {
  try {
    return rowsOf(t, limit).length > 0;
  } catch (e) {
    if (e instanceof TooMany) return true;
    throw e;
  }
}

/** Whether some arguments satisfy the AND-list. */
export function satisfiable(list: ArgCondition[]): boolean {
  return rowsOfOrEmpty(list);
}

/** Whether some arguments satisfy both AND-lists (true when too big to decide: the cautious answer). */
export function overlaps(a: ArgCondition[], b: ArgCondition[]): boolean {
  return rowsOfOrEmpty([...a, ...b]);
}

export interface DisjointRow<A> {
  action: A;
  args: Cmp64[];
}

/** NOT of an AND-list, as a DNF. */
function notList(list: ArgCondition[]): ArgCondition[][] {
  return list.flatMap((c) => negate(c).map((n) => [n]));
}

/**
 * Turns clauses (most severe first, as clausesBySeverity in evaluate.ts orders them) into rows
 * that never overlap when their actions differ: each clause AND NOT every clause of another
 * action before it. Rows of one action may overlap (every engine ORs those). Throws an
 * InputError when that takes more than `limit` rows.
 */
export function disjointRows<A>(
  clauses: readonly { action: A; conditions: ArgCondition[] }[],
  sameAction: (x: A, y: A) => boolean,
  what: string,
  limit = 32,
): DisjointRow<A>[] {
  try {
    const out: DisjointRow<A>[] = [];
    let notEarlier: ArgCondition[][] = [[]];
    let group: ArgCondition[][] = [];
    for (let i = 0; i < clauses.length; i++) {
      const c = clauses[i]!;
      if (i > 0 && !sameAction(c.action, clauses[i - 1]!.action)) {
        for (const g of group) {
          if (g.length === 0) return out; // an unconditional clause before: nothing is left
          notEarlier = and(notEarlier, notList(g), limit);
        }
        group = [];
      }
      for (const t of and(notEarlier, [c.conditions], limit)) {
        for (const args of rowsOf(t, limit)) out.push({ action: c.action, args });
        if (out.length > limit) throw tooMany(limit);
      }
      group.push(c.conditions);
    }
    return out;
  } catch (e) {
    if (e instanceof TooMany)
      throw new InputError(`${what}: the entries' overlapping argument conditions need ${e.message} to state without overlap; this format cannot express them`);
    throw e;
  }
}
