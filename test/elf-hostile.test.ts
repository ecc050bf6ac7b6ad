/**
 * Files the kernel would refuse, and files built to crash, hang or exhaust `check` (issue 9).
 * Through the built CLI (dist/): one line naming the file, exit code 2, no stack trace, quickly,
 * in bounded memory. The kernel's refusal is confirmed by executing each x86_64 variant here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import type { CheckReport } from '../src/check/types.ts';
import { readElf } from '../src/elf/reader.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { cliProcess, DIST_CLI } from './helpers/cli.ts';
import { FIXTURE_SRC } from './helpers/elf-build.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

const PT_LOAD = 1;
const PT_INTERP = 3;
const PF_X = 1;

/** The report's findings, without the file name. */
const findings = (r: CheckReport): unknown => ({ syscalls: r.syscalls.map((f) => `${f.name} ${f.verdict}`), unresolved: r.unresolved.length, fatal: r.fatal });

describe('check on hostile ELF files', function () {
  this.timeout(120000);
  let dir: string;
  let dyn: string;
  let stat: string;
  let codesafe: TargetDef;
  before(async function () {
    requireTool(this, 'gcc', 'gcc');
    codesafe = await loadTarget('codesafe5');
    dir = mkdtempSync(join(tmpdir(), 'sysgate-hostile-'));
    dyn = join(dir, 'dyn');
    stat = join(dir, 'static');
    execFileSync('gcc', ['-O2', '-o', dyn, FIXTURE_SRC]);
    execFileSync('gcc', ['-O2', '-static', '-o', stat, FIXTURE_SRC]);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    chmodSync(p, 0o755);
    return p;
  };
  /** One-line error, exit 2, no stack trace. */
  const oneLineError = (path: string, re: RegExp): void => {
    const r = cliProcess(['check', path, '--target', 'codesafe5']);
    assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.includes(path), lines[0]);
    assert.match(lines[0]!, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };
  /** execve(2) itself, not execvp (which hands an ENOEXEC file to /bin/sh): 'ENOEXEC', or how the run ended. */
  const execve = (path: string): string => {
    const r = spawnSync(
      'python3',
      ['-c', 'import os,sys\ntry: os.execv(sys.argv[1], [sys.argv[1]])\nexcept OSError as e: print(os.strerror(e.errno) if e.errno != 8 else "ENOEXEC")', path],
      { encoding: 'utf8', timeout: 20000 },
    );
    return r.stdout.trim() || `status ${r.status} signal ${r.signal}`;
  };
  const kernelRefuses = (path: string): void => {
    if (!hasTool('python3')) return;
    assert.equal(execve(path), 'ENOEXEC', `the kernel ran ${path}`);
  };

  describe('files the kernel refuses to execute: "cannot run", never PASS', function () {
    // The last field: how the kernel ends it (ENOEXEC: execve refuses it; a signal: it maps
    // nothing and faults at the entry point).
    const variants: [string, (dv: DataView, b: Uint8Array) => void, RegExp, string?][] = [
      ['e_type 0x7fff', (dv) => dv.setUint16(16, 0x7fff, true), /cannot run: e_type 0x7fff is neither ET_EXEC nor ET_DYN/],
      ['e_type ET_CORE', (dv) => dv.setUint16(16, 4, true), /cannot run: e_type ET_CORE: a core dump, not a program/],
      ['e_machine of a 32-bit machine', (dv) => dv.setUint16(18, 40, true), /cannot run: e_machine 40 is a 32-bit machine in an ELFCLASS64 file/],
      ['e_phentsize 64', (dv) => dv.setUint16(54, 64, true), /cannot run: e_phentsize 64 is not 56/],
      [
        'no PT_LOAD',
        (dv) => {
          const phoff = Number(dv.getBigUint64(32, true));
          for (let i = 0; i < dv.getUint16(56, true); i++)
            if (dv.getUint32(phoff + i * 56, true) === PT_LOAD) dv.setUint32(phoff + i * 56, 0x6474e550 + 9, true);
        },
        /cannot run: no PT_LOAD segment/,
        'SIGSEGV',
      ],
      [
        'PT_INTERP without its NUL',
        (dv, b) => {
          const phoff = Number(dv.getBigUint64(32, true));
          for (let i = 0; i < dv.getUint16(56, true); i++) {
            const p = phoff + i * 56;
            if (dv.getUint32(p, true) !== PT_INTERP) continue;
            b[Number(dv.getBigUint64(p + 8, true)) + Number(dv.getBigUint64(p + 32, true)) - 1] = 0x41;
          }
        },
        /cannot run: PT_INTERP is not NUL-terminated/,
      ],
    ];
    for (const [name, edit, re, how] of variants) {
      it(name, function () {
        const b = new Uint8Array(readFileSync(dyn));
        edit(new DataView(b.buffer), b);
        const p = write(name.replace(/\W+/g, '-'), b);
        if (how && hasTool('python3')) assert.match(execve(p), new RegExp(`signal ${how}`));
        else kernelRefuses(p);
        oneLineError(p, re);
      });
    }

    it('an object file is not a program', function () {
      const obj = join(dir, 'prog.o');
      execFileSync('gcc', ['-O2', '-c', '-o', obj, FIXTURE_SRC]);
      oneLineError(obj, /cannot run: e_type ET_REL: an object file, not a program/);
      // The reader itself still reads it (sites of object files are scanned by the library API).
      assert.equal(readElf(new Uint8Array(readFileSync(obj)), obj).type, 'rel');
      // Found by a walk, an object file is skipped like an archive: a library directory with
      // crt*.o files beside its programs is still checked, not refused.
      const tree = join(dir, 'objtree');
      mkdirSync(tree);
      copyFileSync(obj, join(tree, 'prog.o'));
      const walk = cliProcess(['check', tree, '--target', 'enclave-x86_64', '--json']);
      assert.equal(walk.code, 0, walk.stderr);
      assert.deepEqual(JSON.parse(walk.stdout), []);
    });

    it('the unmodified program still runs and is checked', function () {
      assert.equal(spawnSync(dyn, []).error, undefined);
      assert.equal(checkElf(new Uint8Array(readFileSync(dyn)), dyn, codesafe).file, dyn);
    });
  });

  describe('crashes, hangs and memory', function () {
    it('65,535 overlapping executable section headers: same findings as the original, in seconds', function () {
      const orig = new Uint8Array(readFileSync(stat));
      const dv0 = new DataView(orig.buffer);
      const shoff = Number(dv0.getBigUint64(40, true));
      const shnum = dv0.getUint16(60, true);
      // A new section table at the end: the original sections, then copies of the first
      // SHF_EXECINSTR one up to 65,535 (extended numbering: e_shnum 0, count in section 0).
      let text = -1;
      for (let i = 1; i < shnum && text < 0; i++) if (Number(dv0.getBigUint64(shoff + i * 64 + 8, true)) & 4) text = i;
      const N = 65535;
      const at = Math.ceil(orig.length / 8) * 8;
      const b = new Uint8Array(at + N * 64);
      b.set(orig);
      for (let i = 0; i < N; i++) b.set(orig.subarray(shoff + (i < shnum ? i : text) * 64, shoff + (i < shnum ? i : text) * 64 + 64), at + i * 64);
      const dv = new DataView(b.buffer);
      dv.setBigUint64(40, BigInt(at), true);
      dv.setUint16(60, 0, true);
      dv.setBigUint64(at + 32, BigInt(N), true); // section 0's sh_size = the count
      const p = write('many-sections', b);
      assert.equal(spawnSync(p, []).error, undefined, 'still runs');
      const t0 = performance.now();
      const r = checkElf(new Uint8Array(readFileSync(p)), p, codesafe);
      const ms = performance.now() - t0;
      assert.deepEqual(findings(r), findings(checkElf(orig, stat, codesafe)));
      assert.ok(ms < 5000, `${ms.toFixed(0)} ms`);
    });

    it('2,000 overlapping PF_X segments: each byte of code scanned once, same findings', function () {
      const orig = new Uint8Array(readFileSync(stat));
      const dv0 = new DataView(orig.buffer);
      const phoff = Number(dv0.getBigUint64(32, true));
      const phnum = dv0.getUint16(56, true);
      let x = -1;
      for (let i = 0; i < phnum; i++) {
        const p = phoff + i * 56;
        if (dv0.getUint32(p, true) === PT_LOAD && dv0.getUint32(p + 4, true) & PF_X) x = i;
      }
      const N = 2000;
      const at = Math.ceil(orig.length / 8) * 8;
      const b = new Uint8Array(at + N * 56);
      b.set(orig);
      for (let i = 0; i < N; i++) b.set(orig.subarray(phoff + (i < phnum ? i : x) * 56, phoff + (i < phnum ? i : x) * 56 + 56), at + i * 56);
      const dv = new DataView(b.buffer);
      dv.setBigUint64(32, BigInt(at), true);
      dv.setUint16(56, 1000, true); // 1,000 x 56 bytes: within the kernel's 64 KiB
      const p = write('many-segments', b);
      const e = readElf(b, p);
      assert.equal(e.exec.length, 1, 'the duplicates collapse into one region');
      const t0 = performance.now();
      assert.deepEqual(findings(checkElf(b, p, codesafe)), findings(checkElf(orig, stat, codesafe)));
      assert.ok(performance.now() - t0 < 5000);
      // 2,000 headers are past the kernel's 64 KiB: cannot run, said in one line, quickly.
      dv.setUint16(56, N, true);
      const p2 = write('too-many-segments', b);
      kernelRefuses(p2);
      oneLineError(p2, /cannot run: program header table of 112000 bytes is over the kernel's 65536/);
    });

    it('a FIFO given as the ELF: one line, no hang', function () {
      if (!hasTool('mkfifo')) this.skip();
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const r = spawnSync(process.execPath, [DIST_CLI, 'check', fifo, '--target', 'codesafe5'], { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.signal, null, 'timed out: check blocked on the FIFO');
      assert.equal(r.status, 2);
      assert.match(r.stderr.trim(), /fifo: not a regular file or directory$/);
    });

    /** Peak RSS in MiB of `sysgate check path`, and its result. */
    const rss = (path: string, json = false): { mib: number; code: number; out: string } => {
      const r = spawnSync(
        '/usr/bin/time',
        ['-f', 'RSS %M', process.execPath, DIST_CLI, 'check', path, '--target', 'codesafe5', ...(json ? ['--format', 'json'] : [])],
        { encoding: 'utf8', timeout: 60000 },
      );
      const m = /RSS (\d+)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      return { mib: Number(m[1]) / 1024, code: r.status ?? -1, out: r.stdout };
    };

    it('a sparse 1 GiB ELF (trailing hole, and a code segment over the hole) costs little memory', function () {
      if (!hasTool('/usr/bin/time')) this.skip();
      const small = rss(stat, true);
      const big = join(dir, 'sparse');
      writeFileSync(big, readFileSync(stat));
      truncateSync(big, 2 ** 30);
      const a = rss(big, true);
      assert.equal(a.code, small.code);
      assert.deepEqual(
        (JSON.parse(a.out) as CheckReport).syscalls.map((f) => f.name),
        (JSON.parse(small.out) as CheckReport).syscalls.map((f) => f.name),
      );
      assert.ok(a.mib < small.mib + 64, `sparse 1 GiB: ${a.mib.toFixed(0)} MiB vs ${small.mib.toFixed(0)} MiB for the file itself`);
      // The code segment's p_filesz stretched over the hole: the loader maps (and we scan) 1 GiB.
      const b = new Uint8Array(readFileSync(stat));
      const dv = new DataView(b.buffer);
      const phoff = Number(dv.getBigUint64(32, true));
      for (let i = 0; i < dv.getUint16(56, true); i++) {
        const p = phoff + i * 56;
        if (dv.getUint32(p, true) === PT_LOAD && dv.getUint32(p + 4, true) & PF_X) {
          const size = BigInt(2 ** 30) - dv.getBigUint64(p + 8, true);
          dv.setBigUint64(p + 32, size, true);
          dv.setBigUint64(p + 40, size, true);
        }
      }
      const big2 = join(dir, 'sparse-code');
      writeFileSync(big2, b);
      truncateSync(big2, 2 ** 30);
      const c = rss(big2, true);
      assert.equal(c.code, small.code);
      assert.ok(c.mib < small.mib + 64, `sparse code segment: ${c.mib.toFixed(0)} MiB vs ${small.mib.toFixed(0)} MiB`);
    });

    it('a 2 GiB file: a clear one-line message', function () {
      const big = join(dir, 'huge');
      writeFileSync(big, readFileSync(stat));
      truncateSync(big, 2 ** 31);
      oneLineError(big, /ELF file is 2147483648 bytes, over the limit of 2147483647/);
    });
  });
});
