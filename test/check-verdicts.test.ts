/**
 * check's verdicts say what the program experiences (issue 13): each kind asserted on a real
 * program (test/fixtures/check/verdicts.c, one variant per kind) and then proven by running the
 * same file under the real codesafe5 13.7 filter with `sysgate run`: a `degrades` program
 * carries on, a `depends` one gets the error in main, a `breaks` one (OpenSSL 3) fails, a
 * `falls-back` one (CPython) gets its bytes elsewhere. Unmodelled imports are named findings.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { DEATH_ORDER, VERDICT_ORDER, type CheckReport, type Finding } from '../src/check/types.ts';
import { libraryRecords } from '../src/libc/libraries.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { validateJson } from '../src/util/validate-json.ts';
import { checkTempDir, FIXTURES } from './helpers/check-build.ts';
import { cli } from './helpers/cli.ts';
import { DIST_CLI, ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

let codesafe: TargetDef;
let dir: string;
const bins = new Map<string, string>();

/** The fixture built with -D<variant> (and extra link arguments) for this machine (x86_64). */
function build(variant: string, extra: string[] = []): string {
  let out = bins.get(variant);
  if (out) return out;
  out = join(dir, `verdicts-${variant.toLowerCase()}`);
  const r = spawnSync('gcc', ['-O2', `-D${variant}`, '-o', out, join(FIXTURES, 'verdicts.c'), ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  bins.set(variant, out);
  return out;
}

function check(file: string): CheckReport {
  return checkElf(new Uint8Array(readFileSync(file)), file, codesafe, { firmware: '13.7' });
}

function finding(r: CheckReport, name: string): Finding {
  const f = r.syscalls.find((s) => s.name === name);
  assert.ok(f, `${name} not reported; reported: ${r.syscalls.map((s) => s.name).join(' ')}`);
  return f;
}

/** The program under the shipped codesafe5 13.7 filter (the supervisor answers as the device). */
function runUnderFilter(exe: string): { code: number | null; stdout: string; denied: string[] } {
  const r = spawnSync(process.execPath, [DIST_CLI, 'run', '--target', 'codesafe5', '--firmware', '13.7', '--json', '--', exe], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SYSGATE_CACHE_DIR: join(dir, 'cache') },
  });
  const at = r.stderr.lastIndexOf('\n{\n');
  const report = JSON.parse(r.stderr.slice(at >= 0 ? at + 1 : 0)) as { denied: { name: string }[] };
  return { code: r.status, stdout: r.stdout, denied: report.denied.map((d) => d.name) };
}

