/**
 * Which C library a binary runs with, and which release of it: from the interpreter and
 * DT_NEEDED, symbols of a static binary, the --sysroot's libc.so.6 banner, an option, or the
 * newest GLIBC_ version the file references (a lower bound).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '../elf/index.ts';
import { type ElfBytes, ElfFile } from '../elf/source.ts';
import type { ElfInfo } from '../elf/types.ts';
import { compareVersions, isCovered, knowledgeBase, type Libc } from '../libc/index.ts';
import { glibcBannerRelease, newestGlibcVersion } from '../libc/version.ts';
import { ARCHES, type ArchName } from '../syscalls/arches.ts';
import type { CheckOptions, LibcInfo } from './types.ts';

/** Sonames of the C library's own parts: modelled by the knowledge base, never scanned. */
export const LIBC_PARTS =
  /^(libc\.so(\.\d+)?|libc\.musl-.*|ld-linux.*|ld64\.so.*|ld\.so.*|ld-musl-.*|libpthread\.so.*|libdl\.so.*|librt\.so.*|libm\.so.*|libutil\.so.*|libresolv\.so.*|libanl\.so.*|libBrokenLocale\.so.*|libmvec\.so.*)$/;

function maxGlibcRef(elf: ElfInfo): string | undefined {
  let best: string | undefined;
  for (const n of elf.versionNeeds) {
    for (const v of n.versions) {
      const m = /^GLIBC_(\d+\.\d+(?:\.\d+)?)$/.exec(v);
      if (m && (best === undefined || compareVersions(m[1]!, best) > 0)) best = m[1]!;
    }
  }
  return best;
}

const GLIBC_MARK = Buffer.from('GLIBC_TUNABLES');

export function detectLibc(elf: ElfInfo, src: ElfBytes): Libc | undefined {
  if (elf.interp?.includes('ld-musl') || elf.needed.some((n) => n === 'libc.so' || n.startsWith('libc.musl-'))) return 'musl';
  if (elf.needed.some((n) => n === 'libc.so.6') || elf.versionNeeds.some((n) => n.versions.some((v) => v.startsWith('GLIBC_')))) return 'glibc';
  if (!elf.static) return undefined;
  const names = new Set(elf.symbols.map((s) => s.name));
  if (names.has('__libc_setup_tls') || names.has('_dl_relocate_static_pie') || names.has('__libc_start_call_main')) return 'glibc';
  if (names.has('__init_libc') || names.has('__libc_start_init')) return 'musl';
  // The last resort looks at every byte: read them all (a stripped static binary, small).
  src.ensure(0, src.bytes.byteLength);
  const bytes = src.bytes;
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(GLIBC_MARK) >= 0) return 'glibc';
  return undefined;
}

export function findInSysroot(sysroot: string, arch: ArchName, name: string): string | undefined {
  for (const t of ARCHES[arch].triplets) {
    for (const d of [`lib/${t}`, `usr/lib/${t}`]) {
      const p = join(sysroot, d, name);
      if (existsSync(p)) return p;
    }
  }
  for (const d of ['lib', 'usr/lib', ARCHES[arch].multilibDir]) {
    const p = join(sysroot, d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const sysrootGlibcs = new Map<string, { version: string; path: string } | undefined>();

/** The release of the sysroot's libc.so.6 (read once per process and arch). */
function sysrootGlibc(sysroot: string, arch: ArchName): { version: string; path: string } | undefined {
  const key = `${sysroot}\0${arch}`;
  if (!sysrootGlibcs.has(key)) sysrootGlibcs.set(key, readSysrootGlibc(sysroot, arch));
  return sysrootGlibcs.get(key);
}

/** Its banner, else its newest GLIBC_ definition. */
function readSysrootGlibc(sysroot: string, arch: ArchName): { version: string; path: string } | undefined {
  const p = findInSysroot(sysroot, arch, 'libc.so.6');
  if (!p) return undefined;
  try {
    // The banner is in .rodata: the whole (small) library is read, through the lazy reader's checks.
    const f = ElfFile.open(p);
    let bytes: Uint8Array;
    try {
      f.ensureAll();
      bytes = f.bytes;
    } finally {
      f.close();
    }
    const v = glibcBannerRelease(bytes) ?? newestGlibcVersion(readElf(bytes, p).versionDefs);
    return v ? { version: v, path: p } : undefined;
  } catch {
    return undefined; // fall through to the file's own references
  }
}

/** The release to ask the knowledge base about, where it comes from, and whether it is covered. */
export function libcVersion(elf: ElfInfo, libc: Libc | undefined, opts: CheckOptions, isLibrary: boolean): LibcInfo {
  if (!libc) return { name: 'unknown' };
  const info: LibcInfo = { name: libc };
  const referenced = libc === 'glibc' ? maxGlibcRef(elf) : undefined;
  if (referenced) info.referenced = referenced;
  const kb = knowledgeBase(libc);
  const range = `${kb.coverage.from}-${kb.coverage.through}`;
  const known = (version: string, versionFrom: 'sysroot' | 'option' | 'references', what: string): LibcInfo => {
    const covered = isCovered(libc, version);
    const side = compareVersions(version, kb.coverage.from) < 0 ? 'older' : 'newer';
    return {
      ...info,
      version,
      versionFrom,
      covered,
      ...(covered ? {} : { notice: `${libc} ${version} (${what}) is ${side} than the knowledge base covers (${range}): findings for it may be wrong` }),
    };
  };
  if (opts.libcVersion) return known(opts.libcVersion, 'option', '--libc-version');
  if (opts.sysroot && libc === 'glibc' && elf.arch) {
    const found = sysrootGlibc(opts.sysroot, elf.arch);
    if (found) return known(found.version, 'sysroot', found.path);
  }
  const def = kb.defaultVersion;
  // A version reference is a lower bound: a binary built against 2.36 may reference only 2.34.
  if (referenced && compareVersions(referenced, def) > 0) return known(referenced, 'references', `its newest reference GLIBC_${referenced}`);
  // Every executable linked against glibc >= 2.34 references __libc_start_main@GLIBC_2.34 (a
  // library need not): an older newest reference means it was built against an older glibc.
  if (libc === 'glibc' && !isLibrary && !elf.static && referenced && compareVersions(referenced, kb.coverage.from) < 0) {
    return {
      ...info,
      version: def,
      versionFrom: 'default',
      covered: false,
      notice: `built against glibc older than ${kb.coverage.from} (newest reference GLIBC_${referenced}), which the knowledge base does not cover; ${def} is assumed: give --sysroot or --libc-version for the glibc it runs with`,
    };
  }
  return { ...info, version: def, versionFrom: 'default', covered: true };
}
