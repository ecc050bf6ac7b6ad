/**
 * The libc shim, generated and compiled once per (shim source, compiler) into a cache
 * directory, so that every link of a build reuses one object; with it, how this compiler's
 * linker is told to export the shim's symbols (probed once, cached beside the object).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Policy } from '../policy/types.ts';
import { generateShim } from '../shim/index.ts';
import { dynamicListText, exportMode, exportModeFromEnv, exportSymbols, type ExportMode } from './link-export.ts';

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.SYSGATE_CACHE_DIR) return env.SYSGATE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sysgate');
}

export interface ShimObject {
  object: string;
  source: string;
  ldflags: string[];
  /** How ldflags export the shim's symbols. */
  exportMode: ExportMode;
  /** False when the object came from the cache. */
  built: boolean;
}

export interface ShimObjectOptions {
  sigsys?: boolean;
  /** Environment: SYSGATE_SHIM_EXPORT forces the export mode (see link-export.ts). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** driver: the compiler command without caching launchers (e.g. ['env', 'X=1', 'gcc']). */
export function shimObject(policy: Policy, driver: readonly string[], cacheDir: string, opts: ShimObjectOptions = {}): ShimObject {
  const shim = generateShim(policy, { sigsys: !!opts.sigsys });
  const source = shim.files[0]!.content as string;
  const key = createHash('sha256')
    .update(source)
    .update('\0')
    .update(driver.join('\0'))
    .update('\0')
    .update(shim.flags.cflags.join(' '))
    .digest('hex')
    .slice(0, 24);
  const dir = join(cacheDir, key);
  const object = join(dir, 'shim.o');
  const src = join(dir, shim.files[0]!.name);
  mkdirSync(dir, { recursive: true });
  const mode = exportModeFromEnv(opts.env ?? {}) ?? probedExportMode(driver, cacheDir);
  const ldflags = mode === 'export-dynamic-symbol' ? shim.flags.ldflags : dynamicListFlags(dir, shim.flags.ldflags);
  if (existsSync(object)) return { object, source: src, ldflags, exportMode: mode, built: false };
  writeFileSync(src, source);
  const tmp = join(dir, `.shim.${process.pid}.o`);
  const [cmd, ...pre] = driver;
  const r = spawnSync(cmd!, [...pre, ...shim.flags.cflags, '-c', src, '-o', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`).trim();
    throw new InputError(`cannot compile the sysgate shim with ${driver.join(' ')}: ${why}`);
  }
  renameSync(tmp, object);
  return { object, source: src, ldflags, exportMode: mode, built: true };
}

/** The probe runs the linker once per compiler command: its answer is kept in the cache. */
export function probedExportMode(driver: readonly string[], cacheDir: string): ExportMode {
  const dir = join(cacheDir, 'linkers');
  const name = createHash('sha256').update(driver.join('\0')).digest('hex').slice(0, 24);
  const file = join(dir, name);
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (kept === 'export-dynamic-symbol' || kept === 'dynamic-list') return kept;
  const mode = exportMode(driver);
  mkdirSync(dir, { recursive: true });
  writeAtomic(dir, name, `${mode}\n`);
  return mode;
}

/** -Wl,--dynamic-list=FILE with the same symbols, FILE written next to the cached shim. */
function dynamicListFlags(dir: string, exportFlags: readonly string[]): string[] {
  const symbols = exportSymbols(exportFlags);
  // One list per cache directory: the directory's key already covers the shim's source.
  const name = 'shim.dynlist';
  if (!existsSync(join(dir, name))) writeAtomic(dir, name, dynamicListText(symbols));
  return [`-Wl,--dynamic-list=${join(dir, name)}`];
}

function writeAtomic(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}
