import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticsError, InputError } from '../src/errors.ts';
import { parseAction } from '../src/policy/action.ts';
import { comparePolicies } from '../src/policy/compat.ts';
import { resolveFirmwarePair } from '../src/policy/settings.ts';
import { glibcRecovery } from '../src/policy/libc-fixes.ts';
import { parseFirmware } from '../src/policy/firmware.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy } from '../src/policy/types.ts';
import { cli } from './helpers/cli.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { ROOT } from './helpers/paths.ts';

const FIX = join(ROOT, 'test/fixtures/targets');
const ruleNames = (p: Policy) => p.rules.map((r) => r.name);

/** The vendor table, read from the vendor page copied into the repo (not from our target). */
function vendorTable(): { nr: number; name: string; since: string }[] {
  const text = readFileSync(join(ROOT, 'scripts/data/codesafe5-allowed-syscalls.md'), 'utf8');
  const out: { nr: number; name: string; since: string }[] = [];
  const re = /^(\d+)\n\n([a-z_0-9]+)\n\n[^\n]+\n\nAllowed in CodeSafe 5 since v(13\.\d)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ nr: Number(m[1]), name: m[2]!, since: m[3]! });
  return out;
}

describe('firmware versions', () => {
  it('accepts what users type', () => {
    assert.equal(parseFirmware('13.7'), '13.7.0');
    assert.equal(parseFirmware('v13.7'), '13.7.0');
    assert.equal(parseFirmware('13.7.2'), '13.7.2');
    assert.equal(parseFirmware('13.9.5'), '13.9.5');
  });
  for (const bad of ['13', '13.x', 'abc', '', '13.7.2.1', '1e3.4', '-13.7']) {
    it(`rejects '${bad}' with a clear message`, () => {
      assert.throws(
        () => parseFirmware(bad),
        (e: Error) => e instanceof InputError && /bad firmware version/.test(e.message) && /13\.7/.test(e.message),
      );
    });
  }
});

describe('actions', () => {
  it('parses every kind', () => {
    assert.deepEqual(parseAction('errno:ENOSYS'), { kind: 'errno', errno: 38 });
    assert.deepEqual(parseAction('errno:1'), { kind: 'errno', errno: 1 });
    assert.deepEqual(parseAction('trap'), { kind: 'trap' });
    assert.deepEqual(parseAction('trace:7'), { kind: 'trace', data: 7 });
    assert.throws(() => parseAction('errno:ENOSYZ'), /did you mean 'ENOSYS'/);
    assert.throws(() => parseAction('errno:5000'), /out of range/);
    assert.throws(() => parseAction('allow:1'), /bad action/);
  });
});

describe('shipped targets pass every check a user file gets', () => {
  for (const id of ['codesafe5', 'enclave-x86_64']) {
    it(`${id}: schema and semantic checks, loaded by path`, async () => {
      const byPath = await loadTarget(join(ROOT, 'targets', `${id}.json`));
      const shipped = await loadTarget(id);
      const text = (t: object) => JSON.stringify(t, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)).replaceAll(`${join(ROOT, 'targets')}/`, 'targets/');
      assert.equal(text(byPath), text(shipped));
    });
  }
});

