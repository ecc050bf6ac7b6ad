import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../src/elf/source.ts';
import { InputError } from '../src/errors.ts';
import { findSyscallSites } from '../src/elf/sites/index.ts';
import { readElf } from '../src/elf/reader.ts';
import { relocationAt } from '../src/elf/read/relocs.ts';
import type { ElfInfo } from '../src/elf/types.ts';
import { available, buildFor, prng, read, readelfDynSyms, TOOLCHAINS } from './helpers/elf-build.ts';
import { requireTool } from './helpers/tools.ts';

/** Imports as `name@version` / `name` with a `(weak)` suffix, sorted. */
function ourImports(e: ElfInfo): string[] {
  return e.imports.map((i) => `${i.name}${i.version ? `@${i.version}` : ''}${i.weak ? ' (weak)' : ''}`).sort();
}

function readelfImports(path: string): string[] {
  return readelfDynSyms(path)
    .filter((s) => s.ndx === 'UND' && s.name !== '' && s.bind !== 'LOCAL')
    .map((s) => `${s.name}${s.version ? `@${s.version}` : ''}${s.bind === 'WEAK' ? ' (weak)' : ''}`)
    .sort();
}

function readelfExports(path: string): string[] {
  return readelfDynSyms(path)
    .filter((s) => s.ndx !== 'UND' && s.name !== '' && s.bind !== 'LOCAL')
    .map((s) => s.name)
    .sort();
}

/** A copy of an ELF file with its section header table removed from the ELF header. */
function stripSectionHeaders(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const dv = new DataView(copy.buffer);
  const le = copy[5] === 1;
  if (copy[4] === 2) {
    dv.setBigUint64(40, 0n, le);
    dv.setUint16(60, 0, le);
    dv.setUint16(62, 0, le);
  } else {
    dv.setUint32(32, 0, le);
    dv.setUint16(48, 0, le);
    dv.setUint16(50, 0, le);
  }
  return copy;
}

/** Runs fn and requires that it either returns or throws InputError (never anything else). */
function onlyInputError(fn: () => void, what: string): 'ok' | 'error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof InputError) {
      assert.ok(!err.message.includes('\n'), `multi-line message for ${what}: ${err.message}`);
      return 'error';
    }
    throw new Error(`${what}: ${(err as Error).stack}`);
  }
}

/**
 * `offset symbol type` of every dynamic relocation naming a symbol, as `readelf -rW -D` (which
 * reads them through the dynamic segment, as ld.so does) prints them, sorted.
 */
function readelfRelocs(path: string, is64: boolean): string[] {
  const out = execFileSync('readelf', ['-rW', '-D', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rows: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]{8,16})\s+([0-9a-f]{8,16})\s+R_\S+\s+[0-9a-f]+\s+(\S+)/.exec(line);
    if (!m) continue;
    const info = BigInt(`0x${m[2]}`);
    const type = Number(is64 ? info & 0xffffffffn : info & 0xffn);
    rows.push(`${parseInt(m[1]!, 16).toString(16)} ${m[3]!.replace(/@.*$/, '')} ${type}`);
  }
  return rows.sort();
}

/**
 * `offset type [addend]` of every dynamic relocation (R_*_RELATIVE too) as `readelf -rW -D`
 * prints them, sorted; the addend (a RELA entry's, as an unsigned word) only where it prints one.
 */
