/**
 * How the linker is told to export the shim's symbols from the executable (so that shared
 * libraries' calls bind to them). -Wl,--export-dynamic-symbol=NAME needs GNU ld >= 2.35 (gold,
 * lld and mold have it too); the vendor promises only GCC 8, whose binutils may be older, and
 * every one of these linkers understands -Wl,--dynamic-list=FILE. So: ask the linker its
 * version once, use --export-dynamic-symbol where it is known to work, the list otherwise.
 */
import { spawnSync } from 'node:child_process';
import { InputError } from '../errors.ts';

export type ExportMode = 'export-dynamic-symbol' | 'dynamic-list';

/** The first GNU ld release with --export-dynamic-symbol. */
const BFD_MIN: readonly [number, number] = [2, 35];

/** SYSGATE_SHIM_EXPORT=dynamic-list|export-dynamic-symbol forces the choice (tests, odd linkers). */
export function exportModeFromEnv(env: Readonly<Record<string, string | undefined>>): ExportMode | undefined {
  const v = env.SYSGATE_SHIM_EXPORT;
  if (v === undefined || v === '') return undefined;
  if (v === 'dynamic-list' || v === 'export-dynamic-symbol') return v;
  throw new InputError(`SYSGATE_SHIM_EXPORT=${v}: use dynamic-list or export-dynamic-symbol`);
}

/** From the linker's --version text. Unknown linkers get the list, which all of them read. */
export function exportModeFor(versionText: string): ExportMode {
  const bfd = /^GNU ld .*?(\d+)\.(\d+)/m.exec(versionText);
  if (bfd) {
    const v = [Number(bfd[1]), Number(bfd[2])];
    return v[0]! > BFD_MIN[0] || (v[0] === BFD_MIN[0] && v[1]! >= BFD_MIN[1]) ? 'export-dynamic-symbol' : 'dynamic-list';
  }
  if (/^(GNU gold|LLD |mold )/m.test(versionText)) return 'export-dynamic-symbol';
  return 'dynamic-list';
}

/** Runs `driver -Wl,--version` (the linker the driver really uses, -fuse-ld included). */
export function exportMode(driver: readonly string[]): ExportMode {
  const [cmd, ...pre] = driver;
  const r = spawnSync(cmd!, [...pre, '-Wl,--version'], { encoding: 'utf8' });
  // A compiler that cannot run is the user's mistake to hear about, not a linker to guess at.
  if (r.error)
    throw new InputError(
      `cannot run '${driver.join(' ')} -Wl,--version' (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): is the compiler on PATH?`,
    );
  return exportModeFor(`${r.stdout ?? ''}\n${r.stderr ?? ''}`);
}

/** The symbol names of -Wl,--export-dynamic-symbol=NAME flags (the shim's export list). */
export function exportSymbols(flags: readonly string[]): string[] {
  const prefix = '-Wl,--export-dynamic-symbol=';
  return flags.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
}

/** A linker version script's dynamic list: `{ name; ... };`, in the given order. */
export function dynamicListText(symbols: readonly string[]): string {
  return `{\n${symbols.map((s) => `  ${s};`).join('\n')}\n};\n`;
}
