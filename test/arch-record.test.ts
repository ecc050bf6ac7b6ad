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
import { ARCH_NAMES, ARCHES, type ArchName } from '../src/syscalls/arches.ts';
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
      // The raw calls' chain follows its comment (the prelude's struct stat chain has guards too).
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

  it('scripts/fetch-kernels.sh fetches the kernel of each VM arch the record names', () => {
    const script = read('scripts/fetch-kernels.sh');
    const cases = [...script.matchAll(/^ {4}(\w+)\) debarch=(\S+); meta=linux-image-(\S+) ;;$/gm)].map((m) => [m[1], m[2], m[3]]);
    const want = ARCH_NAMES.flatMap((n) => {
      const r = ARCHES[n].runner;
      return r?.kind === 'vm' ? [[n, ARCHES[n].debianArch, r.vm.kernelFlavour]] : [];
    });
    assert.deepEqual(cases, want);
    assert.deepEqual(
      VM_ARCHES.map((a) => vmMachine(a).kernelPackage),
      want.map(([, d, f]) => `linux-image-${f}:${d}`),
    );
  });
});
