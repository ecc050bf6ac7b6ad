/**
 * One copy of each string in data that crossed a thread. Structured clone (and v8.deserialize)
 * gives every string its own copy, so a directory check's reports, whose ways of reaching a
 * call repeat the same knowledge-base sources and sentences thousands of times, held each of
 * them thousands of times over in the thread that kept them (issue 13: memory).
 */

/** Replaces, in place, each string in `v` (plain objects and arrays) by the table's copy of it. */
export function internStrings(v: unknown, table: Map<string, string>): void {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'string') v[i] = once(x, table);
      else internStrings(x, table);
    }
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'string') o[k] = once(x, table);
    else internStrings(x, table);
  }
}

function once(s: string, table: Map<string, string>): string {
  const had = table.get(s);
  if (had !== undefined) return had;
  table.set(s, s);
  return s;
}