function readelfAllRelocs(path: string, is64: boolean): string[] {
  const out = execFileSync('readelf', ['-rW', '-D', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const mask = is64 ? 0xffffffffffffffffn : 0xffffffffn;
  const rows: string[] = [];
  let rela = false;
  for (const line of out.split('\n')) {
    // Each table's column header says whether its entries have addends (DT_JMPREL's: DT_PLTREL).
    if (/^\s*Offset\s+Info\s/.test(line)) rela = /Addend/.test(line);
    const m = /^\s*([0-9a-f]{8,16})\s+([0-9a-f]{8,16})\s+R_\S+(.*)$/.exec(line);
    if (!m) continue;
    const info = BigInt(`0x${m[2]}`);
    const type = Number(is64 ? info & 0xffffffffn : info & 0xffn);
    const rest = m[3]!.trim();
    const signed = /([+-]) ([0-9a-f]+)$/.exec(rest);
    let addend: bigint | undefined;
    if (signed) addend = (signed[1] === '-' ? -BigInt(`0x${signed[2]}`) : BigInt(`0x${signed[2]}`)) & mask;
    else if (rela) addend = /^[0-9a-f]+$/.test(rest) ? BigInt(`0x${rest}`) : 0n;
    rows.push(`${parseInt(m[1]!, 16).toString(16)} ${type}${addend === undefined ? '' : ` ${addend.toString(16)}`}`);
  }
  return rows.sort();
}

function ourAllRelocs(e: ElfInfo): string[] {
  const mask = e.class === 64 ? 0xffffffffffffffffn : 0xffffffffn;
  const all = e.dynamicRelocations;
  return Array.from({ length: all?.length ?? 0 }, (_, i) => relocationAt(all!, i))
    .map((r) => `${r.offset.toString(16)} ${r.type}${r.addend === undefined ? '' : ` ${(BigInt(r.addend) & mask).toString(16)}`}`)
    .sort();
}

function ourRelocs(e: ElfInfo): string[] {
  return (e.relocations ?? []).map((r) => `${r.offset.toString(16)} ${r.symbol} ${r.type}`).sort();
}

/** File offset of the d_val of the first dynamic entry tagged `tag` (an untampered file: p_offset is right). */
function dynValueAt(bytes: Uint8Array, tag: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[5] === 1;
  const is64 = bytes[4] === 2;
  const word = (o: number): number => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const phoff = word(is64 ? 32 : 28);
  const phentsize = dv.getUint16(is64 ? 54 : 42, le);
  const phnum = dv.getUint16(is64 ? 56 : 44, le);
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (dv.getUint32(p, le) !== 2) continue;
    const ent = is64 ? 16 : 8;
    for (let o = word(p + (is64 ? 8 : 4)); ; o += ent) {
      const t = word(o);
      if (t === 0) break;
      if (t === tag) return o + ent / 2;
    }
  }
  throw new Error(`no dynamic tag ${tag}`);
}

function setWordAt(bytes: Uint8Array, at: number, v: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[4] === 2) dv.setBigUint64(at, BigInt(v), bytes[5] === 1);
  else dv.setUint32(at, v, bytes[5] === 1);
}

