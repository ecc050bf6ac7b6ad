// Holds issue 10's rule: a per-arch fact lives on the arch record (src/syscalls/arches.ts), so
// no module decides a behaviour by comparing an arch's name against a literal. Per-ISA scanners
// (src/elf/sites/) name their ISA by design and are exempt. The x32 rule was the first fact moved
// (ArchInfo.x32); the last comparisons went with issue 10's second part, so none is allowed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { VM_ARCHES, vmMachine } from '../src/run/kernels.ts';
import { generateShim, SHIM_ARCHES } from '../src/shim/index.ts';
import { kstatStructs } from '../src/shim/kstat.ts';
import type { ShimArch } from '../src/shim/raw-call.ts';
import { ARCH_NAMES, ARCHES, type ArchName, KSTAT_FIELDS } from '../src/syscalls/arches.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { renderVmKernels, VM_KERNELS } from '../scripts/gen-vm-kernels.ts';
import { removeDir, tempDir } from './helpers/build.ts';
import { requireTool } from './helpers/tools.ts';

const ROOT = join(__dirname, '..', 'src');
const EXEMPT = (rel: string): boolean => rel === 'syscalls/arches.ts' || rel.startsWith('elf/sites/') || rel.endsWith('.generated.ts');
// `arch.name === 'x86_64'`, `arch !== 'aarch64'`, `isa === 'i386'` and the like.
const COMPARE = /\b(?:arch|isa|name)\s*[!=]==\s*'(?:arm|aarch64|x86_64|i386|ppc|ppc64|thumb)'/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('arch record holds every per-arch fact', () => {
  it('no module outside the record and the ISA scanners compares an arch name to a literal', () => {
    const found: Record<string, number> = {};
    for (const p of files(ROOT)) {
      const rel = relative(ROOT, p).split('\\').join('/');
      if (EXEMPT(rel)) continue;
      const n = (readFileSync(p, 'utf8').match(COMPARE) ?? []).length;
      if (n > 0) found[rel] = n;
    }
    for (const [rel, n] of Object.entries(found)) {
      assert.ok(n === 0, `${rel}: ${n} arch-name comparison(s); put the fact on ArchInfo instead`);
    }
  });

  it('the x32 rule is a field of the record', () => {
    assert.deepEqual(
      Object.values(ARCHES)
        .filter((a) => a.x32)
        .map((a) => a.name),
      ['x86_64'],
    );
  });
});

