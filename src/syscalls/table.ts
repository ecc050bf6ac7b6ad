/** Lookups over the generated per-arch syscall table. Absent on an arch is `null`, not an error. */
import type { ArchName } from './arches.ts';
import { SYSCALL_ROWS, TABLE_ARCHES, TABLE_SOURCE } from './table.generated.ts';

export { TABLE_SOURCE };

interface ArchTable {
  byName: Map<string, number>;
  byNumber: Map<number, string>;
  max: number;
}

const COLUMN: Record<ArchName, number> = Object.fromEntries(TABLE_ARCHES.map((a, i) => [a, i + 1])) as Record<ArchName, number>;

const ALL_NAMES: readonly string[] = SYSCALL_ROWS.map((r) => r[0]);
const NAME_SET = new Set(ALL_NAMES);
const tables = new Map<ArchName, ArchTable>();

function table(arch: ArchName): ArchTable {
  let t = tables.get(arch);
  if (!t) {
    const col = COLUMN[arch];
    t = { byName: new Map(), byNumber: new Map(), max: 0 };
    for (const row of SYSCALL_ROWS) {
      const nr = row[col] as number | null | undefined;
      if (nr === null || nr === undefined) continue;
      t.byName.set(row[0], nr);
      t.byNumber.set(nr, row[0]);
      if (nr > t.max) t.max = nr;
    }
    tables.set(arch, t);
  }
  return t;
}

/** The number of `name` on `arch`, or null when the arch has no such syscall. */
export function syscallNumber(arch: ArchName, name: string): number | null {
  return table(arch).byName.get(name) ?? null;
}

export function syscallName(arch: ArchName, nr: number): string | undefined {
  return table(arch).byNumber.get(nr);
}

/** A syscall on at least one of our arches. */
export function isKnownSyscall(name: string): boolean {
  return NAME_SET.has(name);
}

export function allSyscallNames(): readonly string[] {
  return ALL_NAMES;
}

/** Every (name, nr) on an arch, sorted by number. */
export function syscallsOn(arch: ArchName): { name: string; nr: number }[] {
  return [...table(arch).byName].map(([name, nr]) => ({ name, nr })).sort((a, b) => a.nr - b.nr);
}

/** Highest number the table knows on this arch; everything above it is unknown. */
export function tableMax(arch: ArchName): number {
  return table(arch).max;
}
