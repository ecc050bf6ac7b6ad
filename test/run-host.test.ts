/**
 * `sysgate run` on this machine (x86_64): the supervisor's recording filter decides like the
 * shipped one; real programs run under codesafe5 and enclave-x86_64 behave as under the shipped
 * filter loaded directly; the report names what was denied; bad input is one line and exit 2.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, decodeFilter, encodeFilter, runFilter } from '../src/bpf/index.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy } from '../src/policy/types.ts';
import { supervisorBinary } from '../src/run/host.ts';
import { runProgram } from '../src/run/index.ts';
import type { RunReport } from '../src/run/types.ts';
import { ARCHES } from '../src/syscalls/arches.ts';
import { DIST_CLI, ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

const FIX = join(ROOT, 'test/fixtures/run');
const ALLOW = 0x7fff0000;
const USER_NOTIF = 0x7fc00000;
const ACTION_FULL = 0xffff0000;

let dir: string;
let cache: string;
const bins: Record<string, string> = {};

function gcc(name: string, src: string, extra: string[] = []): string {
  const out = join(dir, name);
  const r = spawnSync('gcc', ['-O2', '-o', out, join(FIX, src), ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

async function policyFor(target: string, firmware?: string): Promise<Policy> {
  return resolvePolicy(await loadTarget(target), { ...(firmware ? { firmware } : {}), arch: 'x86_64' });
}

function filterFile(p: Policy, name: string): string {
  const c = compileFilter([p]);
  const path = join(dir, `${name}.bpf`);
  writeFileSync(path, encodeFilter(c.insns, c.endian));
  return path;
}

/** `sysgate run` as a real process: the program's stdio, exit status and the JSON report. */
function sysgateRun(args: string[], program: string[], input?: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [DIST_CLI, 'run', ...args, '--json', '--', ...program], {
    encoding: 'utf8',
    input: input ?? '',
    timeout: 30_000,
    env: { ...process.env, SYSGATE_CACHE_DIR: cache, ...env },
  });
  const at = r.stderr.lastIndexOf('\n{\n') >= 0 ? r.stderr.lastIndexOf('\n{\n') + 1 : r.stderr.startsWith('{\n') ? 0 : -1;
  const report = at >= 0 ? (JSON.parse(r.stderr.slice(at)) as RunReport) : undefined;
  return { code: r.status, stdout: r.stdout, stderr: at >= 0 ? r.stderr.slice(0, at) : r.stderr, report };
}

/** The shipped filter loaded directly into the program (test/fixtures/run/load.c): the reference. */
function direct(filter: string, program: string[], input?: string) {
  const r = spawnSync(bins.load!, [filter, ...program], { encoding: 'utf8', input: input ?? '', timeout: 30_000 });
  const code = r.status ?? 128 + (r.signal === 'SIGSYS' ? 31 : r.signal === 'SIGKILL' ? 9 : 0);
  return { code, stdout: r.stdout, signal: r.signal };
}