describe('codesafe5 target', () => {
  it("lists all 170 vendor entries with the vendor's firmware versions", async () => {
    const t = await loadTarget('codesafe5');
    const vendor = vendorTable();
    assert.equal(vendor.length, 170);
    assert.deepEqual(
      t.entries.map((e) => e.name),
      vendor.map((v) => v.name),
    );
    for (const v of vendor) assert.equal(t.entries.find((e) => e.name === v.name)!.since, `${v.since}.0`, v.name);
  });

  it("every vendor (number, name) pair is the 64-bit PowerPC ABI's, with no exception", () => {
    const vendor = vendorTable();
    assert.equal(vendor.filter((v) => syscallNumber('ppc64', v.name) === v.nr).length, 170);
    // None of the calls only a 32-bit libc makes; _llseek and statfs64/fstatfs64, which 64-bit PowerPC uses.
    const names = new Set(vendor.map((v) => v.name));
    for (const n of [
      'mmap2',
      'fstat64',
      'stat64',
      'lstat64',
      'fcntl64',
      'truncate64',
      'ftruncate64',
      'sendfile64',
      'fadvise64_64',
      'clock_gettime64',
      'futex_time64',
    ]) {
      assert.ok(!names.has(n), n);
    }
    for (const n of ['_llseek', 'statfs64', 'fstatfs64', 'newfstatat']) assert.ok(names.has(n), n);
  });

  it('against 32-bit ppc, 169 numbers agree and 291 is fstatat64 there', () => {
    for (const v of vendorTable()) {
      const ppc = syscallNumber('ppc', v.name);
      if (v.name === 'newfstatat') {
        assert.equal(ppc, null);
        assert.equal(syscallNumber('ppc', 'fstatat64'), v.nr);
        assert.equal(syscallNumber('ppc64', 'newfstatat'), v.nr);
      } else assert.equal(ppc, v.nr, v.name);
    }
  });

  for (const [fw, count] of [
    ['13.4', 104],
    ['13.5', 110],
    ['13.7', 170],
  ] as const) {
    it(`allows exactly the ${count} vendor entries at ${fw} on ppc64, at the vendor's numbers, with no replacement`, async () => {
      const t = await loadTarget('codesafe5');
      assert.ok(t.arches.includes('ppc64'));
      const p = resolvePolicy(t, { firmware: fw, arch: 'ppc64' });
      const vendor = vendorTable().filter((v) => v.since <= fw);
      assert.equal(vendor.length, count);
      assert.deepEqual(
        p.rules.map((r) => [r.name, r.nr, r.provenance.kind]),
        vendor.map((v) => [v.name, v.nr, 'target']).sort((a, b) => (a[1] as number) - (b[1] as number)),
      );
      assert.deepEqual(p.absent, []);
    });

    it(`allows ${count} vendor entries at ${fw} on ppc, each at the vendor's number`, async () => {
      const p = resolvePolicy(await loadTarget('codesafe5'), { firmware: fw, arch: 'ppc' });
      const vendor = new Map(vendorTable().map((v) => [v.name, v.nr]));
      const fromVendor = p.rules.filter((r) => r.provenance.kind === 'target' || (r.provenance.kind === 'family' && vendor.has(r.provenance.of)));
      assert.equal(fromVendor.length, count);
      for (const r of fromVendor) {
        const name = r.provenance.kind === 'family' ? r.provenance.of : r.name;
        assert.equal(r.nr, vendor.get(name), r.name);
      }
      assert.equal(p.rules.length, count, 'ppc needs no essentials and no other family members');
    });
  }

  it('kills the process before 13.7 and answers ENOSYS from 13.7, latest by default', async () => {
    const t = await loadTarget('codesafe5');
    assert.deepEqual(resolvePolicy(t, { firmware: '13.4' }).defaultAction, { kind: 'kill-process' });
    assert.deepEqual(resolvePolicy(t, { firmware: '13.5' }).defaultAction, { kind: 'kill-process' });
    assert.deepEqual(resolvePolicy(t, { firmware: '13.6.5' }).defaultAction, { kind: 'kill-process' });
    assert.deepEqual(resolvePolicy(t, { firmware: '13.7.2' }).defaultAction, { kind: 'errno', errno: 38 });
    assert.deepEqual(resolvePolicy(t, { firmware: '13.9.5' }).defaultAction, { kind: 'errno', errno: 38 });
    assert.equal(resolvePolicy(t).firmware, '13.7.0');
    assert.equal(resolvePolicy(t).arch.name, 'arm');
    assert.throws(() => resolvePolicy(t, { firmware: '13.3' }), /older than codesafe5's first known firmware 13.4/);
  });

  it('on ARM replaces the names EABI lacks and adds set_tls', async () => {
    const p = resolvePolicy(await loadTarget('codesafe5'), { firmware: '13.7', arch: 'arm' });
    const absent = Object.fromEntries(p.absent.map((a) => [a.name, a.replacedBy]));
    assert.deepEqual(Object.keys(absent).sort(), ['alarm', 'ipc', 'mmap', 'newfstatat', 'socketcall', 'time', 'utime', 'waitpid']);
    assert.deepEqual(absent.mmap, ['mmap2']);
    assert.deepEqual(absent.newfstatat, ['fstatat64']);
    const setTls = p.rules.find((r) => r.name === 'set_tls')!;
    assert.equal(setTls.nr, 0xf0005);
    assert.equal(setTls.provenance.kind, 'essential');
    const mmap2 = p.rules.find((r) => r.name === 'mmap2')!;
    assert.deepEqual(mmap2.provenance, { kind: 'family', of: 'mmap', family: 'mmap' });
    assert.ok(!ruleNames(p).includes('getrandom'));
    // The same operations under ARM's names (expandFamilies "operations", abi ppc64).
    assert.deepEqual(p.rules.find((r) => r.name === 'clock_gettime64')!.provenance, { kind: 'family', of: 'clock_gettime', family: 'clock_gettime' });
    assert.deepEqual(p.rules.find((r) => r.name === 'fcntl64')!.provenance, { kind: 'family', of: 'fcntl', family: 'fcntl' });
  });

  it('gates by firmware: later versions inherit', async () => {
    const t = await loadTarget('codesafe5');
    const at = (fw: string) => new Set(ruleNames(resolvePolicy(t, { firmware: fw, arch: 'ppc' })));
    assert.ok(!at('13.4').has('getgroups') && at('13.5').has('getgroups') && at('13.9').has('getgroups'));
    assert.ok(!at('13.5').has('statx') && at('13.7').has('statx'));
  });

  it('expresses nice as an argument condition and keeps it off legacy stand-ins', async () => {
    const t = await loadTarget('codesafe5');
    const arm = resolvePolicy(t, { firmware: '13.7', arch: 'arm' });
    const nice = arm.rules.find((r) => r.name === 'nice')!;
    assert.deepEqual(
      nice.clauses.map((c) => c.conditions),
      [[{ index: 0, op: 'masked-eq', mask: 0x80000000n, value: 0n, width: 32 }]],
    );
    const x86 = resolvePolicy(t, { firmware: '13.7', arch: 'x86_64' });
    assert.deepEqual(x86.absent.find((a) => a.name === 'nice')!.replacedBy, []);
    assert.deepEqual(
      x86.rules.find((r) => r.name === 'setpriority')!.clauses.map((c) => c.conditions.length),
      [0],
    );
    assert.equal(x86.rules.find((r) => r.name === 'setpriority')!.provenance.kind, 'target');
    for (const n of ['setpriority', 'setrlimit', 'prlimit64']) assert.ok(t.entries.find((e) => e.name === n)!.limit, n);
  });

  it('resolves for x86_64 with arch_prctl and refuses arches it was not written for', async () => {
    const t = await loadTarget('codesafe5');
    assert.ok(ruleNames(resolvePolicy(t, { arch: 'x86_64' })).includes('arch_prctl'));
    assert.throws(() => resolvePolicy(t, { arch: 'i386' }), /not defined for i386/);
    assert.throws(() => resolvePolicy(t, { arch: 'sparc' }), /unknown arch 'sparc'/);
    assert.throws(() => resolvePolicy(t, { arch: 'amr' }), /did you mean 'arm'/);
  });
});

describe('enclave-x86_64 target', () => {
  it('kills, is x86_64 only, and fails closed where the docs and the code disagree', async () => {
    const t = await loadTarget('enclave-x86_64');
    const p = resolvePolicy(t);
    assert.equal(p.arch.name, 'x86_64');
    assert.equal(p.firmware, null);
    assert.ok(p.defaultAction.kind === 'kill-process' || p.defaultAction.kind === 'kill-thread');
    assert.ok(!ruleNames(p).includes('pidfd_open'));
    assert.match(t.denied.find((d) => d.name === 'pidfd_open')!.reason, /code|document/i);
    assert.ok(ruleNames(p).includes('read') && ruleNames(p).includes('arch_prctl'));
    assert.ok(!ruleNames(p).includes('chroot') && !ruleNames(p).includes('ptrace'));
    const code = readFileSync(join(ROOT, 'scripts/data/capejail-allowed.txt'), 'utf8').split('\n').filter(Boolean);
    const allowed = new Set(ruleNames(p));
    const dropped = code.filter((n) => !allowed.has(n) && syscallNumber('x86_64', n) !== null);
    for (const n of dropped)
      assert.ok(
        t.denied.some((d) => d.name === n),
        `${n} dropped without a recorded reason`,
      );
  });
});

describe('user targets', () => {
  it('loads groups (nested), OR-ed argument conditions, per-entry actions and family expansion', async () => {
    const t = await loadTarget(join(FIX, 'minimal.json'));
    const x = resolvePolicy(t, { arch: 'x86_64' });
    assert.deepEqual(
      ruleNames(x),
      ['read', 'write', 'mmap', 'getpid', 'kill', 'uname', 'getppid', 'gettid', 'exit_group', 'arch_prctl'].sort(
        (a, b) => syscallNumber('x86_64', a)! - syscallNumber('x86_64', b)!,
      ),
    );
    assert.equal(x.rules.find((r) => r.name === 'kill')!.clauses.length, 2);
    assert.deepEqual(
      x.rules.find((r) => r.name === 'uname')!.clauses.map((c) => c.action),
      [{ kind: 'errno', errno: 2 }],
    );
    assert.deepEqual(x.rules.find((r) => r.name === 'getppid')!.provenance, { kind: 'group', group: '@mine' });
    const arm = resolvePolicy(t, { arch: 'arm' });
    assert.ok(ruleNames(arm).includes('mmap2'));
    assert.deepEqual(x.defaultAction, { kind: 'errno', errno: 1 });
  });

  it('extends a shipped target: adds, removes, inherits', async () => {
    const t = await loadTarget(join(FIX, 'extends-codesafe5.json'));
    assert.deepEqual(t.extendsChain, ['codesafe5']);
    const at = (fw: string) => ruleNames(resolvePolicy(t, { firmware: fw, arch: 'ppc' }));
    assert.ok(!at('13.7').includes('getrandom'));
    assert.ok(at('13.9').includes('getrandom'));
    assert.ok(!at('13.9').includes('reboot'));
    assert.ok(at('13.9').includes('openat'));
  });

  it('reports every schema problem with file and JSON pointer', async () => {
    const file = join(FIX, 'invalid-schema.json');
    const err = await loadTarget(file).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof DiagnosticsError);
    const ptrs = err.diagnostics.map((d) => d.pointer);
    for (const p of ['/id', '/arches/1', '/defaultAction', '/colour', '/syscalls/0/since', '/syscalls/1/args/0/index', '/syscalls/2/group']) {
      assert.ok(ptrs.includes(p), `missing ${p} in ${JSON.stringify(ptrs)}`);
    }
    assert.ok(err.diagnostics.every((d) => d.file === file));
    assert.ok(err.diagnostics.some((d) => /unknown property 'colour'/.test(d.message)));
  });

  it('says "did you mean" for unknown syscall and group names', async () => {
    const err = await loadTarget(join(FIX, 'unknown-name.json')).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof DiagnosticsError);
    const msgs = err.diagnostics.map((d) => `${d.pointer} ${d.message}`);
    assert.ok(
      msgs.some((m) => m.startsWith('/syscalls/1/name') && /'getrandm'.*did you mean 'getrandom'/.test(m)),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.some((m) => m.startsWith('/syscalls/2/name') && /did you mean 'open'/.test(m)),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.some((m) => m.startsWith('/syscalls/3/group') && /did you mean '@basic-io'/.test(m)),
      msgs.join('\n'),
    );
  });

  it('reports semantic problems: versions, ranges, allow defaults, duplicates, documented numbers', async () => {
    const err = await loadTarget(join(FIX, 'semantic.json')).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof DiagnosticsError);
    const byPtr = (p: string) =>
      err.diagnostics
        .filter((d: { pointer: string }) => d.pointer === p)
        .map((d: { message: string }) => d.message)
        .join(' | ');
    assert.match(byPtr('/defaultArch'), /not one of the target's arches/);
    assert.match(byPtr('/firmware/versions/1'), /oldest first/);
    assert.match(byPtr('/firmware/defaultAction/0/action'), /must not be allow/);
    assert.match(byPtr('/foreignArchAction'), /never be allowed/);
    assert.match(byPtr('/syscalls/0/since'), /older than the target's first firmware/);
    assert.match(byPtr('/syscalls/1/until'), /not after/);
    assert.match(byPtr('/syscalls/2/name'), /listed twice/);
    assert.match(byPtr('/syscalls/3/documented/arm'), /table says 322/);
    assert.match(byPtr('/syscalls/4/name'), /both allowed here and listed in 'deny'/);
  });

  it('rejects broken JSON, missing files, unknown ids and extends loops', async () => {
    await assert.rejects(loadTarget(join(FIX, 'not-json.json')), (e: Error) => e instanceof InputError && /not-json\.json: not valid JSON/.test(e.message));
    await assert.rejects(loadTarget(join(FIX, 'nope.json')), /no such file/);
    await assert.rejects(loadTarget('codesafe'), /unknown target 'codesafe' \(did you mean 'codesafe5'\?\)/);
    await assert.rejects(loadTarget(join(FIX, 'loop-a.json')), /'extends' loops/);
  });
});

