/**
 * The libc shim, generated and compiled once per (shim source, compiler) into a cache
 * directory, so that every link of a build reuses one object.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Policy } from '../policy/types.ts';
import { generateShim } from '../shim/index.ts';

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.SYSGATE_CACHE_DIR) return env.SYSGATE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sysgate');
}

export interface ShimObject {
  object: string;
  source: string;
  ldflags: string[];
  /** False when the object came from the cache. */
  built: boolean;
}

export function shimObject(policy: Policy, compiler: string, cacheDir: string, opts: { sigsys?: boolean } = {}): ShimObject {
  const shim = generateShim(policy, { sigsys: !!opts.sigsys });
  const source = shim.files[0]!.content as string;
  const key = createHash('sha256').update(source).update('\0').update(compiler).update('\0').update(shim.flags.cflags.join(' ')).digest('hex').slice(0, 24);
  const dir = join(cacheDir, key);
  const object = join(dir, 'shim.o');
  const src = join(dir, shim.files[0]!.name);
  if (existsSync(object)) return { object, source: src, ldflags: shim.flags.ldflags, built: false };
  mkdirSync(dir, { recursive: true });
  writeFileSync(src, source);
  const tmp = join(dir, `.shim.${process.pid}.o`);
  const r = spawnSync(compiler, [...shim.flags.cflags, '-c', src, '-o', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`).trim();
    throw new InputError(`cannot compile the sysgate shim with ${compiler}: ${why}`);
  }
  renameSync(tmp, object);
  return { object, source: src, ldflags: shim.flags.ldflags, built: true };
}