describe('check: verdicts that say what the program experiences (run under the real filter)', function () {
  this.timeout(180_000);

  before(async function () {
    requireTool(this, 'gcc', 'gcc');
    codesafe = await loadTarget('codesafe5');
    dir = checkTempDir();
  });

  it('degrades: posix_fadvise is advice (fadvise64 denied); the program carries on', function () {
    const exe = build('ADVICE');
    const f = finding(check(exe), 'fadvise64');
    assert.deepEqual([f.verdict, f.severity, f.action], ['degrades', 'ok', 'errno:ENOSYS']);
    assert.match(f.outcome, /posix_fadvise\(\) returns the error to the program, and callers carry on without it/);
    const run = runUnderFilter(exe);
    assert.ok(run.denied.includes('fadvise64'), run.denied.join(' '));
    assert.equal(run.stdout, 'fadvise 38 read 4\n'); // ENOSYS returned, and the read works
    assert.equal(run.code, 0);
  });

  it('depends: getrandom() imported directly: the error reaches main, a warning naming the call; --strict fails', async function () {
    const exe = build('DIRECT');
    const r = check(exe);
    const f = finding(r, 'getrandom');
    assert.deepEqual([f.verdict, f.severity], ['depends', 'warning']);
    assert.match(f.outcome, /getrandom\(\) returns the error to the program: whether it copes is not known/);
    assert.equal(r.fatal, false);
    assert.equal((await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.7'])).code, 0);
    assert.equal((await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.7', '--strict'])).code, 1);
    // What the program does with it is its own: this one gives up (exit 3).
    const run = runUnderFilter(exe);
    assert.equal(run.stdout, 'getrandom -1\n');
    assert.equal(run.code, 3);
  });

  it('breaks: a program linking libcrypto.so.3 (OpenSSL 3 seeding has no fallback): fatal, and RAND_bytes fails', async function () {
    if (!existsSync('/usr/include/openssl/rand.h')) this.skip();
    const exe = build('OPENSSL', ['-lcrypto']);
    const r = check(exe);
    const f = finding(r, 'getrandom');
    assert.deepEqual([f.verdict, f.severity], ['breaks', 'fatal']);
    const lib = f.via.find((v) => v.kind === 'library');
    assert.ok(lib && lib.library === 'libcrypto.so.3' && lib.verdict === 'breaks', JSON.stringify(f.via));
    assert.match(f.outcome, /libcrypto\.so\.3 gets the error, and it fails on it/);
    assert.equal(r.fatal, true);
    assert.equal((await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.7'])).code, 1);
    const run = runUnderFilter(exe);
    assert.equal(run.stdout, 'RAND_bytes 0\n');
    assert.equal(run.code, 3);
  });

  it('falls-back: a program linking libpython3.11: CPython reads /dev/urandom when getrandom fails', function () {
    const inc = spawnSync('python3.11-config', ['--includes'], { encoding: 'utf8' });
    if (inc.status !== 0 || !existsSync('/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0')) this.skip();
    const exe = build('PYTHON', [...inc.stdout.trim().split(/\s+/), '-lpython3.11']);
    const f = finding(check(exe), 'getrandom');
    assert.equal(f.verdict, 'falls-back');
    const lib = f.via.find((v) => v.kind === 'library');
    assert.ok(lib && lib.library === 'libpython3.11.so.1.0' && lib.verdict === 'falls-back', JSON.stringify(f.via));
    const run = runUnderFilter(exe);
    assert.ok(run.denied.includes('getrandom'), run.denied.join(' '));
    assert.equal(run.stdout, 'urandom 16\n');
    assert.equal(run.code, 0);
  });

  it('an import the knowledge base does not model is a depends finding naming it (never dropped)', async function () {
    const exe = build('UNMODELLED');
    const r = check(exe);
    assert.deepEqual(r.unknownImports, ['cuserid']);
    assert.equal(r.summary.unmodelled, 1);
    assert.equal(r.summary.warnings, 1);
    const text = await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.7']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /warn +1 import the libc knowledge base does not model \(depends: .*\): cuserid/);
    assert.equal((await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.7', '--strict'])).code, 1);
    // It does enter the kernel: not modelled is not the same as harmless.
    requireTool(this, 'strace', 'strace');
    const st = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', exe], { encoding: 'utf8' });
    assert.match(st.stderr, /^openat\(AT_FDCWD, "\/etc\/(nsswitch\.conf|passwd)"/m);
  });

  it('dies (aborts): a program linking libnode.so.108, whose start-up aborts when OpenSSL cannot seed', function () {
    // A stand-in library with Node's SONAME: the record applies by DT_NEEDED alone (the trace
    // behind it is node 20's SIGABRT under strace -e inject=getrandom:error=ENOSYS).
    const lib = join(dir, 'libnode.so.108');
    const so = spawnSync('gcc', ['-shared', '-fPIC', '-Wl,-soname,libnode.so.108', '-o', lib, '-x', 'c', '-'], {
      input: 'int node_start(void) { return 0; }\n',
      encoding: 'utf8',
    });
    assert.equal(so.status, 0, so.stderr);
    const exe = join(dir, 'uses-libnode');
    const cc = spawnSync('gcc', ['-o', exe, '-x', 'c', '-', '-x', 'none', '-Wl,--no-as-needed', lib], {
      input: 'int node_start(void);\nint main(void) { return node_start(); }\n',
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, cc.stderr);
    const f = finding(check(exe), 'getrandom');
    assert.deepEqual([f.verdict, f.how, f.severity], ['dies', 'aborts', 'fatal']);
    assert.match(f.outcome, /libnode\.so\.108 cannot go on: the process dies/);
  });

  it('a library linked in (recognised by the API the file exports): this node dies at 13.7, as strace shows', function () {
    // The node running this test carries OpenSSL 3 and node::Start linked in (official and
    // NodeSource builds), or loads libnode.so.108 (Debian's): either way its start-up aborts
    // when getrandom fails, and the check must say so rather than a warning.
    requireTool(this, 'strace', 'strace');
    const node = realpathSync(process.execPath);
    const f = finding(check(node), 'getrandom');
    assert.deepEqual([f.verdict, f.how], ['dies', 'aborts'], f.outcome);
    const run = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'inject=getrandom:error=ENOSYS', node, '-e', '0'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(
      run.signal ?? run.status,
      run.signal ? 'SIGABRT' : 134,
      `node under inject=getrandom:error=ENOSYS: ${run.status} ${run.signal} ${run.stderr.slice(0, 300)}`,
    );
  });

  it('linkedIn needs every export of the signature: OpenSSL 3 API exported: breaks; RAND_bytes alone: depends', function () {
    // A program exporting OpenSSL 3's API (-rdynamic) is libcrypto 3 linked in; RAND_bytes alone
    // is also OpenSSL 1.1.1's, whose seeding falls back to /dev/urandom: not recognised.
    const mk = (name: string, api: string): string => {
      const exe = join(dir, name);
      const src = `#include <sys/random.h>\n${api}\nint main(void) { char b[8]; return getrandom(b, sizeof b, 0) == sizeof b ? 0 : 1; }\n`;
      const r = spawnSync('gcc', ['-rdynamic', '-o', exe, '-x', 'c', '-'], { input: src, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return exe;
    };
    const both = finding(check(mk('exports-ossl3', 'int OSSL_PROVIDER_load(void) { return 0; }\nint RAND_bytes(void) { return 1; }')), 'getrandom');
    assert.equal(both.verdict, 'breaks', both.outcome);
    assert.ok(
      both.via.some((v) => v.kind === 'library' && v.linkedIn === true && v.library === 'libcrypto.so.3'),
      JSON.stringify(both.via),
    );
    assert.ok(!both.via.some((v) => v.kind === 'import'), "the import is the library's, judged by its record");
    const one = finding(check(mk('exports-rand-only', 'int RAND_bytes(void) { return 1; }')), 'getrandom');
    assert.equal(one.verdict, 'depends', one.outcome);
    assert.ok(!one.via.some((v) => v.kind === 'library'));
  });

  it('dies, with how: killed at 13.5 (the filter), the how in JSON and in the SARIF rule', async function () {
    const exe = build('DIRECT');
    const r = checkElf(new Uint8Array(readFileSync(exe)), exe, codesafe, { firmware: '13.5' });
    const f = finding(r, 'getrandom');
    assert.deepEqual([f.verdict, f.how, f.severity], ['dies', 'killed', 'fatal']);
    const sarif = JSON.parse((await cli(['check', exe, '--target', 'codesafe5', '--firmware', '13.5', '--format', 'sarif'])).stdout);
    const res = sarif.runs[0].results.find((x: { properties?: { syscall?: string } }) => x.properties?.syscall === 'getrandom');
    assert.equal(res.ruleId, 'SG001');
    assert.deepEqual([res.properties.verdict, res.properties.how], ['dies', 'killed']);
  });
});

describe('check: library behaviour records (src/libc/libraries.json)', () => {
  it('validate against schemas/libraries.schema.json; every syscall exists on x86_64, arm and aarch64', async () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/libraries.schema.json'), 'utf8'));
    const data = JSON.parse(readFileSync(join(ROOT, 'src/libc/libraries.json'), 'utf8'));
    assert.deepEqual(await validateJson(schema, data, 'src/libc/libraries.json'), []);
    for (const l of libraryRecords()) {
      for (const c of l.calls) {
        assert.ok(c.source.length > 10 && /\d/.test(c.source), `${l.soname}: a source at a release`);
        if (c.onError === 'falls-back') assert.ok(c.fallback, `${l.soname}: falls-back names what it uses`);
        for (const s of c.syscalls) for (const a of ['x86_64', 'arm', 'aarch64'] as const) assert.notEqual(syscallNumber(a, s), null, `${s} on ${a}`);
      }
    }
  });
});

describe('check: one taxonomy in the types, --help and SARIF', () => {
  it('every verdict and every way of dying is explained in check --help and has a SARIF rule', async () => {
    const help = (await cli(['check', '--help'])).stdout;
    const section = help.slice(help.indexOf('Verdicts'), help.indexOf('Options:'));
    for (const v of VERDICT_ORDER) assert.match(section, new RegExp(`^  ${v} `, 'm'), v);
    for (const h of DEATH_ORDER) assert.match(section, new RegExp(`\\b${h} \\(`), h);
    const sarif = JSON.parse((await cli(['check', join(ROOT, 'examples/bin/keygen.arm'), '-t', 'codesafe5', '--format', 'sarif'])).stdout);
    const rules = new Set((sarif.runs[0].tool.driver.rules as { name: string }[]).map((r) => r.name));
    for (const v of [...VERDICT_ORDER.filter((x) => x !== 'allowed' && x !== 'dies'), ...DEATH_ORDER]) assert.ok(rules.has(v), v);
  });
});