describe('elf reader', function () {
  for (const tc of TOOLCHAINS) {
    describe(`${tc.arch} (${tc.cc})`, function () {
      let paths: ReturnType<typeof buildFor>;
      before(function () {
        requireTool(this, tc.cc, tc.pkg);
        paths = buildFor(tc);
      });

      it('reads the header of a dynamic PIE', function () {
        const e = readElf(read(paths.dyn), paths.dyn);
        assert.equal(e.class, tc.class);
        assert.equal(e.endian, tc.endian);
        assert.equal(e.machine, tc.machine);
        assert.equal(e.arch, tc.arch);
        assert.equal(e.type, 'dyn');
        assert.equal(e.interp, tc.interp);
        assert.equal(e.static, false);
        assert.equal(e.pie, true);
        assert.ok(e.needed.includes('libc.so.6'), e.needed.join(','));
        // Code is what the kernel maps executable: the entry point is inside a PF_X segment.
        assert.ok(e.exec.length > 0 && e.exec.every((x) => x.shndx === -1 && x.name.startsWith('LOAD#')));
        assert.ok(e.exec.some((x) => e.entry >= x.addr && e.entry < x.addr + x.size));
        assert.deepEqual(e.warnings, []);
        assert.equal(e.cannotRun, undefined);
      });

      it('lists imports with versions, libraries and weak flags', function () {
        const e = readElf(read(paths.dyn), paths.dyn);
        const byName = new Map(e.imports.map((i) => [i.name, i]));
        const { symbolOffset, ...getentropy } = byName.get('getentropy')!;
        assert.deepEqual(getentropy, { name: 'getentropy', version: 'GLIBC_2.25', library: 'libc.so.6', weak: false, type: 'func' });
        assert.ok(symbolOffset !== undefined && symbolOffset > 0); // its Elf_Sym (checked against readelf in report-sarif.test.ts)
        assert.equal(byName.get('pipe2')?.library, 'libc.so.6');
        assert.match(byName.get('pipe2')?.version ?? '', /^GLIBC_2\./);
        assert.match(byName.get('eventfd')?.version ?? '', /^GLIBC_2\./);
        assert.match(byName.get('syscall')?.version ?? '', /^GLIBC_2\./);
        assert.equal(byName.get('__gmon_start__')?.weak, true);
        assert.equal(byName.get('__gmon_start__')?.version, undefined);
        const libc = e.versionNeeds.find((v) => v.file === 'libc.so.6');
        assert.ok(libc?.versions.includes('GLIBC_2.25'));
        assert.deepEqual(ourImports(e), readelfImports(paths.dyn));
      });

      it('reads DT_HASH binaries and binaries without section headers the same way', function () {
        const bytes = read(paths.dyn);
        const full = readElf(bytes, paths.dyn);
        const stripped = readElf(stripSectionHeaders(bytes), 'stripped');
        assert.equal(stripped.hasSections, false);
        assert.deepEqual(stripped.imports, full.imports);
        assert.deepEqual(stripped.exports, full.exports);
        assert.deepEqual(stripped.needed, full.needed);
        assert.deepEqual(stripped.versionNeeds, full.versionNeeds);
        assert.ok(stripped.exec.length > 0);
        const sysvBytes = read(paths.sysv);
        const sysv = readElf(stripSectionHeaders(sysvBytes), 'sysv-stripped');
        assert.deepEqual(ourImports(sysv), readelfImports(paths.sysv));
      });

      it('reads the dynamic relocations readelf -D finds, by address, with and without section headers', function () {
        for (const p of [paths.dyn, paths.sysv]) {
          const bytes = read(p);
          const e = readElf(bytes, p);
          const want = readelfRelocs(p, tc.class === 64);
          assert.ok(
            want.some((r) => / syscall /.test(r)),
            `${p}: readelf shows a syscall relocation`,
          );
          assert.deepEqual(ourRelocs(e), want, p);
          assert.deepEqual(ourAllRelocs(e), readelfAllRelocs(p, tc.class === 64), p);
          const dynamic = execFileSync('readelf', ['-dW', p], { encoding: 'utf8' });
          for (const [tag, got] of [
            ['INIT', e.init],
            ['FINI', e.fini],
          ] as const) {
            const m = new RegExp(`\\(${tag}\\)\\s+0x([0-9a-f]+)`).exec(dynamic);
            assert.equal(got, m ? parseInt(m[1]!, 16) : undefined, `${p}: DT_${tag}`);
          }
          assert.deepEqual(readElf(stripSectionHeaders(bytes), 'stripped').relocations, e.relocations);
          // Read with the code: an ElfInfo read for its imports only says it has none read.
          assert.equal(readElf(bytes, p, { code: false }).relocations, undefined);
        }
        assert.deepEqual(
          readElf(read(paths.static), paths.static).relocations?.filter((r) => r.symbol !== ''),
          [],
        );
      });

      it('detects a static executable', function () {
        const e = readElf(read(paths.static), paths.static);
        assert.equal(e.static, true);
        assert.equal(e.interp, undefined);
        assert.deepEqual(e.needed, []);
        assert.deepEqual(e.imports, []);
        assert.ok(e.symbols.some((s) => s.name === 'main' && s.type === 'func'));
        if (tc.arch === 'arm') {
          assert.ok(e.mappingSymbols.some((m) => m.kind === 't'));
          assert.equal(e.symbols.find((s) => s.name === 'raw_getpid')?.thumb, true);
        }
      });

      it('matches readelf --dyn-syms on the target libc.so.6', function () {
        if (!existsSync(tc.libc)) this.skip();
        const e = readElf(read(tc.libc), tc.libc);
        assert.equal(e.soname, 'libc.so.6');
        assert.deepEqual(ourImports(e), readelfImports(tc.libc));
        assert.deepEqual([...e.exports].sort(), readelfExports(tc.libc));
        assert.ok(e.versionDefs.includes('GLIBC_2.25'));
      });
    });
  }

  describe('malformed input', function () {
    let sample: Uint8Array;
    let sample32: Uint8Array | undefined;
    before(function () {
      requireTool(this, 'gcc', 'gcc');
      sample = read(buildFor(TOOLCHAINS[0]!).dyn);
      const ppc = TOOLCHAINS.find((t) => t.arch === 'ppc')!;
      if (available(ppc)) sample32 = read(buildFor(ppc).dyn);
    });

    it('a relocation table outside its segment is a warning, never an error nor silence (DT_HASH file)', function () {
      const sysvPath = buildFor(TOOLCHAINS[0]!).sysv;
      const sysv = read(sysvPath);
      const orig = readElf(sysv, 'sysv');
      const slot = orig.relocations!.find((r) => r.symbol === 'syscall' && r.table === 'DT_JMPREL');
      assert.ok(slot, 'the original binds syscall through DT_JMPREL');
      assert.deepEqual(orig.warnings, []);

      const away = sysv.slice();
      setWordAt(away, dynValueAt(away, 23 /* DT_JMPREL */), 0x7fff0000);
      const a = readElf(away, 'away');
      assert.ok(a.warnings.includes('DT_JMPREL address 0x7fff0000 is not in any loaded segment; its relocations are not read'), JSON.stringify(a.warnings));
      assert.ok(!a.relocations!.some((r) => r.table === 'DT_JMPREL'));
      assert.deepEqual(
        a.relocations,
        orig.relocations!.filter((r) => r.table !== 'DT_JMPREL'),
      );

      const long = sysv.slice();
      setWordAt(long, dynValueAt(long, 2 /* DT_PLTRELSZ */), 0x10000000);
      const l = readElf(long, 'long');
      assert.ok(
        l.warnings.some((w) => /^DT_JMPREL extends past its segment's file image; \d+ of its 11184810 relocations read$/.test(w)),
        JSON.stringify(l.warnings),
      );
      assert.ok(l.relocations!.some((r) => r.offset === slot.offset && r.symbol === 'syscall'));
    });

    it('a relocation table outside its segment is an error where it sizes the symbol table (DT_GNU_HASH only)', function () {
      const away = sample.slice();
      setWordAt(away, dynValueAt(away, 23 /* DT_JMPREL */), 0x7fff0000);
      assert.throws(
        () => readElf(away, 'away'),
        (e: unknown) => e instanceof InputError && e.message === 'away: DT_JMPREL address 0x7fff0000 is not in any loaded segment',
      );
    });

    it('rejects non-ELF input with a one-line InputError naming the file', function () {
      assert.throws(
        () => readElf(new Uint8Array(0), 'empty.bin'),
        (e: unknown) => e instanceof InputError && /^empty\.bin: not an ELF file$/.test(e.message),
      );
      assert.throws(() => readElf(new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'x.sh'), InputError);
      const bad = sample.slice();
      bad[4] = 7;
      assert.throws(() => readElf(bad, 'f'), /f: unsupported ELF class 7/);
    });

    it('reports specific header problems', function () {
      const le = true;
      const trunc = sample.slice(0, 40);
      assert.throws(() => readElf(trunc, 'f'), /^InputError: f: truncated ELF header$|f: truncated ELF header/);
      // The loader never reads section headers: a broken table is ignored, and said so.
      const sh0 = sample.slice();
      new DataView(sh0.buffer).setUint16(58, 0, le); // e_shentsize = 0
      assert.match(readElf(sh0, 'f').warnings.join('\n'), /section headers ignored .*: bad e_shentsize 0/);
      const shoff = sample.slice();
      new DataView(shoff.buffer).setBigUint64(40, BigInt(sample.length - 10), le);
      assert.match(readElf(shoff, 'f').warnings.join('\n'), /section headers ignored .*: truncated section header table/);
      const phnum = sample.slice();
      new DataView(phnum.buffer).setUint16(56, 0xfff0, le);
      assert.throws(() => readElf(phnum, 'f'), /f: truncated program header table/);
    });

    it('throws only InputError for truncations at many cut points', function () {
      for (const bytes of [sample, sample32].filter((b): b is Uint8Array => b !== undefined)) {
        const cuts = new Set<number>();
        for (let i = 0; i < 200; i++) cuts.add(i);
        for (let i = 0; i < bytes.length; i += 97) cuts.add(i);
        for (const cut of cuts) {
          const part = bytes.subarray(0, cut);
          onlyInputError(() => {
            const e = readElf(part, `cut@${cut}`);
            findSyscallSites(e, part);
          }, `cut at ${cut}`);
        }
      }
    });

    it('throws only InputError under random mutations (seeded fuzz)', function () {
      this.timeout(20000);
      const rnd = prng(0x5eed);
      const inputs = [sample, sample32].filter((b): b is Uint8Array => b !== undefined);
      const deadline = Date.now() + 2500;
      let runs = 0;
      let errors = 0;
      while (Date.now() < deadline && runs < 5000) {
        const src = inputs[runs % inputs.length]!;
        const m = src.slice();
        const flips = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < flips; k++) {
          // Bias towards the headers and tables at both ends of the file.
          const r = rnd();
          const at = r < 0.4 ? Math.floor(rnd() * 256) : r < 0.6 ? m.length - 1 - Math.floor(rnd() * Math.min(m.length, 4096)) : Math.floor(rnd() * m.length);
          const kind = rnd();
          if (kind < 0.5) m[at] = Math.floor(rnd() * 256);
          else if (kind < 0.75) m[at] = 0xff;
          else m[at] = 0;
        }
        if (onlyInputError(() => findSyscallSites(readElf(m, 'fuzz'), m), `mutation run ${runs}`) === 'error') errors++;
        runs++;
      }
      assert.ok(runs > 200, `only ${runs} fuzz runs`);
      assert.ok(errors > 0, 'fuzzing never produced an error: mutations are not reaching the parser');
    });
  });

  describe('speed', function () {
    it('reads a large library quickly', function () {
      const lib = ['/usr/lib/x86_64-linux-gnu/libcrypto.so.3', '/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'].find(
        existsSync,
      );
      if (!lib) this.skip();
      const bytes = read(lib);
      readElf(bytes, lib);
      const t0 = performance.now();
      const e = readElf(bytes, lib);
      const ms = performance.now() - t0;
      assert.ok(e.exports.length > 1000);
      assert.ok(ms < 250, `readElf took ${ms.toFixed(1)} ms on ${lib}`);
    });
  });
});

