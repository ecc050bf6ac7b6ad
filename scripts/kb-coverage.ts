/**
 * Which glibc functions real programs import that the libc knowledge base does not model:
 * the measure behind issue 13 ("every import modelled or a finding"). Reads every ELF file in
 * the given directories (not following symlinks; with -r their subdirectories too), takes the
 * undefined symbols check calls (functions, and untyped non-weak ones: not data or TLS such as
 * errno) whose version is GLIBC_*, and looks each up on the file's own arch (from its ELF
 * header, so an extracted armhf or arm64 .deb is measured as arm or aarch64) at the glibc
 * release check assumes.
 *
 *   node --import tsx scripts/kb-coverage.ts /usr/bin /usr/sbin
 *   node --import tsx scripts/kb-coverage.ts -r DIR-of-extracted-armhf-.debs ...
 *   node --import tsx scripts/kb-coverage.ts --exports /usr/arm-linux-gnueabihf/lib/libc.so.6 ...
 *
 * --exports FILE...: instead, what a C library offers (the functions a program could import):
 * the exported functions of each file (dynamic FUNC and IFUNC symbols, GLIBC_PRIVATE ones
 * included: glibc's own libraries import them) that no entry answers, counted per arch.
 *
 * Prints per arch, programs (an executable or a PIE; libc.so.6 has an interpreter too but is a
 * library by its soname) and libraries (the other shared objects) apart: files, distinct GLIBC_ imports, how many are not
 * modelled, and those names with the number of files importing each (most first). Read-only;
 * exit 0.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '../src/elf/index.ts';
import { knowledgeBase, lookupFunction } from '../src/libc/index.ts';
import type { ArchName } from '../src/syscalls/arches.ts';

type Kind = 'programs' | 'libraries';
interface Tally {
  files: number;
  imports: Map<string, number>;
}
const perArch = new Map<ArchName, Record<Kind, Tally>>();

function survey(path: string): void {
  const bytes = readFileSync(path);
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) return;
  let elf: ReturnType<typeof readElf>;
  try {
    elf = readElf(new Uint8Array(bytes), path);
  } catch {
    return; // not an ELF this reader takes: not a program of the survey
  }
  if (!elf.arch || (elf.type !== 'exec' && elf.type !== 'dyn')) return; // object files, cores
  let a = perArch.get(elf.arch);
  if (!a) perArch.set(elf.arch, (a = { programs: { files: 0, imports: new Map() }, libraries: { files: 0, imports: new Map() } }));
  const tally = a[elf.type === 'exec' || elf.pie ? 'programs' : 'libraries'];
  tally.files++;
  const names = new Set(
    elf.imports.filter((i) => (i.type === 'func' || (i.type === 'other' && !i.weak)) && i.version?.startsWith('GLIBC_')).map((i) => i.name),
  );
  for (const n of names) tally.imports.set(n, (tally.imports.get(n) ?? 0) + 1);
}

function walk(dir: string, recursive: boolean): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isFile()) survey(path);
    else if (recursive && st.isDirectory()) walk(path, true);
  }
}

/** --exports: the defined functions of the given libraries that no entry answers, per arch. */
function surveyExports(files: string[]): void {
  const perArchExports = new Map<ArchName, Set<string>>();
  for (const path of files) {
    const elf = readElf(new Uint8Array(readFileSync(path)), path);
    if (!elf.arch) continue;
    let names = perArchExports.get(elf.arch);
    if (!names) perArchExports.set(elf.arch, (names = new Set()));
    // 'other' holds STT_GNU_IFUNC (memcpy, strlen ... choose their implementation at load time).
    for (const sym of elf.symbols)
      if (sym.dynamic && sym.bind !== 'local' && sym.shndx !== 0 && (sym.type === 'func' || sym.type === 'other')) names.add(sym.name);
  }
  const version = knowledgeBase('glibc').defaultVersion;
  for (const [arch, names] of [...perArchExports].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const missing = [...names].filter((n) => !n.startsWith('GLIBC_') && !lookupFunction('glibc', n, arch, version)).sort();
    console.log(`${arch} exports: ${names.size} functions, ${missing.length} not modelled at glibc ${version}`);
    if (missing.length) console.log(`  ${missing.join(' ')}`);
  }
}

const args = process.argv.slice(2);
const recursive = args.includes('-r');
if (args[0] === '--exports') {
  surveyExports(args.slice(1));
  process.exit(0);
}
for (const dir of args.filter((a) => a !== '-r')) walk(dir, recursive);

const version = knowledgeBase('glibc').defaultVersion;
for (const [arch, kinds] of [...perArch].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
  for (const kind of ['programs', 'libraries'] as const) {
    const t = kinds[kind];
    if (!t.files) continue;
    const missing = [...t.imports].filter(([n]) => !lookupFunction('glibc', n, arch, version)).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    console.log(`${arch} ${kind}: ${t.files} files, ${t.imports.size} distinct GLIBC_ imports, ${missing.length} not modelled at glibc ${version}`);
    if (missing.length) console.log(`  ${missing.map(([n, c]) => `${n} (${c})`).join(' ')}`);
  }
}