describe('sysgate run on the host (x86_64)', function () {
  this.timeout(60_000);

  before(function () {
    if (process.arch !== 'x64' || process.platform !== 'linux') this.skip();
    requireTool(this, 'gcc', 'gcc');
    dir = mkdtempSync(join(tmpdir(), 'sysgate-run-test-'));
    cache = join(dir, 'cache');
    bins.getrandom = gcc('getrandom', 'getrandom.c');
    bins.raw = gcc('raw-getrandom', 'raw-getrandom.c', ['-static', '-nostdlib']);
    bins.clean = gcc('clean', 'clean.c');
    bins.threads = gcc('threads', 'threads.c', ['-pthread']);
    bins.fork = gcc('fork', 'fork.c');
    bins.load = gcc('load', 'load.c');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the recording filter decides exactly like the shipped one', () => {
    // Little-endian filters only (the supervisor reads its host's byte order); arm has codesafe5's
    // argument-conditioned nice, the fixture targets conditioned kill.
    const cases: [string, string | undefined, 'x86_64' | 'arm'][] = [
      ['codesafe5', '13.5', 'x86_64'],
      ['codesafe5', '13.7', 'x86_64'],
      ['enclave-x86_64', undefined, 'x86_64'],
      ['codesafe5', '13.7', 'arm'],
      [join(ROOT, 'test/fixtures/targets/minimal.json'), undefined, 'x86_64'],
      [join(ROOT, 'test/fixtures/targets/kill-twice.json'), undefined, 'x86_64'],
    ];
    for (const [ref, fw, arch] of cases) {
      const target = ref.replace(/^.*\//, '');
      it(`${target}${fw ? ` ${fw}` : ''} on ${arch}: every number 0..1100, x32, foreign arches, argument boundaries`, async () => {
        const p = resolvePolicy(await loadTarget(ref), { ...(fw ? { firmware: fw } : {}), arch });
        const shipped = compileFilter([p]).insns;
        const file = filterFile(p, `${target}-${fw}-${arch}`);
        const dump = join(dir, `${target}-${fw}-${arch}.rec`);
        const sup = supervisorBinary(['cc'], cache).path;
        const r = spawnSync(sup, [file, join(dir, 'rep'), '--', bins.clean!], {
          env: { ...process.env, SYSGATE_SUPERVISE_DUMP: dump },
          input: '',
          timeout: 30_000,
        });
        assert.ok(r.status !== 2 && r.status !== 125, String(r.stderr));
        const rec = decodeFilter(readFileSync(dump), 'little');
        assert.equal(rec.length, shipped.length);
        // Only ret #k instructions change, and only those that do not allow.
        rec.forEach((ins, pc) => {
          const s = shipped[pc]!;
          if (ins.k !== s.k) assert.ok(s.code === 0x06 && ((s.k >>> 0) & ACTION_FULL) >>> 0 !== ALLOW && ins.k >>> 0 === USER_NOTIF, `pc ${pc}`);
          assert.deepEqual([ins.code, ins.jt, ins.jf], [s.code, s.jt, s.jf]);
        });
        const x86 = p.arch.auditArch;
        const inputs: { nr: number; arch: number; args?: bigint[] }[] = [];
        for (let nr = 0; nr <= 1100; nr++) {
          inputs.push({ nr, arch: x86 }, { nr: (0x40000000 | nr) >>> 0, arch: x86 }, { nr: (0xf0000 + nr) >>> 0, arch: x86 });
          if (nr % 50 === 0)
            for (const other of [ARCHES.x86_64, ARCHES.i386, ARCHES.arm, ARCHES.aarch64, ARCHES.ppc64])
              if (other.auditArch !== x86) inputs.push({ nr, arch: other.auditArch });
        }
        inputs.push({ nr: 0xffffffff, arch: x86 }, { nr: 0x7fffffff, arch: x86 }, { nr: 0xfffffffe, arch: x86 });
        let conditioned = 0;
        for (const rule of p.rules) {
          for (const clause of rule.clauses) {
            const all = [0n, 0n, 0n, 0n, 0n, 0n];
            for (const c of clause.conditions) {
              conditioned++;
              all[c.index] = c.value;
              const vals = [0n, c.value, c.value - 1n, c.value + 1n, c.value | (1n << 32n), c.value | (1n << 63n), (1n << 64n) - 1n];
              if (c.mask !== undefined) vals.push(c.mask, c.value | ~c.mask, c.value ^ c.mask);
              for (const v of vals) {
                const args = [0n, 0n, 0n, 0n, 0n, 0n];
                args[c.index] = BigInt.asUintN(64, v);
                inputs.push({ nr: rule.nr, arch: x86, args });
              }
            }
            if (clause.conditions.length) inputs.push({ nr: rule.nr, arch: x86, args: all.map((v) => BigInt.asUintN(64, v)) });
          }
        }
        let notified = 0;
        for (const inp of inputs) {
          const a = runFilter(shipped, inp, 'little').ret;
          const b = runFilter(rec, inp, 'little').ret;
          if ((a & ACTION_FULL) >>> 0 === ALLOW)
            assert.equal(b, a, `nr ${inp.nr} arch ${inp.arch.toString(16)}: shipped allows, recording 0x${b.toString(16)}`);
          else {
            assert.equal(
              b,
              USER_NOTIF,
              `nr ${inp.nr} arch ${inp.arch.toString(16)} args ${inp.args}: shipped 0x${a.toString(16)}, recording 0x${b.toString(16)}`,
            );
            notified++;
          }
        }
        assert.ok(notified > 100, 'the policy denies something');
        if (arch === 'arm' || /minimal|kill-twice/.test(target)) assert.ok(conditioned > 0, 'argument-conditioned rules were probed');
      });
    }
  });

  describe('real programs', () => {
    it('codesafe5 13.7: getrandom gets ENOSYS; the report names it, its count and its function', () => {
      const r = sysgateRun(['-t', 'codesafe5', '-f', '13.7'], [bins.getrandom!]);
      assert.equal(r.code, 38, r.stderr);
      assert.equal(r.stdout, 'getrandom -1 errno 38\n');
      const d = r.report!.denied.find((x) => x.name === 'getrandom');
      assert.ok(d, JSON.stringify(r.report));
      assert.equal(d.action, 'errno:ENOSYS');
      assert.ok(d.count >= 1);
      assert.ok(
        d.where.some((w) => w.function === 'getrandom' && /libc\.so/.test(w.object ?? '')),
        JSON.stringify(d.where),
      );
      assert.equal(r.report!.mode, 'enforced');
      assert.equal(r.report!.runner.kind, 'host');
      assert.deepEqual(r.report!.exit, { code: 38, signal: null });
      assert.equal(r.report!.killed, undefined);
    });

    it('codesafe5 13.5: getrandom kills the process; `killed` names the call', () => {
      const r = sysgateRun(['-t', 'codesafe5', '-f', '13.5'], [bins.raw!]);
      assert.equal(r.code, 128 + 31, r.stderr);
      assert.equal(r.report!.killed?.name, 'getrandom');
      assert.equal(r.report!.killed?.nr, 318);
      assert.deepEqual(r.report!.exit, { code: null, signal: 'SIGSYS' });
      assert.equal(r.report!.denied[0]!.action, 'kill-process');
      assert.ok(r.report!.notes.some((n) => /killed \(SIGSYS on the device\)/.test(n)));
    });

    it('enclave-x86_64: no denied call, empty `denied`; stdin, stdout, stderr and the exit status pass through', () => {
      const r = sysgateRun(['-t', 'enclave-x86_64'], [bins.clean!, '7'], 'hello\nworld\n');
      assert.equal(r.code, 7);
      assert.equal(r.stdout, 'hello\nworld\n');
      assert.equal(r.stderr, 'to stderr\n');
      assert.deepEqual(r.report!.denied, []);
      assert.deepEqual(r.report!.exit, { code: 7, signal: null });
      const g = sysgateRun(['-t', 'enclave-x86_64'], [bins.getrandom!]);
      assert.equal(g.code, 0);
      assert.deepEqual(g.report!.denied, []);
    });

    it('a threaded program: calls from every thread are answered and counted', () => {
      const r = sysgateRun(['-t', 'codesafe5', '-f', '13.7'], [bins.threads!]);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, 'threads: 4 of 4 got ENOSYS\n');
      const d = r.report!.denied.find((x) => x.name === 'getrandom')!;
      assert.ok(d.count >= 4);
      assert.ok(d.where.some((w) => w.function === 'syscall'));
    });

    it('a forking program: the child inherits the filter and is followed', () => {
      const r = sysgateRun(['-t', 'codesafe5', '-f', '13.7'], [bins.fork!]);
      assert.equal(r.code, 39, r.stderr);
      assert.match(r.stdout, /child getrandom -1 errno 38\n/);
      const d = r.report!.denied.find((x) => x.name === 'getrandom')!;
      assert.ok(
        d.where.some((w) => w.function === 'syscall'),
        JSON.stringify(d),
      );
    });

    it('the Node API: runProgram with captured output', async () => {
      let out = '';
      const rep = await runProgram({
        target: 'codesafe5',
        firmware: '13.7',
        program: bins.getrandom!,
        args: [],
        env: { ...process.env, SYSGATE_CACHE_DIR: cache },
        io: { stdout: (b) => void (out += Buffer.from(b).toString()), stderr: () => {} },
      });
      assert.equal(out, 'getrandom -1 errno 38\n');
      assert.equal(rep.exit.code, 38);
      assert.equal(rep.firmware, '13.7.0');
    });
  });

  describe('the same as under the shipped filter loaded directly', () => {
    const cases: [string, string | undefined][] = [
      ['codesafe5', '13.5'],
      ['codesafe5', '13.7'],
      ['enclave-x86_64', undefined],
    ];
    for (const [target, fw] of cases) {
      it(`${target}${fw ? ` ${fw}` : ''}: exit status and output of every fixture`, async () => {
        const file = filterFile(await policyFor(target, fw), `direct-${target}-${fw}`);
        for (const name of ['getrandom', 'raw', 'clean', 'threads', 'fork']) {
          const d = direct(file, [bins[name]!, '5'], 'in\n');
          const r = sysgateRun(['-t', target, ...(fw ? ['-f', fw] : [])], [bins[name]!, '5'], 'in\n');
          assert.equal(r.code, d.code, `${name}: sysgate run ${r.code}, direct ${d.code} (${d.signal})`);
          assert.equal(r.stdout, d.stdout, name);
        }
      });
    }
  });

  describe('every action a user target can take, as under the shipped filter loaded directly', () => {
    // (log cannot be a default action: the loader refuses it.)
    for (const action of ['trap', 'kill-thread', 'kill-process', 'errno:EPERM', 'errno:ENOSYS', 'trace:1', 'user-notif']) {
      it(`default action ${action}: the raw getrandom program ends the same way`, async () => {
        const file = join(dir, `user-${action.replace(/\W/g, '_')}.json`);
        writeFileSync(
          file,
          JSON.stringify({
            id: 'user',
            title: 'one call allowed',
            arches: ['x86_64'],
            defaultAction: action,
            expandFamilies: 'none',
            syscalls: [{ name: 'exit' }, { name: 'exit_group' }, { name: 'execve' }],
          }),
        );
        const p = resolvePolicy(await loadTarget(file), { arch: 'x86_64' });
        const d = direct(filterFile(p, `user-${action.replace(/\W/g, '_')}`), [bins.raw!]);
        const r = sysgateRun(['-t', file], [bins.raw!]);
        assert.equal(r.code, d.code, `${action}: sysgate run ${r.code}, direct ${d.code} (${d.signal}); ${r.stderr}`);
        const g = r.report!.denied.find((x) => x.name === 'getrandom');
        assert.equal(g?.action, action);
      });
    }
  });

  describe('bad input: one line, exit 2', () => {
    function oneLine(r: ReturnType<typeof sysgateRun>, re: RegExp) {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }

    it('not an ELF, a missing program, no program', () => {
      const text = join(dir, 'script.txt');
      writeFileSync(text, 'just text, not a program\n');
      chmodSync(text, 0o755);
      oneLine(sysgateRun(['-t', 'codesafe5'], [text]), /not an ELF/);
      oneLine(sysgateRun(['-t', 'codesafe5'], [join(dir, 'missing')]), /no such file/);
      oneLine(sysgateRun(['-t', 'codesafe5'], ['no-such-program-anywhere']), /no such program/);
      const none = spawnSync(process.execPath, [DIST_CLI, 'run', '-t', 'codesafe5', '--'], { encoding: 'utf8' });
      assert.equal(none.status, 2);
      assert.equal(none.stderr.trimEnd().split('\n').length, 1);
      oneLine(sysgateRun(['-t', 'codesafe5', '--arch', 'arm'], [bins.clean!]), /x86_64 program, not arm/);
    });

    it('an arm program with no kernel (empty cache): one line, exit 2', function () {
      requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
      const arm = join(dir, 'clean-arm');
      const c = spawnSync('arm-linux-gnueabihf-gcc', ['-static', '-O2', '-o', arm, join(FIX, 'clean.c')], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stderr);
      oneLine(sysgateRun(['-t', 'codesafe5', '-f', '13.7'], [arm], '', { SYSGATE_CACHE_DIR: join(dir, 'empty-cache') }), /arm/);
    });
  });

  describe('the supervisor builds warning-free', () => {
    for (const [cc, pkg] of [
      ['arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf'],
      ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
    ] as const) {
      it(`${cc} -static -Wall -Wextra -Werror (compile only)`, function () {
        requireTool(this, cc, pkg);
        const r = spawnSync(
          cc,
          ['-std=gnu11', '-static', '-Wall', '-Wextra', '-Werror', '-c', '-o', join(dir, `${cc}.o`), join(ROOT, 'templates/run/supervise.c')],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
      });
    }
  });
});