describe('elf source: a file read lazily', function () {
  it('gives the same ElfInfo and sites as the whole file in memory, reading less', function () {
    requireTool(this, 'gcc', 'gcc');
    const lib = ['/usr/lib/x86_64-linux-gnu/libcrypto.so.3', '/usr/lib/x86_64-linux-gnu/libc.so.6'].find(existsSync);
    for (const p of [buildFor(TOOLCHAINS[0]!).dyn, buildFor(TOOLCHAINS[0]!).static, ...(lib ? [lib] : [])]) {
      const whole = read(p);
      const f = ElfFile.open(p);
      try {
        const lazy = readElf(f, p);
        assert.deepEqual(lazy, readElf(whole, p));
        assert.deepEqual(findSyscallSites(lazy, f.bytes), findSyscallSites(readElf(whole, p), whole));
        const g = ElfFile.open(p);
        readElf(g, p, { code: false });
        if (whole.byteLength > 1 << 20)
          assert.ok(g.loadedBytes() < whole.byteLength / 2, `${p}: read ${g.loadedBytes()} of ${whole.byteLength} bytes for the imports`);
        g.close();
      } finally {
        f.close();
      }
    }
  });

  it('gives a large file a buffer of exactly its size, zero past what was read, with or without WebAssembly', function () {
    const dir = mkdtempSync(join(tmpdir(), 'sysgate-src-'));
    try {
      const p = join(dir, 'f');
      // Not a multiple of the 64 KiB WebAssembly page: the view must stop at the file's end.
      const b = new Uint8Array((1 << 20) + 12345);
      const rnd = prng(11);
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
      writeFileSync(p, b);
      const f = ElfFile.open(p);
      assert.equal(f.bytes.byteLength, b.length);
      f.ensure(b.length - 10, 10);
      assert.ok(
        f.bytes.subarray(0, b.length - (1 << 16)).every((x) => x === 0),
        'blocks not asked for stay zero',
      );
      f.ensureAll();
      f.close();
      assert.ok(Buffer.from(b).equals(f.bytes));
      // --jitless has no WebAssembly: the same bytes from calloc.
      const code = `import(${JSON.stringify(new URL('../src/elf/source.ts', import.meta.url).href)}).then(({ ElfFile }) => {
        const f = ElfFile.open(${JSON.stringify(p)}); f.ensureAll(); f.close();
        process.stdout.write(require('node:crypto').createHash('sha256').update(f.bytes).digest('hex') + ' ' + typeof WebAssembly);
      })`;
      const r = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', '-e', code], { encoding: 'utf8' });
      assert.equal(r.stdout, `${createHash('sha256').update(b).digest('hex')} undefined`, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never lets bytes of one block land in another (holes stay zero)', function () {
    const dir = mkdtempSync(join(tmpdir(), 'sysgate-src-'));
    try {
      const p = join(dir, 'f');
      const block = 1 << 16;
      const b = new Uint8Array(block * 3 + 100);
      const rnd = prng(7);
      for (let i = 0; i < block; i++) b[i] = 1 + Math.floor(rnd() * 255); // block 0: no zero byte
      for (let i = 2 * block; i < b.length; i++) b[i] = 0xaa; // block 1: a hole of zeros
      writeFileSync(p, b);
      const f = ElfFile.open(p);
      f.ensure(0, 1);
      f.ensure(block + 5, 1); // the hole, read after a block full of data
      f.ensure(b.length - 1, 1); // the short last block
      f.close();
      assert.deepEqual(f.bytes.subarray(0, block), Buffer.from(b.subarray(0, block)));
      assert.ok(f.bytes.subarray(block, 2 * block).every((x) => x === 0));
      assert.ok(
        f.bytes.subarray(2 * block, 3 * block).every((x) => x === 0),
        'a block never asked for is never read',
      );
      assert.deepEqual(f.bytes.subarray(3 * block), Buffer.from(b.subarray(3 * block)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
