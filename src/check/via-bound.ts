/**
 * How many ways of reaching one call a finding lists (issue 13). Every way is judged and the
 * worst decides the verdict (analyze.ts); only the list is bounded. Unbounded, it grew with
 * every import that reaches the call through the knowledge base (brk: one per malloc-using
 * import, of the file and of each --sysroot library), and a directory check wrote 622 MB.
 *
 * Listed, worst first, repeats dropped: the first way of each (verdict, how) present, and the
 * first of each kind the readers of a finding look for (so none of them reads differently when
 * ways are left out):
 * - the first in the file itself with bytes to point at (SARIF's location, report-sarif.ts);
 * - the first not at the C library's start-up (check --firmware's "where from", firmwares.ts);
 * - the first import of a fallback chain (the demo's order, cli/commands/demo.ts);
 * then the next worst up to VIA_LIMIT. At most 8 (verdict, how) pairs and 3 kinds: VIA_LIMIT
 * leaves room for all of them.
 */
import type { Via } from './types.ts';

export const VIA_LIMIT = 12;

/** A judged way of reaching a call, with its rank (judgementRank). */
export interface RankedVia {
  via: Via;
  rank: number;
  /** Where it is (place()), written on first use: a reused way's key is hashed once. */
  place?: string;
  /** The JSON of `via`, its identity: written when a cheaper look cannot tell two apart. */
  json?: string;
}

/**
 * Where a way is, cheaply: two ways equal only if these are (then their JSON decides). Joined,
 * not a template: a template's pieces stay a tree of cons strings (seven objects per key, kept
 * with the way: 21 MB of a directory check's heap), join's result is one flat string.
 */
function place(v: Via): string {
  return v.kind === 'import'
    ? [v.kind, v.library ?? '', v.symbol, v.role, v.step ?? ''].join('\0')
    : [v.kind, v.library ?? '', 'address' in v ? v.address : v.when].join('\0');
}

const json = (r: RankedVia): string => (r.json ??= JSON.stringify(r.via));

const ownBytes = (v: Via): boolean => v.library === null && v.kind !== 'startup' && v.kind !== 'library' && v.span !== undefined;
const notStartup = (v: Via): boolean => v.kind !== 'startup';
const chainImport = (v: Via): boolean => v.kind === 'import' && v.role === 'chain';
const KINDS = [ownBytes, notStartup, chainImport];

/**
 * The ways to list, worst first (ties in the order they were found), and how many distinct
 * ways were left out. `all` is in the order the ways were found.
 */
export function boundVias(all: readonly RankedVia[]): { via: Via[]; omitted: number } {
  // The ways at each place: one, or a list (rare: of the 670 thousand ways one worker of a
  // directory check judged, 414 were repeats).
  const seen = new Map<string, RankedVia | RankedVia[]>();
  const distinct: RankedVia[] = [];
  let sorted = true;
  for (const r of all) {
    const k = (r.place ??= place(r.via));
    const same = seen.get(k);
    if (same === undefined) seen.set(k, r);
    else if (!Array.isArray(same)) {
      if (same === r || json(same) === json(r)) continue;
      seen.set(k, [same, r]);
    } else if (same.includes(r) || same.some((x) => json(x) === json(r))) continue;
    else same.push(r);
    if (distinct.length && r.rank < distinct[distinct.length - 1]!.rank) sorted = false;
    distinct.push(r);
  }
  if (!sorted) distinct.sort((a, b) => a.rank - b.rank); // stable: ties keep the order found
  if (distinct.length <= VIA_LIMIT) return { via: distinct.map((r) => r.via), omitted: 0 };
  const keep = new Uint8Array(distinct.length);
  let kept = 0;
  const take = (i: number): void => {
    if (i >= 0 && !keep[i]) {
      keep[i] = 1;
      kept++;
    }
  };
  distinct.forEach((r, i) => {
    if (i === 0 || r.rank !== distinct[i - 1]!.rank) take(i);
  });
  for (const kind of KINDS) take(distinct.findIndex((r) => kind(r.via)));
  for (let i = 0; i < distinct.length && kept < VIA_LIMIT; i++) take(i);
  const via: Via[] = [];
  distinct.forEach((r, i) => {
    if (keep[i]) via.push(r.via);
  });
  return { via, omitted: distinct.length - via.length };
}