// Issue 10's last part: the shim's C preprocessor tests and raw system call, and `sysgate run`'s
// machines, come from the record. These keep them from creeping back into src/shim, src/run and
// the shim's templates, and hold the record's facts against real compilers and the kernel script.
describe('arch record: the shim and run facts', () => {
  const ROOT_DIR = join(__dirname, '..');
  const read = (rel: string) => readFileSync(join(ROOT_DIR, rel), 'utf8');
  const tsFiles = (dir: string) => files(join(ROOT, dir)).map((p) => relative(join(__dirname, '..'), p));

  it('src/shim and src/run name no C arch macro, convention register, qemu machine, triplet or Debian package', () => {
    const regs = new Set(Object.values(ARCHES).flatMap((a) => [a.syscall.nr, a.syscall.ret, ...a.syscall.args, ...a.syscall.clobbers]));
    // Quoted literals only: comments may give examples, code may not decide by them.
    const quoted = /'([^'\n]*)'|"([^"\n]*)"/g;
    // qemu-user and qemu-system are runner kinds, not machines.
    const banned =
      /__(x86_64|i386|aarch64|arm|powerpc|powerpc64|ARM_EABI|ILP32)__|^qemu-(?!user$|system$)|cortex-|ttyAMA|^linux-image-|^libc6-dev-|^gcc-|-linux-gnu/;
    const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const problems: string[] = [];
    for (const rel of [...tsFiles('shim'), ...tsFiles('run')]) {
      for (const m of code(read(rel)).matchAll(quoted)) {
        const s = m[1] ?? m[2] ?? '';
        if (banned.test(s) || regs.has(s)) problems.push(`${rel}: ${JSON.stringify(s)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('only templates/shim/raw.c.tmpl writes inline asm, and it names no register', () => {
    const dir = join(ROOT_DIR, 'templates/shim');
    const withAsm = readdirSync(dir).filter((f) => readFileSync(join(dir, f), 'utf8').includes('__asm__'));
    assert.deepEqual(withAsm, ['raw.c.tmpl']);
    const raw = read('templates/shim/raw.c.tmpl');
    const regs = new Set(Object.values(ARCHES).flatMap((a) => [a.syscall.nr, ...a.syscall.args, ...a.syscall.clobbers]));
    const named = [...raw.matchAll(/"([a-z][a-z0-9]*)"/g)].map((m) => m[1]!).filter((r) => regs.has(r));
    assert.deepEqual(named, []);
  });

  it("the SIGSYS handler's template names no arch and no saved register: SG_ARG and SG_SET_RET come from the record", async () => {
    const trapTarget = await loadTarget(join(ROOT_DIR, 'test/fixtures/targets/extends-codesafe5.json'));
    const t = read('templates/shim/sigsys.c.tmpl');
    const spelled = t.match(/__(x86_64|i386|aarch64|arm|powerpc|powerpc64)__|REG_[A-Z0-9]+|arm_r\d|gp_regs|uc_regs|mcontext\.regs/g) ?? [];
    assert.deepEqual(spelled, []);
    const c = generateShim(resolvePolicy(trapTarget, { firmware: '13.5', arch: 'x86_64' }), { sigsys: true }).files[0]!.content;
    for (const arch of SHIM_ARCHES) {
      const s = ARCHES[arch].shim!.sigsys;
      assert.ok(
        c.includes(`if ${s.guard}\n${s.note ? `/* ${s.note} */\n` : ''}#define SG_ARG(uc, i) ${s.arg}\n#define SG_SET_RET(uc, r) ${s.setRet}\n`),
        `${arch}: SG_ARG/SG_SET_RET`,
      );
    }
  });

  it("a shim carries each shim arch's raw call under its guard, with the record's registers and trap", async () => {
    const target = await loadTarget('codesafe5');
    for (const arch of SHIM_ARCHES) {
      const a = ARCHES[arch];
      const c = generateShim(resolvePolicy(target, { firmware: '13.7', arch })).files[0]!.content;
      assert.ok(c.includes(`#if !(${a.shim!.cppTest})\n`), `${arch}: arch check`);
      // The raw calls' chain follows its comment (the prelude's stat structs have a guard too).
      const chain = c.indexOf('/* One raw system call');
      const at = c.slice(chain).search(new RegExp(`^#(el)?if ${a.shim!.rawGuard.replace(/[()]/g, '\\$&')}$`, 'm')) + chain;
      assert.ok(at >= chain, `${arch}: raw-call guard`);
      const branch = c.slice(at, c.indexOf('\n#e', at + 1));
      for (const reg of a.syscall.args) {
        const letter = a.shim!.constraints[reg];
        assert.ok(branch.includes(letter ? `"${letter}"(` : `__asm__("${reg}")`), `${arch}: argument register ${reg}`);
      }
      const carrier = a.shim!.nrCarrier;
      const nrLetter = a.shim!.constraints[a.syscall.nr];
      if (carrier)
        assert.ok(
          branch.includes(`__asm__("${carrier.via}") = n;`) && branch.includes(`mov ${a.syscall.nr}, ${carrier.via}`),
          `${arch}: number via ${carrier.via}`,
        );
      else assert.ok(branch.includes(nrLetter ? `"${nrLetter}"(n)` : `__asm__("${a.syscall.nr}") = n;`), `${arch}: number register ${a.syscall.nr}`);
      const retLetter = a.shim!.constraints[a.syscall.ret];
      assert.ok(branch.includes(retLetter ? `"=${retLetter}"(ret)` : `return ${a.syscall.ret};`), `${arch}: result register ${a.syscall.ret}`);
      assert.ok(branch.includes(a.syscall.instruction), `${arch}: ${a.syscall.instruction}`);
      for (const r of a.syscall.clobbers) assert.ok(branch.includes(`"${r}"`), `${arch}: clobber ${r}`);
    }
  });

  // Each compiler and the arch it builds for (independent of the record); i386 and x32 have no shim.
  const COMPILERS: [string[], string, string][] = [
    [['gcc'], 'x86_64', 'gcc'],
    [['gcc', '-m32'], 'i386', 'gcc'],
    [['gcc', '-mx32'], 'x32', 'gcc'],
    [['arm-linux-gnueabihf-gcc'], 'arm', 'gcc-arm-linux-gnueabihf'],
    [['arm-linux-gnueabihf-gcc', '-mthumb'], 'arm', 'gcc-arm-linux-gnueabihf'],
    [['aarch64-linux-gnu-gcc'], 'aarch64', 'gcc-aarch64-linux-gnu'],
    [['powerpc-linux-gnu-gcc'], 'ppc', 'gcc-powerpc-linux-gnu'],
    [['powerpc64-linux-gnu-gcc'], 'ppc64', 'gcc-powerpc64-linux-gnu'],
  ];
  for (const [cc, arch, pkg] of COMPILERS) {
    it(`the shim's preprocessor tests hold for ${arch} alone under ${cc.join(' ')}`, function () {
      requireTool(this, cc[0]!, pkg);
      const src = SHIM_ARCHES.map((a) => `#if ${ARCHES[a].shim!.cppTest}\narch ${a}\n#endif\n#if ${ARCHES[a].shim!.rawGuard}\nraw ${a}\n#endif\n`).join('');
      const r = spawnSync(cc[0]!, [...cc.slice(1), '-E', '-P', '-x', 'c', '-'], { input: src, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter(Boolean);
      const shim = SHIM_ARCHES.includes(arch as ArchName);
      assert.deepEqual(
        lines.filter((l) => l.startsWith('arch ')),
        shim ? [`arch ${arch}`] : [],
      );
      // The raw call: the arch's own branch (ppc and ppc64 share one); x32 meets x86_64's, which the arch check stops first.
      if (shim) assert.ok(lines.includes(`raw ${arch}`), lines.join(', '));
    });
  }

  it('no shim template names a C arch macro: the shim picks by the record (cppTest, rawGuard, sigsys guards, kstat, uid16)', () => {
    const dir = join(ROOT_DIR, 'templates/shim');
    const named = readdirSync(dir).flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/__(x86_64|i386|aarch64|arm|powerpc|powerpc64|ARM_EABI|ARMEB|ILP32)__/g)].map((m) => `${f}: ${m[0]}`),
    );
    assert.deepEqual(named, []);
  });

  it('a record lays out struct stat64 exactly where the arch has the calls that write it', () => {
    for (const arch of SHIM_ARCHES) {
      const has64 = ['fstat64', 'fstatat64'].some((c) => syscallNumber(arch, c) !== null);
      assert.equal(ARCHES[arch].shim!.kstat.stat64 !== undefined, has64, arch);
    }
  });

  it("faccessat's fstatat core makes the calls the plan chose: the arch's fstatat twin, and *32 id calls exactly where the record says uid16", async () => {
    const target = await loadTarget('codesafe5');
    for (const arch of SHIM_ARCHES) {
      const shim = generateShim(resolvePolicy(target, { firmware: '13.7', arch }));
      const calls = shim.wrappers.find((w) => w.name === 'faccessat')?.fallback.split(' + ') ?? [];
      const [, stat, ...ids] = calls;
      assert.equal(ids.length, 5, `${arch}: codesafe5 13.7 takes the fstatat core (${calls.join(' + ')})`);
      assert.ok(
        ids.every((c) => c.endsWith('32') === ARCHES[arch].uid16),
        `${arch}: ${ids.join(' ')} (uid16 ${ARCHES[arch].uid16})`,
      );
      const c = shim.files[0]!.content;
      const macros = [...c.matchAll(/^#define SG_FA_(FSTATAT|GETUID|GETEUID|GETGID|GETEGID|GETGROUPS) SG_NR_(\w+)$/gm)].map((m) => m[2]);
      assert.deepEqual(macros, [stat, ...ids], arch);
      const struct = stat === 'fstatat64' ? 'sg_kstat64' : 'sg_kstat';
      assert.ok(c.includes(`typedef struct ${struct} sg_fa_stat;`), `${arch}: ${stat} writes struct ${struct}`);
    }
  });

  // The kernel's headers as each cross toolchain installs them (linux-libc-dev and its -cross
  // packages: /usr/<triplet>/include/asm/stat.h): the arch each compiler builds for, independent of the record.
  const KSTAT_COMPILERS: [string, ArchName, string][] = [
    ['gcc', 'x86_64', 'gcc'],
    ['arm-linux-gnueabihf-gcc', 'arm', 'gcc-arm-linux-gnueabihf'],
    ['aarch64-linux-gnu-gcc', 'aarch64', 'gcc-aarch64-linux-gnu'],
    ['powerpc-linux-gnu-gcc', 'ppc', 'gcc-powerpc-linux-gnu'],
    ['powerpc64-linux-gnu-gcc', 'ppc64', 'gcc-powerpc64-linux-gnu'],
  ];
  it('every shim arch has its stat structs checked against a compiler below', () => {
    assert.deepEqual(KSTAT_COMPILERS.map(([, a]) => a).sort(), [...SHIM_ARCHES].sort());
  });
  for (const [cc, arch, pkg] of KSTAT_COMPILERS) {
    it(`the shim's stat structs for ${arch} are <asm/stat.h>'s under ${cc}: size, and each field's offset and width`, function () {
      requireTool(this, cc, pkg);
      const a = ARCHES[arch];
      const asserts: string[] = [];
      for (const [key, cName] of [
        ['stat', 'sg_kstat'],
        ['stat64', 'sg_kstat64'],
      ] as const) {
        if (!a.shim!.kstat[key]) continue;
        asserts.push(`_Static_assert(sizeof(struct ${cName}) == sizeof(struct ${key}), "sizeof(struct ${key})");`);
        for (const f of KSTAT_FIELDS) {
          asserts.push(`_Static_assert(offsetof(struct ${cName}, ${f}) == offsetof(struct ${key}, st_${f}), "offset of ${key}.st_${f}");`);
          asserts.push(`_Static_assert(sizeof(((struct ${cName} *)0)->${f}) == sizeof(((struct ${key} *)0)->st_${f}), "width of ${key}.st_${f}");`);
        }
      }
      // The structs as a shim for the arch carries them (under its preprocessor test: a false test
      // leaves them undefined, and the asserts fail to compile).
      const src = `#include <stddef.h>\n#include <stdint.h>\n#include <asm/stat.h>\n${kstatStructs(a as ShimArch)}\n${asserts.join('\n')}\n`;
      const r = spawnSync(cc, ['-std=gnu11', '-fsyntax-only', '-x', 'c', '-'], { input: src, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(asserts.length, (a.shim!.kstat.stat64 ? 2 : 1) * (1 + 2 * KSTAT_FIELDS.length));
    });
  }

  // The kernels' packages reach scripts/fetch-kernels.sh through a generated table (the script
  // runs before npm ci, without node_modules): the table is the record's, and the script takes
  // every package name from it.
  const vmRows = () =>
    ARCH_NAMES.flatMap((n) => {
      const r = ARCHES[n].runner;
      return r?.kind === 'vm' ? [[n, ARCHES[n].debianArch, `linux-image-${r.vm.kernelFlavour}`] as const] : [];
    });

  it('scripts/vm-kernels.generated.tsv is the VM arches of the record (npm run gen:vm-kernels)', () => {
    const text = readFileSync(VM_KERNELS, 'utf8');
    assert.equal(text, renderVmKernels());
    const rows = text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'));
    assert.deepEqual(rows, vmRows());
    assert.deepEqual(
      VM_ARCHES.map((a) => vmMachine(a).kernelPackage),
      rows.map(([, d, m]) => `${m}:${d}`),
    );
  });

  it('scripts/fetch-kernels.sh names no arch, Debian arch or kernel package itself', () => {
    const code = read('scripts/fetch-kernels.sh').replace(/^\s*#.*$/gm, '');
    const named = vmRows().flatMap((row) => row.filter((w) => new RegExp(`(^|[^\\w-])${w}([^\\w-]|$)`).test(code)));
    assert.deepEqual(named, []);
  });

  it("scripts/fetch-kernels.sh fetches each table arch's kernel by the table's packages (apt stubbed), and refuses other arches", function () {
    this.timeout(30000);
    const dir = tempDir();
    try {
      // apt-cache, apt-get and dpkg stubs (test/fixtures/apt-stubs): each logs its arguments.
      const bin = join(ROOT_DIR, 'test/fixtures/apt-stubs');
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, STUB_LOG: join(dir, 'log'), SYSGATE_CACHE_DIR: join(dir, 'cache') };
      const script = join(ROOT_DIR, 'scripts/fetch-kernels.sh');
      // No argument: every arch of the table.
      const r = spawnSync('bash', [script], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const log = readFileSync(join(dir, 'log'), 'utf8');
      for (const [arch, debArch, meta] of vmRows()) {
        const image = `linux-image-6.1.0-99-${meta.replace(/^linux-image-/, '')}`;
        assert.ok(log.includes(`apt-cache depends ${meta}:${debArch}\n`), `${arch}: ${log}`);
        assert.ok(log.includes(`apt-get download -qq ${image}:${debArch}\n`), `${arch}: ${log}`);
        const kdir = join(dir, 'cache', 'kernels', arch);
        assert.equal(readFileSync(join(kdir, 'vmlinuz'), 'utf8'), `${image}_1_${debArch}.deb\n`);
        assert.equal(readFileSync(join(kdir, 'version'), 'utf8'), `${image.replace(/^linux-image-/, '')}\n`);
      }
      const bad = spawnSync('bash', [script, 'ppc64'], { env, encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr, `fetch-kernels: unknown arch 'ppc64' (${VM_ARCHES.join(', ')})\n`);
    } finally {
      removeDir(dir);
    }
  });
});
