/**
 * Which glibc functions real programs import that the libc knowledge base does not model:
 * the measure behind issue 13 ("every import modelled or a finding"). Reads every ELF file in
 * the given directories (not following symlinks), takes the undefined symbols check calls
 * (functions, and untyped non-weak ones: not data or TLS such as errno) whose version is GLIBC_*, and looks each up on the file's arch at the glibc release check assumes.
 *
 *   node --import tsx scripts/kb-coverage.ts /usr/bin /usr/sbin
 *   node --import tsx scripts/kb-coverage.ts DIR-of-an-extracted-armhf-.deb ...
 *
 * Prints per arch: files, distinct GLIBC_ imports, how many are not modelled, and those names
 * with the number of files importing each (most first). Read-only; exit 0.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '../src/elf/index.ts';
import { knowledgeBase, lookupFunction } from '../src/libc/index.ts';
import type { ArchName } from '../src/syscalls/arches.ts';

const perArch = new Map<ArchName, { files: number; imports: Map<string, number> }>();
for (const dir of process.argv.slice(2)) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (!st.isFile()) continue;
    const bytes = readFileSync(path);
    if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) continue;
    let elf: ReturnType<typeof readElf>;
    try {
      elf = readElf(new Uint8Array(bytes), path);
    } catch {
      continue; // not an ELF this reader takes: not a program of the survey
    }
    if (!elf.arch) continue;
    let a = perArch.get(elf.arch);
    if (!a) perArch.set(elf.arch, (a = { files: 0, imports: new Map() }));
    a.files++;
    const names = new Set(
      elf.imports.filter((i) => (i.type === 'func' || (i.type === 'other' && !i.weak)) && i.version?.startsWith('GLIBC_')).map((i) => i.name),
    );
    for (const n of names) a.imports.set(n, (a.imports.get(n) ?? 0) + 1);
  }
}
const version = knowledgeBase('glibc').defaultVersion;
for (const [arch, a] of perArch) {
  const missing = [...a.imports].filter(([n]) => !lookupFunction('glibc', n, arch, version)).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  console.log(`${arch}: ${a.files} files, ${a.imports.size} distinct GLIBC_ imports, ${missing.length} not modelled at glibc ${version}`);
  if (missing.length) console.log(`  ${missing.map(([n, c]) => `${n} (${c})`).join(' ')}`);
}