describe('compat', () => {
  it('reports 60 calls and the kill -> ENOSYS change from 13.5 to 13.7 on ppc', async () => {
    const r = comparePolicies(...resolveFirmwarePair(await loadTarget('codesafe5'), '13.5', '13.7', 'ppc'), glibcRecovery);
    assert.equal(r.added.length, 60);
    assert.equal(r.removed.length, 0);
    assert.deepEqual(r.defaultAction, { from: 'kill-process', to: 'errno:ENOSYS', changed: true });
    assert.ok(r.summary.some((s) => /stop killing the app/.test(s)));
    const back = comparePolicies(...resolveFirmwarePair(await loadTarget('codesafe5'), '13.7', '13.4', 'ppc'), glibcRecovery);
    assert.equal(back.removed.length, 66);
    assert.ok(back.summary.some((s) => /now kills the app/.test(s)));
  });
});

describe('codesafe5: what the older vendor pages say', () => {
  it('records each disagreement where a user meets the name, without changing the policy', async () => {
    const t = await loadTarget('codesafe5');
    assert.deepEqual(
      t.history.map((h) => h.name),
      [
        'mount',
        'umount',
        'sigreturn',
        'sched_get_priority_min',
        'stat64',
        'lstat64',
        'fstat64',
        'fcntl64',
        'io_getevents',
        'set_robust_list',
        'getgroups',
        'getpriority',
        'ipc',
        'tkill',
      ],
    );
    const p = resolvePolicy(t, { firmware: '13.5', arch: 'ppc64' });
    assert.ok(!ruleNames(p).includes('mount') && !ruleNames(p).includes('set_robust_list'), 'listed by the old pages only: still denied');
    assert.ok(ruleNames(p).includes('getgroups'), 'missing from the old pages: still allowed since 13.5');
    const e = JSON.parse((await cli(['explain', '--target', 'codesafe5', '--arch', 'ppc64', '--json', 'set_robust_list'])).stdout) as { history: string[] }[];
    assert.match(e[0]!.history[0]!, /^Listed as 300 by the older vendor pages/);
    const c = JSON.parse((await cli(['compat', '--target', 'codesafe5', '--from', '13.5', '--to', '13.7', '--json'])).stdout) as {
      history: { name: string }[];
      summary: string[];
    };
    assert.equal(c.history.length, 14);
    assert.ok(c.summary.some((s) => /Other sources disagree with the target about 14 calls/.test(s)));
  });
});
