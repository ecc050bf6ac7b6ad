import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli, cliProcess, ROOT } from './helpers/cli.ts';
import { wantColor } from '../src/cli/io.ts';
import { run } from '../src/cli/run.ts';

const FIX = join(ROOT, 'test/fixtures/targets');

describe('cli', () => {
  it('prints help and version; no command is a usage error', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const c of ['targets', 'syscalls', 'explain', 'compat']) assert.match(help.stdout, new RegExp(`\\n  ${c} `));
    assert.equal((await cli([])).code, 2);
    const v = await cli(['--version']);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    for (const c of ['targets', 'syscalls', 'explain', 'compat', 'generate', 'check', 'cc', 'shim', 'bpf', 'init', 'demo']) {
      const h = await cli([c, '--help']);
      assert.equal(h.code, 0, c);
      assert.match(h.stdout, new RegExp(`^Usage: sysgate ${c}`), c);
      assert.match(h.stdout, /\nExamples?:\n|\n {2}sysgate /, `${c} --help shows examples`);
    }
  });

  it('colours only a terminal, never with NO_COLOR or TERM=dumb', async () => {
    assert.equal(wantColor(true, {}), true);
    assert.equal(wantColor(false, {}), false);
    assert.equal(wantColor(true, { NO_COLOR: '' }), true); // no-color.org: an empty NO_COLOR is not set
    assert.equal(wantColor(true, { NO_COLOR: '1' }), false);
    assert.equal(wantColor(true, { TERM: 'dumb' }), false);
    let out = '';
    await run(['explain', '--target', 'codesafe5', 'getrandom'], { out: (t) => void (out += t), err: () => {}, color: true, isTTY: true, cwd: ROOT, env: {} });
    assert.match(out, /\x1b\[31mDENIED\x1b\[0m/);
  });

  it('targets --json lists both shipped targets', async () => {
    const r = await cli(['targets', '--json']);
    assert.equal(r.code, 0);
    const list = JSON.parse(r.stdout);
    assert.deepEqual(
      list.map((t: { id: string }) => t.id),
      ['codesafe5', 'enclave-x86_64'],
    );
    assert.deepEqual(list[0].firmwares, ['13.4.0', '13.5.0', '13.7.0']);
  });

  it('syscalls --json has the documented fields, absent names with null numbers and replacements', async () => {
    const r = await cli(['syscalls', '--target', 'codesafe5', '--firmware', '13.7', '--arch', 'arm', '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout);
    assert.equal(j.target, 'codesafe5');
    assert.equal(j.firmware, '13.7.0');
    assert.equal(j.arch, 'arm');
    assert.equal(j.defaultAction, 'errno:ENOSYS');
    const byName = new Map(j.allowed.map((a: { name: string }) => [a.name, a]));
    assert.deepEqual(byName.get('mmap'), { name: 'mmap', number: null, since: '13.4.0', provenance: { kind: 'target' }, replacedBy: ['mmap2'] });
    assert.deepEqual(byName.get('set_tls'), {
      name: 'set_tls',
      number: 0xf0005,
      since: null,
      provenance: { kind: 'essential', why: 'glibc and musl set the TLS register through the ARM-private set_tls (0xf0005) before main' },
    });
    assert.equal((byName.get('read') as { number: number }).number, 3);
    assert.equal(j.allowed.filter((a: { provenance: { kind: string } }) => a.provenance.kind === 'target').length, 170);
  });

  it('syscalls text output is a table ending with a summary', async () => {
    const r = await cli(['syscalls', '-t', 'codesafe5', '-f', '13.4', '-a', 'ppc']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^codesafe5 firmware 13\.4 on ppc: default kill-process\n/);
    assert.match(r.stdout, /\n {2}221\s+futex\s+13\.4\n/);
    assert.match(r.stdout, /104 listed by the target, 104 syscall numbers allowed on ppc/);
  });

  it('explain tells what the app sees on each firmware, with the reason and the fix', async () => {
    const old = await cli(['explain', '--target', 'codesafe5', '--firmware', '13.5', 'getrandom']);
    assert.equal(old.code, 0);
    assert.match(old.stdout, /getrandom \(nr 384\): DENIED/);
    assert.match(old.stdout, /kills the whole process \(SIGSYS\)/);
    assert.match(old.stdout, /fix: .*\/dev\/urandom/);
    const neu = await cli(['explain', '--target', 'codesafe5', '--firmware', '13.7', '--json', 'getrandom', 'statx', 'mmap']);
    const [g, s, m] = JSON.parse(neu.stdout);
    assert.equal(g.effective, 'errno:ENOSYS');
    assert.equal(s.allowed, true);
    assert.equal(s.since, '13.7');
    assert.equal(m.allowed, true);
    assert.deepEqual(m.replacedBy, ['mmap2']);
    const kill = await cli(['explain', '--target', 'enclave-x86_64', 'ptrace']);
    assert.match(kill.stdout, /kills the whole process|kills the calling thread/);
  });

  it('compat prints the change and a summary; --json is machine readable', async () => {
    const r = await cli(['compat', '--target', 'codesafe5', '--from', '13.5', '--to', '13.7', '--arch', 'ppc', '--json']);
    const j = JSON.parse(r.stdout);
    assert.equal(j.added.length, 60);
    assert.equal(j.defaultAction.changed, true);
    const t = await cli(['compat', '--target', 'codesafe5', '--from', '13.4', '--to', '13.5', '--arch', 'ppc']);
    assert.match(t.stdout, /newly allowed \(6\)/);
    assert.match(t.stdout, /\+ getgroups/);
  });

  describe('bad input: one line, exit 2, no stack trace', () => {
    const cases: [string, string[], RegExp][] = [
      ['bad firmware', ['syscalls', '-t', 'codesafe5', '-f', '13.x'], /bad firmware version '13\.x'/],
      ['firmware 13', ['syscalls', '-t', 'codesafe5', '-f', '13'], /bad firmware version '13'/],
      ['empty firmware', ['syscalls', '-t', 'codesafe5', '-f', ''], /bad firmware version ''/],
      ['too old firmware', ['syscalls', '-t', 'codesafe5', '-f', '12.1'], /older than codesafe5's first known firmware 13\.4/],
      ['unknown arch', ['syscalls', '-t', 'codesafe5', '-a', 'mips'], /unknown arch 'mips'/],
      ['unknown target', ['syscalls', '-t', 'codesafe6'], /unknown target 'codesafe6' \(did you mean 'codesafe5'\?\)/],
      ['missing target', ['syscalls'], /missing --target/],
      ['unknown option', ['syscalls', '--tagret', 'x'], /unknown option/],
      ['unknown command', ['sycalls'], /unknown command 'sycalls' \(did you mean 'syscalls'\?\)/],
      ['unknown syscall', ['explain', '-t', 'codesafe5', 'getrandm'], /'getrandm' is not a syscall on any arch \(did you mean 'getrandom'\?\)/],
      ['broken JSON', ['syscalls', '-t', join(FIX, 'not-json.json')], /not-json\.json: not valid JSON/],
    ];
    for (const [what, args, re] of cases) {
      it(what, async () => {
        const r = await cli(args);
        assert.equal(r.code, 2);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      });
    }

    it('an invalid target file: every problem on its own line with file#pointer', async () => {
      const file = join(FIX, 'unknown-name.json');
      const r = await cli(['syscalls', '-t', file]);
      assert.equal(r.code, 2);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 4);
      assert.match(lines[0]!, new RegExp(`^sysgate: ${file.replace(/[.]/g, '\\.')}#/syscalls/1/name: 'getrandm' is not a syscall`));
      assert.match(lines[3]!, /3 problems in .*unknown-name\.json; nothing written/);
    });
  });

  it('the built executable gives the same exit codes and no colour without a terminal', () => {
    const ok = cliProcess(['syscalls', '--target', 'codesafe5']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stdout, /\x1b\[/);
    // Bad input to commands in each part of the bundle: one line, exit 2, no stack trace.
    for (const args of [
      ['syscalls', '--target', 'codesafe5', '--firmware', 'abc'],
      ['generate', '--target', 'codesafe5', '--format', 'pfc', '--out', tempDir()],
      ['check', join(ROOT, 'README.md'), '--target', 'codesafe5'],
      ['bpf', 'audit', join(ROOT, 'README.md'), '--arch', 'arm'],
      ['shim', '--target', 'codesafe5', '--arch', 'i386'],
    ]) {
      const bad = cliProcess(args);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      assert.doesNotMatch(bad.stderr, /internal error|\n\s+at /);
    }
    const dir = tempDir();
    try {
      const demo = cliProcess(['demo'], { cwd: dir });
      assert.equal(demo.code, 0, demo.stderr);
      assert.match(demo.stdout, /What changes between firmware 13\.5 and 13\.7/);
      assert.deepEqual(
        readdirSync(join(dir, 'sysgate-out')).sort(),
        ['asm', 'bpf', 'h', 'libseccomp.c', 'oci.json', 'shim.c', 'systemd.conf'].map((e) => `codesafe5-13.7-arm.${e}`).sort(),
      );
      assert.match(demo.stdout, /sensor-log\.arm\s+firmware 13\.7: PASS/);
      assert.match(demo.stdout, /keygen\.arm\s+firmware 13\.7: PASS .* but getrandom fails and its error reaches the program \(depends\)/);
      assert.match(demo.stdout, /keygen\.arm\s+firmware 13\.5: FAIL .*getrandom kills the process/);
    } finally {
      removeDir(dir);
    }
  });

  it('init: a dangling symlink at the file name counts as existing; --force replaces the link, not its target', async () => {
    const dir = tempDir();
    try {
      const victim = join(dir, 'victim');
      symlinkSync(victim, join(dir, 'sysgate.mk')); // dangling: existsSync would say "absent"
      const r = await cli(['init', 'make'], dir);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /sysgate\.mk exists; use --force/);
      assert.equal((await cli(['init', 'make', '--force'], dir)).code, 0);
      assert.ok(lstatSync(join(dir, 'sysgate.mk')).isFile());
      assert.ok(!existsSync(victim), 'nothing was written through the link');
      const dash = await cli(['init', 'make', '--dir', '-'], dir);
      assert.equal(dash.code, 2);
      assert.deepEqual(readdirSync(dir), ['sysgate.mk']);
    } finally {
      removeDir(dir);
    }
  });
});
