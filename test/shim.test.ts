import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../src/generate.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy, Rule } from '../src/policy/types.ts';
import { FALLBACKS } from '../src/shim/fallbacks.ts';
import { generateShim, libcEntries, planShim, verdictOf } from '../src/shim/index.ts';
import type { ArchName } from '../src/syscalls/arches.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { compileC, removeDir, sh, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';
import { ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

const FIXTURES = join(ROOT, 'test/fixtures/shim');
const CROSS: Record<string, [string, string]> = {
  x86_64: ['gcc', 'gcc'],
  arm: ['arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf'],
  aarch64: ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
  ppc: ['powerpc-linux-gnu-gcc', 'gcc-powerpc-linux-gnu'],
  ppc64: ['powerpc64-linux-gnu-gcc', 'gcc-powerpc64-linux-gnu'],
};
const FIRMWARES = ['13.4', '13.5', '13.7'];
const WARN = ['-Wall', '-Wextra', '-Werror'];

/** New call -> the old one its fallback uses ('' when none: always denied in the test policy). */
const PAIRS: Record<string, string> = {
  getrandom: 'openat',
  pipe2: 'pipe',
  dup3: 'dup2',
  accept4: 'accept',
  eventfd2: 'eventfd',
  epoll_create1: 'epoll_create',
  inotify_init1: 'inotify_init',
  signalfd4: 'signalfd',
  faccessat2: 'faccessat',
  epoll_pwait2: 'epoll_pwait',
  fcntl64: 'fcntl',
  memfd_create: '',
};

/** The new calls the test policy denies on `arch`: those whose old call exists there. */
function modernDenied(arch: ArchName): string[] {
  return Object.entries(PAIRS)
    .filter(([n, old]) => syscallNumber(arch, n) !== null && (old === '' || syscallNumber(arch, old) !== null))
    .map(([n]) => n);
}

/** codesafe5 13.7 for `arch`, with the new calls denied where the old one exists and the old ones allowed. */
async function fallbackPolicy(arch: ArchName): Promise<Policy> {
  const p = resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.7', arch });
  const denied = modernDenied(arch);
  const drop = new Set(denied.map((n) => syscallNumber(arch, n)));
  const rules: Rule[] = p.rules.filter((r) => !drop.has(r.nr));
  // where the old call does not exist (aarch64), the new one is allowed: libc works as is
  const direct = Object.keys(PAIRS).filter((n) => !denied.includes(n));
  for (const name of [...denied.map((n) => PAIRS[n]!), ...direct, 'read', 'close']) {
    const nr = name ? syscallNumber(arch, name) : null;
    if (nr !== null && !rules.some((r) => r.nr === nr))
      rules.push({ name, nr, clauses: [{ action: { kind: 'allow' }, conditions: [] }], provenance: { kind: 'target' } });
  }
  return { ...p, target: { ...p.target, id: 'fallbacks' }, rules: rules.sort((a, b) => a.nr - b.nr) };
}

function shimText(policy: Policy, sigsys = false): string {
  return generateShim(sigsys ? trapping(policy) : policy, { sigsys }).files[0]!.content;
}

/** The policy with a catchable TRAP for denied calls, as a user target could ask: --sigsys serves only that. */
function trapping(policy: Policy): Policy {
  return { ...policy, defaultAction: { kind: 'trap' } };
}

/** Syscall names in an strace / qemu -strace log after the program's BEGIN marker. */
function callsAfterMarker(log: string): string[] {
  const lines = log.split('\n');
  const start = lines.findIndex((l) => l.includes('"BEGIN\\n"') || /write\(1,0x[0-9a-f]+,6\)/.test(l));
  assert.ok(start >= 0, `no BEGIN marker in the trace:\n${log.slice(0, 2000)}`);
  return lines
    .slice(start)
    .map((l) => /^(?:\[pid\s+\d+\]\s+|\d+\s+)?([a-z_0-9]+)\(/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

describe('shim: plan and generated source', () => {
  it('every fallback entry has the template sections its variants, symbols and routes need', () => {
    for (const e of FALLBACKS) {
      const text = readFileSync(join(ROOT, 'templates/shim', `${e.template}.c.tmpl`), 'utf8');
      const want = [
        ...e.variants.map((v) => `core ${v.id}`),
        ...(e.variants.length ? ['core enosys'] : []),
        ...e.symbols.map((s) => `symbol ${s.name}`),
        ...e.routes.map((r) => `route ${r}`),
      ];
      for (const w of want) assert.ok(text.includes(`/*@ ${w} */`), `${e.template}.c.tmpl: ${w}`);
    }
  });

  it('emits a fallback only when all its calls are allowed at that firmware, ENOSYS otherwise', async () => {
    const t = await loadTarget('codesafe5');
    for (const fw of FIRMWARES) {
      for (const arch of Object.keys(CROSS)) {
        const p = resolvePolicy(t, { firmware: fw, arch });
        for (const plan of planShim(p)) {
          if (plan.variant) {
            for (const c of plan.variant.calls) assert.equal(verdictOf(p, c), 'allowed', `${fw} ${arch} ${plan.entry.id}: ${c}`);
          } else {
            for (const v of plan.entry.variants) {
              if (v.fullIds && p.arch.uid16) continue;
              assert.ok(
                v.calls.some((c) => verdictOf(p, c) !== 'allowed'),
                `${fw} ${arch} ${plan.entry.id}: ${v.id} was possible`,
              );
            }
          }
          for (const s of plan.symbols) {
            const needed = libcEntries(s, plan.entry).some((calls) => {
              const used = calls.find((c) => verdictOf(p, c) !== 'absent');
              return used === undefined || verdictOf(p, used) === 'denied';
            });
            assert.ok(needed, `${fw} ${arch} ${s.name} wrapped needlessly`);
          }
        }
      }
    }
  });

  it('maps codesafe5 as the vendor table says', async () => {
    const t = await loadTarget('codesafe5');
    const wrappers = (fw: string, arch: string) =>
      Object.fromEntries(generateShim(resolvePolicy(t, { firmware: fw, arch })).wrappers.map((w) => [w.name, w.status === 'fallback' ? w.fallback : 'ENOSYS']));
    const arm137 = wrappers('13.7', 'arm');
    assert.equal(arm137.getrandom, 'openat + fstat + read + close');
    assert.equal(arm137.getentropy, 'openat + fstat + read + close');
    assert.equal(arm137.eventfd, 'eventfd + fcntl + close'); // eventfd2 denied, eventfd allowed
    assert.equal(arm137.fcntl64, undefined, 'fcntl64 is the fcntl operation on ARM: allowed, no wrapper');
    assert.equal(arm137.signalfd, 'ENOSYS');
    assert.equal(arm137.pipe2, undefined, 'pipe2 is allowed at 13.7');
    const x134 = wrappers('13.4', 'x86_64');
    assert.equal(x134.pipe2, 'pipe + fcntl + close');
    assert.equal(x134.pipe, 'pipe + fcntl + close');
    assert.equal(x134.dup3, 'dup2 + fcntl + close');
    assert.equal(x134.eventfd, 'ENOSYS');
    assert.equal(x134['syscall(SYS_epoll_create1)'], 'ENOSYS');
    assert.equal(x134.fcntl, undefined, 'no fcntl64 on 64-bit arches');
    assert.equal(wrappers('13.5', 'x86_64').epoll_create, 'epoll_create1'); // 13.5 allows only the new one
    assert.equal(wrappers('13.7', 'aarch64').eventfd, 'ENOSYS'); // aarch64 has no old eventfd
  });

  it('ENOSYS wrappers make no system call; denied numbers are not in the allowed list', async () => {
    const p = resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.4', arch: 'x86_64' });
    const c = shimText(p);
    const core = /static long sg_eventfd\([^)]*\)\n\{([^}]*)\}/.exec(c);
    assert.ok(core, 'eventfd core');
    assert.doesNotMatch(core[1]!, /sg_raw/);
    assert.match(core[1]!, /return -ENOSYS;/);
    const allowed = c.slice(c.indexOf('static int sg_allowed'), c.indexOf('SG_PUBLIC long syscall'));
    assert.doesNotMatch(allowed, /\/\* (getrandom|eventfd2|pipe2) \*\//);
    assert.match(allowed, /case 0: \/\* read \*\//);
  });

  it('is deterministic, and `generate --format shim` writes the same file', async () => {
    const t = await loadTarget('codesafe5');
    const p = resolvePolicy(t, { firmware: '13.7', arch: 'arm' });
    assert.equal(shimText(p), shimText(p));
    const [g] = generate(t, { firmware: '13.7', arches: ['arm'], formats: ['shim'] });
    assert.deepEqual(
      g!.files.map((f) => f.name),
      ['codesafe5-13.7-arm.shim.c'],
    );
    assert.equal(g!.files[0]!.content, shimText(p));
    assert.match(shimText(p), /cc -std=gnu11 -O2 -c codesafe5-13\.7-arm\.shim\.c/);
  });

  it('CLI: shim writes the file, --flags prints the flags, --json lists every wrapper', async () => {
    const dir = tempDir();
    try {
      const r = await cli(['shim', '--target', 'codesafe5', '--firmware', '13.7', '--arch', 'arm', '--out', dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /eventfd\s+via eventfd \+ fcntl \+ close/);
      assert.match(r.stdout, /^ldflags: .*-Wl,--export-dynamic-symbol=getrandom/m);
      assert.ok(readFileSync(join(dir, 'codesafe5-13.7-arm.shim.c'), 'utf8').includes('SG_PUBLIC ssize_t getrandom'));
      const f = await cli(['shim', '--target', 'codesafe5', '--arch', 'arm', '--flags']);
      assert.equal(f.code, 0);
      assert.match(f.stdout, /^cflags: -std=gnu11 -O2\nldflags: -Wl,--export-dynamic-symbol=/);
      const j = await cli(['shim', '--target', 'codesafe5', '--firmware', '13.5', '--arch', 'ppc', '--json', '--out', dir]);
      const doc = JSON.parse(j.stdout) as { wrappers: { name: string; status: string }[]; flags: { ldflags: string[] } };
      assert.ok(doc.wrappers.some((w) => w.name === 'signalfd' && w.status === 'enosys'));
      // Before 13.7 CodeSafe kills: a SIGSYS handler cannot run, so --sigsys is refused, nothing written.
      const killing = await cli(['shim', '--target', 'codesafe5', '--firmware', '13.5', '--arch', 'ppc64', '--sigsys', '--out', dir]);
      assert.equal(killing.code, 2);
      assert.match(killing.stderr, /^sysgate: --sigsys cannot help codesafe5 at firmware 13\.5: a denied call there is kill-process/);
      assert.ok(!readdirSync(dir).some((n) => n.includes('ppc64')));
      assert.match(
        generateShim(trapping(resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.5', arch: 'ppc' })), { sigsys: true }).files[0]!.content,
        /sg_sigsys_install/,
      );
      const bad = await cli(['shim', '--target', 'codesafe5', '--arch', 'i386']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /i386/);
      assert.match((await cli(['shim', '--help'])).stdout, /Examples:/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('shim: compiles warning-free', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  for (const arch of Object.keys(CROSS)) {
    it(`with -Wall -Wextra -Werror for ${arch}: every firmware, with and without --sigsys, every fallback`, async function () {
      const [cc, pkg] = CROSS[arch]!;
      requireTool(this, cc, pkg);
      const t = await loadTarget('codesafe5');
      const policies: [string, Policy][] = FIRMWARES.map((fw) => [fw, resolvePolicy(t, { firmware: fw, arch })]);
      const fallbacks = await fallbackPolicy(arch as ArchName);
      policies.push(['fallbacks', fallbacks]);
      // faccessat's fstatat core (codesafe5 denies ARM's getuid32.., so the plain policies miss it there)
      const ids = ['getuid', 'geteuid', 'getgid', 'getegid', 'getgroups'].map((n) => (arch === 'arm' ? `${n}32` : n));
      policies.push(['fstatat', withAllowed(fallbacks, [arch === 'arm' || arch === 'ppc' ? 'fstatat64' : 'newfstatat', ...ids])]);
      for (const [name, p] of policies) {
        for (const sigsys of [false, true]) {
          const src = join(dir, `${arch}-${name}-${sigsys}.c`);
          writeFileSync(src, shimText(p, sigsys));
          const flags = sigsys ? ['-std=gnu11', '-O0'] : ['-std=c99', '-O2', '-D_FILE_OFFSET_BITS=64', '-D_TIME_BITS=64'];
          const r = sh(cc, [...flags, ...WARN, '-c', src, '-o', `${src}.o`]);
          assert.equal(r.status, 0, `${arch} ${name} sigsys=${sigsys}:\n${r.stderr}`);
        }
      }
    });
  }
});

describe('shim: flag emulation of every wrapper', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  /** Builds fixtures/flags.c with the fallback shim for arch; returns the executable. */
  async function build(arch: ArchName, cc: string, extra: string[] = []): Promise<string> {
    const shim = join(dir, `${arch}.shim.c`);
    const shimResult = generateShim(await fallbackPolicy(arch));
    writeFileSync(shim, shimResult.files[0]!.content);
    const obj = `${shim}.o`;
    const r = sh(cc, [...shimResult.flags.cflags, ...WARN, '-c', shim, '-o', obj]);
    assert.equal(r.status, 0, r.stderr);
    return compileC(cc, dir, `flags-${arch}`, readFileSync(join(FIXTURES, 'flags.c'), 'utf8'), [
      '-O1',
      '-D_FILE_OFFSET_BITS=64',
      ...extra,
      obj,
      ...shimResult.flags.ldflags,
    ]);
  }

  function assertClean(out: string, calls: string[], arch: ArchName) {
    assert.match(out, /END ok/, out);
    const denied = new Set(modernDenied(arch));
    const seen = calls.filter((c) => denied.has(c));
    assert.deepEqual([...new Set(seen)], [], `the kernel saw denied calls: ${seen.join(', ')}`);
    for (const n of denied) if (PAIRS[n]) assert.ok(calls.includes(PAIRS[n]!), `fallback ${PAIRS[n]} for ${n} never called`);
  }

  it('x86_64 natively, checked with strace: CLOEXEC/NONBLOCK set, no denied call reaches the kernel', async function () {
    requireTool(this, 'gcc', 'gcc');
    requireTool(this, 'strace', 'strace');
    const exe = await build('x86_64', 'gcc');
    const log = join(dir, 'x86.strace');
    const r = sh('strace', ['-f', '-qq', '-o', log, exe, join(dir, 'lock-x86')]);
    assertClean(r.stdout, callsAfterMarker(readFileSync(log, 'utf8')), 'x86_64');
    assert.equal(r.status, 0, r.stdout);
  });

  const QEMU: [ArchName, string, string, string[]][] = [
    ['arm', 'qemu-arm', '/usr/arm-linux-gnueabihf', ['-D_TIME_BITS=64']],
    ['aarch64', 'qemu-aarch64', '/usr/aarch64-linux-gnu', ['-DNO_OLD_EVENTFD']],
    ['ppc', 'qemu-ppc', '/usr/powerpc-linux-gnu', ['-D_TIME_BITS=64']],
    ['ppc64', 'qemu-ppc64', '/usr/powerpc64-linux-gnu', []],
  ];
  for (const [arch, qemu, sysroot, extra] of QEMU) {
    const bits32 = arch === 'arm' || arch === 'ppc';
    it(`${arch} under ${qemu} -strace${bits32 ? ', including fcntl64 -> fcntl with struct flock64 conversion' : ''}`, async function () {
      const [cc, pkg] = CROSS[arch]!;
      requireTool(this, cc, pkg);
      requireTool(this, qemu, 'qemu-user');
      const exe = await build(arch, cc, extra);
      const r = sh(qemu, ['-L', sysroot, '-strace', exe, join(dir, `lock-${arch}`)]);
      // qemu's -strace log interleaves with the program's output on the same streams
      const calls = callsAfterMarker(r.stderr + r.stdout);
      assertClean(r.stdout, calls, arch);
      if (bits32) {
        assert.ok(calls.includes('fcntl') && !calls.includes('fcntl64'));
        // the EINVAL for OFD locks is the shim's own: the old call would get it from a 32-bit
        // kernel, while qemu-user would take (and misread) the converted struct
        const ofd = /.*fcntl(?:64)?\(\d+,F_OFD_.*/.exec(r.stderr + r.stdout);
        assert.equal(ofd, null, `an OFD lock command reached the old fcntl: ${ofd?.[0]}`);
      }
    });
  }
});

/** `policy` with `names` allowed as well (the test policies' way to reach one fallback variant). */
function withAllowed(policy: Policy, names: string[]): Policy {
  const rules = [...policy.rules];
  for (const name of names) {
    const nr = syscallNumber(policy.arch.name, name);
    assert.notEqual(nr, null, `${name} on ${policy.arch.name}`);
    const i = rules.findIndex((r) => r.nr === nr);
    const rule: Rule = { name, nr: nr!, clauses: [{ action: { kind: 'allow' }, conditions: [] }], provenance: { kind: 'target' } };
    if (i >= 0) rules[i] = rule;
    else rules.push(rule);
  }
  return { ...policy, rules: rules.sort((a, b) => a.nr - b.nr) };
}

/** The QEMU runs of the fallback tests: arch, emulator, sysroot. */
const EMULATED: [ArchName, string, string][] = [
  ['arm', 'qemu-arm', '/usr/arm-linux-gnueabihf'],
  ['aarch64', 'qemu-aarch64', '/usr/aarch64-linux-gnu'],
  ['ppc', 'qemu-ppc', '/usr/powerpc-linux-gnu'],
  ['ppc64', 'qemu-ppc64', '/usr/powerpc64-linux-gnu'],
];

/** Builds fixtures/shim/<fixture>.c (or `source`) with the shim for `policy`; returns the executable. */
function buildWithShim(dir: string, cc: string, policy: Policy, fixture: string, extra: string[] = [], source?: string): string {
  const shim = generateShim(policy);
  const src = join(dir, `${fixture}-${policy.arch.name}.shim.c`);
  writeFileSync(src, shim.files[0]!.content);
  const r = sh(cc, [...shim.flags.cflags, ...WARN, '-c', src, '-o', `${src}.o`]);
  assert.equal(r.status, 0, r.stderr);
  return compileC(cc, dir, `${fixture}-${policy.arch.name}`, source ?? readFileSync(join(FIXTURES, `${fixture}.c`), 'utf8'), [
    '-O1',
    ...WARN,
    ...extra,
    `${src}.o`,
    ...shim.flags.ldflags,
  ]);
}

/** Runs exe natively under strace, or under qemu-user -strace; the output and the calls after BEGIN. */
function traced(dir: string, arch: ArchName, exe: string, args: string[]): { status: number | null; out: string; calls: string[]; log: string } {
  if (arch === 'x86_64') {
    const log = join(dir, `${exe.split('/').pop()}.strace`);
    const r = sh('strace', ['-f', '-qq', '-o', log, exe, ...args]);
    const text = readFileSync(log, 'utf8');
    return { status: r.status, out: r.stdout + r.stderr, calls: callsAfterMarker(text), log: text };
  }
  const [, qemu, sysroot] = EMULATED.find(([a]) => a === arch)!;
  const r = sh(qemu, ['-L', sysroot, '-strace', exe, ...args]);
  return { status: r.status, out: r.stdout, calls: callsAfterMarker(r.stderr + r.stdout), log: r.stderr + r.stdout };
}

function requireRun(ctx: Mocha.Context, arch: ArchName): string {
  const [cc, pkg] = CROSS[arch]!;
  requireTool(ctx, cc, pkg);
  if (arch === 'x86_64') requireTool(ctx, 'strace', 'strace');
  else requireTool(ctx, EMULATED.find(([a]) => a === arch)![1], 'qemu-user');
  return cc;
}

describe("shim: faccessat flags answered as glibc's own fallback answers them", () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  /** The id calls the fstatat fallback needs (32-bit ARM: the *32 ones). */
  const idCalls = (arch: ArchName) => ['getuid', 'geteuid', 'getgid', 'getegid', 'getgroups'].map((n) => (arch === 'arm' ? `${n}32` : n));
  const statCall = (arch: ArchName) => (arch === 'aarch64' || arch === 'x86_64' || arch === 'ppc64' ? 'newfstatat' : 'fstatat64');

  it("the plan picks the arch's fstatat twin and id calls, or the old call alone, never 16-bit ids", async () => {
    const t = await loadTarget('codesafe5');
    const via = (p: Policy) => generateShim(p).wrappers.find((w) => w.name === 'faccessat')?.fallback;
    for (const arch of ['x86_64', 'aarch64', 'ppc'] as ArchName[]) {
      assert.equal(via(resolvePolicy(t, { firmware: '13.7', arch })), ['faccessat', statCall(arch), ...idCalls(arch)].join(' + '), arch);
    }
    // codesafe5 on ARM allows the getuid operation as getuid32 (the *32 calls): the full fallback
    const arm = resolvePolicy(t, { firmware: '13.7', arch: 'arm' });
    assert.equal(via(arm), ['faccessat', 'fstatat64', ...idCalls('arm')].join(' + '));
    // Without the id calls only the old call's answers remain.
    const noIds = { ...arm, rules: arm.rules.filter((r) => !idCalls('arm').includes(r.name)) };
    assert.equal(via(noIds), 'faccessat');
  });

  for (const arch of ['x86_64', 'arm', 'aarch64', 'ppc', 'ppc64'] as ArchName[]) {
    it(`${arch}: every case equals the kernel's faccessat2, with ${statCall(arch)} and no faccessat2 call`, async function () {
      this.timeout(120000);
      const cc = requireRun(this, arch);
      const policy = withAllowed(await fallbackPolicy(arch), ['faccessat', statCall(arch), ...idCalls(arch)]);
      const exe = buildWithShim(dir, cc, policy, 'faccess', ['-ldl']);
      const scratch = join(dir, `scratch-${arch}`);
      mkdirSync(scratch);
      const r = traced(dir, arch, exe, [scratch]);
      assert.match(r.out, /END ok/, r.out);
      assert.equal(r.status, 0, r.out);
      // as root (the test machine and CI), the four identities ran: 4 * 60 paths * 8 modes * 4 flags
      if (process.getuid?.() === 0) assert.match(r.out, /identities 0xf, paths 60, cases 7680/);
      const before = r.log.slice(0, r.log.search(/"BEGIN\\n"|write\(1,0x[0-9a-f]+,6\)/));
      assert.match(before, /faccessat2\(/, "the reference answers come from the kernel's faccessat2");
      assert.ok(!r.calls.includes('faccessat2'), 'the shim made a faccessat2 call');
      assert.ok(r.calls.includes(statCall(arch)) && r.calls.includes('faccessat'), r.calls.slice(0, 50).join(' '));
    });
  }

  it('arm with the old call only: flags 0 and AT_EACCESS answered, AT_SYMLINK_NOFOLLOW ENOSYS', async function () {
    const cc = requireRun(this, 'arm');
    // ARM's 16-bit id calls only (a names-only target): the *32 ones the fstatat fallback needs are denied.
    const full = resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.7', arch: 'arm' });
    const policy = { ...full, rules: full.rules.filter((r) => !/^(getuid|geteuid|getgid|getegid|getgroups)32$/.test(r.name)) };
    const src = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
  int ok = faccessat(AT_FDCWD, "/", R_OK, 0) == 0 && faccessat(AT_FDCWD, "/", R_OK | X_OK, AT_EACCESS) == 0;
  errno = 0;
  ok = ok && faccessat(AT_FDCWD, "/", R_OK, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOSYS;
  errno = 0;
  ok = ok && faccessat(AT_FDCWD, "/", R_OK, AT_EMPTY_PATH) == -1 && errno == EINVAL;
  return write(1, ok ? "END ok\\n" : "END failures\\n", ok ? 7 : 13) > 0 ? !ok : 2;
}
`;
    const exe = buildWithShim(dir, cc, policy, 'oldcall', [], src);
    const r = sh('qemu-arm', ['-L', '/usr/arm-linux-gnueabihf', exe]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe('shim: getrandom keeps one /dev/urandom descriptor', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  for (const arch of ['x86_64', 'arm', 'aarch64', 'ppc', 'ppc64'] as ArchName[]) {
    it(`${arch}: opened once, checked on every use, safe after close/dup2/fork, EMFILE and 8 racing threads`, async function () {
      this.timeout(120000);
      const cc = requireRun(this, arch);
      const exe = buildWithShim(dir, cc, await fallbackPolicy(arch), 'random', ['-pthread']);
      const count = traced(dir, arch, exe, ['count']);
      assert.match(count.out, /END ok/, count.out);
      const after = count.log.slice(count.log.search(/"BEGIN\\n"|write\(1,0x[0-9a-f]+,6\)/));
      const opens = (dev: string) => after.match(new RegExp(`openat\\(AT_FDCWD, ?"/dev/${dev}"`, 'g'))?.length ?? 0;
      assert.equal(opens('urandom'), 1, '200 calls open /dev/urandom once');
      assert.equal(opens('random'), 1, '10 GRND_RANDOM calls open /dev/random once');
      assert.ok(!count.calls.includes('getrandom'), 'getrandom reached the kernel');
      const all = traced(dir, arch, exe, ['all']);
      assert.match(all.out, /END ok/, all.out);
      assert.equal(all.status, 0, all.out);
      assert.ok(!all.calls.includes('getrandom'), 'getrandom reached the kernel');
    });
  }
});

for (const [arch, qemu, sysroot] of [
  ['arm', 'qemu-arm', '/usr/arm-linux-gnueabihf'],
  ['ppc64', 'qemu-ppc64', '/usr/powerpc64-linux-gnu'],
] as const)
  describe(`shim: proven on ${arch} under ${qemu} (codesafe5 13.7)`, () => {
    let dir: string;
    let exe: string;
    let policy: Policy;
    before(async function () {
      const [cc, pkg] = CROSS[arch]!;
      requireTool(this, cc, pkg);
      requireTool(this, qemu, 'qemu-user');
      dir = tempDir();
      policy = resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.7', arch });
      const shim = generateShim(policy);
      const src = join(dir, shim.files[0]!.name);
      writeFileSync(src, shim.files[0]!.content);
      const r = sh(cc, [...shim.flags.cflags, ...WARN, '-c', src, '-o', `${src}.o`]);
      assert.equal(r.status, 0, r.stderr);
      exe = compileC(cc, dir, 'proof', readFileSync(join(FIXTURES, 'proof.c'), 'utf8'), ['-O1', `${src}.o`, ...shim.flags.ldflags]);
    });
    after(() => dir && removeDir(dir));

    it('randomness, pipe, eventfd + epoll, accept4 work and no call the policy denies is made', () => {
      const runs = [0, 1].map(() => sh(qemu, ['-L', sysroot, '-strace', exe]));
      const randoms = runs.map((r) => {
        assert.equal(r.status, 0, r.stdout + r.stderr.slice(-2000));
        const calls = callsAfterMarker(r.stderr + r.stdout);
        const denied = [...new Set(calls.filter((c) => verdictOf(policy, c) !== 'allowed'))];
        assert.deepEqual(denied, [], `denied calls made: ${denied.join(', ')}`);
        assert.ok(calls.includes('eventfd') && calls.includes('openat'), calls.join(' '));
        return /random ([0-9a-f]{96})/.exec(r.stdout)?.[1];
      });
      assert.ok(randoms[0] && randoms[1]);
      assert.notEqual(randoms[0], randoms[1], 'random bytes differ between runs');
      assert.notEqual(randoms[0], '0'.repeat(96));
    });
  });

describe('shim: x86_64 in the kernel under the generated codesafe5 filter', () => {
  let dir: string;
  before(function () {
    requireTool(this, 'gcc', 'gcc');
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    dir = tempDir();
  });
  after(() => dir && removeDir(dir));

  async function prepare(fw: string, sigsys = false, trap = false): Promise<{ header: string; obj: string; ldflags: string[] }> {
    const t0 = await loadTarget('codesafe5');
    // `trap`: a user target whose denial before 13.7 is a catchable trap, the case --sigsys serves.
    const t = trap
      ? { ...t0, defaultActions: t0.defaultActions.map((d) => (d.action.kind === 'kill-process' ? { ...d, action: { kind: 'trap' as const } } : d)) }
      : t0;
    const [g] = generate(t, { firmware: fw, arches: ['x86_64'], formats: ['c'] });
    const header = join(dir, `${g!.baseName}.h`);
    writeFileSync(header, g!.files.find((f) => f.name.endsWith('.h'))!.content);
    const shim = generateShim(resolvePolicy(t, { firmware: fw, arch: 'x86_64' }), { sigsys });
    const src = join(dir, `${fw}-${sigsys}-${trap}.shim.c`);
    writeFileSync(src, shim.files[0]!.content);
    return { header, obj: src, ldflags: shim.flags.ldflags };
  }

  const kernelSrc = () => readFileSync(join(FIXTURES, 'kernel.c'), 'utf8');
  const defs = (header: string) => [`-DSYSGATE_HEADER="${header}"`, '-DSYSGATE_INSTALL=sysgate_codesafe5_install', '-DSYSGATE_HOST_FILTER'];

  it('13.7: a library that needs randomness gets ENOSYS without the shim and works with it (and faccessat flags)', async () => {
    const { header, obj, ldflags } = await prepare('13.7');
    const lib = join(dir, 'libneedrand.so');
    const cc = sh('gcc', ['-O1', '-shared', '-fPIC', '-o', lib, join(FIXTURES, 'needrand.c')]);
    assert.equal(cc.status, 0, cc.stderr);
    const src = join(dir, 'kernel.c');
    writeFileSync(src, kernelSrc());
    const build = (name: string, extra: string[]) => {
      const out = join(dir, name);
      const r = sh('gcc', [
        '-O1',
        '-DNEEDRAND',
        '-DUSE_STDIO',
        '-DFACCESS_FLAGS',
        ...defs(header),
        '-o',
        out,
        src,
        ...extra,
        `-L${dir}`,
        '-lneedrand',
        `-Wl,-rpath,${dir}`,
      ]);
      assert.equal(r.status, 0, r.stderr);
      return out;
    };
    const r0 = sh(build('lib-without', []), []);
    assert.equal(r0.status, 3, r0.stdout + r0.stderr);
    assert.match(r0.stdout, /errno 38/);
    const withShim = build('lib-with', [obj, ...ldflags]);
    const outs = [0, 1].map(() => sh(withShim, []));
    for (const r of outs) {
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /stdio works too/);
    }
    assert.notEqual(/random (\w+)/.exec(outs[0]!.stdout)?.[1], /random (\w+)/.exec(outs[1]!.stdout)?.[1]);
  });

  it('13.5 (kill): a static musl program is killed without the shim and exits 0 with it', async function () {
    requireTool(this, 'musl-gcc', 'musl-tools');
    const { header, obj } = await prepare('13.5');
    // musl's include path has no linux/ headers: take the kernel's from the host after musl's
    const musl = ['-static', '-O1', '-idirafter', '/usr/include', '-idirafter', '/usr/include/x86_64-linux-gnu', ...defs(header)];
    const without = compileC('musl-gcc', dir, 'musl-without', kernelSrc(), musl);
    const r0 = sh(without, []);
    assert.equal(r0.signal, 'SIGSYS', `${r0.status} ${r0.stdout}`);
    const withShim = compileC('musl-gcc', dir, 'musl-with', kernelSrc(), [...musl, obj]);
    const r1 = sh(withShim, []);
    assert.equal(r1.signal, null, r1.stderr);
    assert.equal(r1.status, 0, r1.stdout + r1.stderr);
    assert.match(r1.stdout, /random [0-9a-f]{32}/);
  });

  it("13.5 (kill): glibc's own getrandom (malloc) kills a shimmed program; under a trap target --sigsys rescues it", async function () {
    const plain = await prepare('13.5');
    const trapPlain = await prepare('13.5', false, true);
    const handled = await prepare('13.5', true, true);
    const args = (p: { header: string; obj: string; ldflags: string[] }) => ['-O1', '-DUSE_STDIO', ...defs(p.header), p.obj, ...p.ldflags];
    const r0 = sh(compileC('gcc', dir, 'glibc-plain', kernelSrc(), args(plain)), []);
    assert.equal(r0.signal, 'SIGSYS', `${r0.status} ${r0.stdout}`);
    const rt = sh(compileC('gcc', dir, 'glibc-trap-plain', kernelSrc(), args(trapPlain)), []);
    assert.equal(rt.signal, 'SIGSYS', `${rt.status} ${rt.stdout}`);
    const r1 = sh(compileC('gcc', dir, 'glibc-sigsys', kernelSrc(), args(handled)), []);
    assert.equal(r1.signal, null, r1.stderr);
    assert.equal(r1.status, 0, r1.stdout + r1.stderr);
    assert.match(r1.stdout, /stdio works too/);
  });
});
