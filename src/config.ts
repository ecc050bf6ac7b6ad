/** sysgate.config.json: project defaults that command-line flags override. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DiagnosticsError, InputError } from './errors.ts';
import type { ArchName } from './syscalls/arches.ts';
import { readJsonFile } from './util/read-input.ts';
import { validateJson } from './util/validate-json.ts';

export const CONFIG_FILE = 'sysgate.config.json';

export interface Config {
  /** The file it came from; undefined when there is none. */
  file?: string;
  target?: string;
  firmware?: string;
  arches?: ArchName[] | 'all';
  formats?: string[];
  /** Absolute. */
  out?: string;
  shim?: boolean;
  /** Absolute. */
  sysroot?: string;
}

/** The nearest sysgate.config.json from `cwd` upwards, or the one named. */
export function findConfig(cwd: string, explicit?: string): string | undefined {
  if (explicit) {
    const f = resolve(cwd, explicit);
    if (!existsSync(f)) throw new InputError(`${f}: no such config file`);
    return f;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const f = join(dir, CONFIG_FILE);
    if (existsSync(f)) return f;
    if (dirname(dir) === dir) return undefined;
  }
}

export async function loadConfig(cwd: string, explicit?: string): Promise<Config> {
  const file = findConfig(cwd, explicit);
  if (!file) return {};
  // A FIFO or /dev/zero named as the config must fail at once, not hang or fill memory.
  const raw = readJsonFile(file, 'config file');
  const configSchema = (await import('../schemas/config.schema.json', { with: { type: 'json' } })).default;
  const diags = await validateJson(configSchema, raw, file);
  if (diags.length) throw new DiagnosticsError(diags);
  const c = raw as Omit<Config, 'file'>;
  // '-' means stdout on the command line only; here it would silently become a directory named '-'.
  if (c.out === '-') throw new InputError(`${file}#/out: "-" (stdout) is for --out on the command line; give a directory`);
  const base = dirname(file);
  const rel = (p: string) => resolve(base, p);
  const looksLikePath = (t: string) => t.includes('/') || t.endsWith('.json');
  return {
    file,
    ...(c.target ? { target: looksLikePath(c.target) ? rel(c.target) : c.target } : {}),
    ...(c.firmware ? { firmware: c.firmware } : {}),
    ...(c.arches ? { arches: c.arches } : {}),
    ...(c.formats ? { formats: c.formats } : {}),
    ...(c.out ? { out: rel(c.out) } : {}),
    ...(c.shim !== undefined ? { shim: c.shim } : {}),
    ...(c.sysroot ? { sysroot: rel(c.sysroot) } : {}),
  };
}
