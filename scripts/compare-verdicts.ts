/**
 * Proof that a change to `sysgate check` changed no verdict (issue 13): compares two
 * `check --format json` outputs of a directory, file by file. Per file it compares the set of
 * (syscall, verdict, how), each finding's severity, action, outcome, reason and fix, the set of
 * (verdict, how) its vias show (the report's via bound keeps one of each), the summary counts,
 * the unresolved count, unknownImports, libraries and the error of a file that could not be
 * checked. Which vias are listed past that, and `viasOmitted`, are not compared: the report is
 * bounded, the judging is not.
 *
 *   node --import tsx scripts/compare-verdicts.ts before.json after.json
 *
 * Exits 1 when anything differs. The outputs can be larger than V8's longest string, so each
 * is read in chunks and cut into its top-level array elements, each parsed on its own.
 */
import { closeSync, openSync, readSync } from 'node:fs';

type Json = Record<string, unknown>;

/** The top-level array elements of the JSON file at `path` (a single object: itself). */
function* elements(path: string): Generator<Json> {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 24);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let from = -1; // start of the current element in `buf`, -1 outside one
  let topIsObject = false;
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      for (let i = 0; i < n; i++) {
        const c = buf[i]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
          continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) {
          if (depth === 0 && c === 0x7b) topIsObject = true;
          depth++;
          if (depth === (topIsObject ? 1 : 2) && from < 0) from = i;
        } else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === (topIsObject ? 0 : 1) && from >= 0) {
            parts.push(Buffer.from(buf.subarray(from, i + 1)));
            yield JSON.parse(Buffer.concat(parts).toString('utf8')) as Json;
            parts = [];
            from = -1;
          }
        }
      }
      if (from >= 0) {
        parts.push(Buffer.from(buf.subarray(from, n)));
        from = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** What must not change for one file, as comparable lines. */
export function verdictLines(r: Json): string[] {
  if ('error' in r) return [`error ${String(r.error)}`];
  const out: string[] = [];
  for (const f of r.syscalls as Json[]) {
    const vias = new Set((f.via as Json[]).map((v) => `${String(v.verdict)}/${String(v.how ?? '')}`));
    out.push(
      `syscall ${String(f.name)} ${String(f.verdict)} ${String(f.how ?? '')} ${String(f.severity)} ${String(f.action)}`,
      `  outcome ${String(f.outcome)}`,
      `  reason ${String(f.reason ?? '')} fix ${String(f.fix ?? '')} condition ${String(f.condition ?? '')}`,
      `  via kinds ${[...vias].sort().join(' ')}`,
    );
  }
  out.sort();
  out.push(
    `summary ${JSON.stringify(r.summary)}`,
    `fatal ${String(r.fatal)}`,
    `unresolved ${(r.unresolved as unknown[]).length}`,
    `unknownImports ${JSON.stringify(r.unknownImports)}`,
    `libraries ${JSON.stringify(r.libraries)}`,
    `libc ${JSON.stringify(r.libc)}`,
  );
  return out;
}

function main(a: string, b: string): number {
  const before = new Map<string, string[]>();
  for (const r of elements(a)) before.set(String(r.file), verdictLines(r));
  let differences = 0;
  let files = 0;
  const seen = new Set<string>();
  for (const r of elements(b)) {
    const file = String(r.file);
    seen.add(file);
    files++;
    const old = before.get(file);
    if (!old) {
      differences++;
      console.log(`${file}: only in ${b}`);
      continue;
    }
    const now = verdictLines(r);
    const gone = old.filter((l) => !now.includes(l));
    const added = now.filter((l) => !old.includes(l));
    if (gone.length || added.length) {
      differences++;
      console.log(`${file}:`);
      for (const l of gone) console.log(`  - ${l}`);
      for (const l of added) console.log(`  + ${l}`);
    }
  }
  for (const file of before.keys()) {
    if (!seen.has(file)) {
      differences++;
      console.log(`${file}: only in ${a}`);
    }
  }
  console.log(`${files} files compared, ${differences} differences`);
  return differences ? 1 : 0;
}

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: compare-verdicts.ts before.json after.json');
  process.exit(2);
}
process.exitCode = main(a, b);
