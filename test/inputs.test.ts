/**
 * Hostile inputs: FIFOs and /dev/zero where a file is expected, directory walks that meet what
 * they cannot read, --jobs, and output order under different locales. Each case runs the built
 * executable (a real process: real exit code, a hang is caught by the timeout) and expects one
 * line on stderr naming the file, exit 2, and nothing else.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { DIST_CLI, ROOT } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';
import { checkPaths, displayName, workerCount } from '../src/check/walk.ts';
import { isCheckError } from '../src/check/types.ts';
import { loadTarget } from '../src/policy/load.ts';

const ELF = join(ROOT, 'examples/bin/keygen.arm');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built CLI with a time limit: a hang shows as a SIGKILL, never as a stuck test. */
function sysgate(args: string[], opts: { cwd?: string; env?: Record<string, string>; prefix?: string[]; timeout?: number } = {}): Run {
  const cmd = opts.prefix ?? [];
  const r = spawnSync(cmd[0] ?? process.execPath, [...cmd.slice(1), ...(cmd.length ? [process.execPath] : []), DIST_CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: opts.timeout ?? 15_000,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 26,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The most threads the CLI process had at once, read from /proc/PID/status every few ms. */
function peakThreads(args: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [DIST_CLI, ...args], { cwd: ROOT, stdio: 'ignore' });
    let peak = 0;
    const timer = setInterval(() => {
      try {
        const m = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited between two samples
      }
    }, 5);
    child.on('error', fail);
    child.on('exit', () => {
      clearInterval(timer);
      done(peak);
    });
  });
}

function oneLineError(r: Run, pattern: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal}: it hung (stderr: ${r.stderr})`);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

function mustBeRoot(ctx: Mocha.Context): void {
  if (process.getuid?.() === 0) return;
  if (process.env.CI) throw new Error('this test needs root (CI runs as root)');
  ctx.skip();
}

describe('inputs: FIFOs and devices are refused at once', () => {
  let dir: string;
  let fifo: string;
  before(function () {
    requireTool(this, 'mkfifo', 'coreutils');
    dir = tempDir();
    fifo = join(dir, 'pipe.json');
    // No writer ever opens it: a plain open() for reading would block for ever.
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    writeFileSync(join(dir, 'child.json'), JSON.stringify({ id: 'child', title: 't', extends: './pipe.json' }));
    writeFileSync(join(dir, 'zero-child.json'), JSON.stringify({ id: 'child', title: 't', extends: '/dev/zero' }));
  });
  after(() => removeDir(dir));

  const cases: [string, () => string[], RegExp][] = [
    ['a FIFO as target', () => ['syscalls', '--target', fifo], /pipe\.json: target file is a FIFO/],
    ['/dev/zero as target', () => ['syscalls', '--target', '/dev/zero'], /^sysgate: \/dev\/zero: target file is a character device/],
    ['a FIFO as extends', () => ['syscalls', '--target', join(dir, 'child.json')], /pipe\.json: target file is a FIFO/],
    ['/dev/zero as extends', () => ['syscalls', '--target', join(dir, 'zero-child.json')], /\/dev\/zero: target file is a character device/],
    ['a FIFO as config', () => ['generate', '--config', fifo, '--out', join(dir, 'o')], /pipe\.json: config file is a FIFO/],
    ['/dev/zero as config', () => ['generate', '--config', '/dev/zero', '--out', join(dir, 'o')], /\/dev\/zero: config file is a character device/],
    ['a FIFO as filter (disasm)', () => ['bpf', 'disasm', fifo, '--arch', 'arm'], /pipe\.json: filter is a FIFO/],
    ['a FIFO as filter (run)', () => ['bpf', 'run', fifo, '--arch', 'arm', '--syscall', 'read'], /pipe\.json: filter is a FIFO/],
    ['a FIFO as filter (audit)', () => ['bpf', 'audit', fifo, '--arch', 'arm'], /pipe\.json: filter is a FIFO/],
    ['/dev/zero as filter', () => ['bpf', 'audit', '/dev/zero', '--arch', 'arm'], /\/dev\/zero: filter is a character device/],
    ['a FIFO as the ELF to check', () => ['check', fifo, '--target', 'codesafe5'], /pipe\.json: not a regular file or directory/],
    ['/dev/zero as the ELF to check', () => ['check', '/dev/zero', '--target', 'codesafe5'], /\/dev\/zero: not a regular file or directory/],
  ];
  for (const [what, args, pattern] of cases) {
    it(what, () => oneLineError(sysgate(args(), { cwd: dir }), pattern));
  }

  it('a config found upwards that is a FIFO is refused too', () => {
    const sub = join(dir, 'proj');
    mkdirSync(sub);
    assert.equal(spawnSync('mkfifo', [join(sub, 'sysgate.config.json')]).status, 0);
    oneLineError(sysgate(['syscalls'], { cwd: sub }), /sysgate\.config\.json: config file is a FIFO/);
  });

  it('a filter bigger than 4096 instructions is refused by size, not read', () => {
    const big = join(dir, 'big.bpf');
    writeFileSync(big, Buffer.alloc(8 * 4097));
    oneLineError(sysgate(['bpf', 'disasm', big, '--arch', 'arm']), /big\.bpf: filter is 32776 bytes, over the limit of 32768/);
  });
});

describe('check: a directory walk fails closed', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
    chmodSync(dir, 0o755); // readable by the unprivileged user below
    mkdirSync(join(dir, 'tree'));
    copyFileSync(ELF, join(dir, 'tree/app'));
  });
  afterEach(() => {
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    // rm(1) walks by file descriptor: it removes trees past PATH_MAX that path-based removal cannot.
    spawnSync('rm', ['-rf', dir]);
  });

  function checkJson(args: string[], opts: Parameters<typeof sysgate>[1] = {}) {
    // Run from the temp directory: paths found by the walk are shown relative to it (tree/...).
    // --strict: keygen's getrandom is a depends finding, so every file checked makes exit 1.
    const r = sysgate(['check', 'tree', '--target', 'codesafe5', '--json', '--jobs', '1', '--strict', ...args], { cwd: dir, ...opts });
    assert.equal(r.signal, null, r.stderr);
    return { ...r, reports: JSON.parse(r.stdout || '[]') as { file: string; error?: string }[] };
  }

  it('an unreadable file and an unreadable directory (EACCES, as an unprivileged user) are errors: exit 2', function () {
    mustBeRoot(this);
    requireTool(this, 'setpriv', 'util-linux');
    mkdirSync(join(dir, 'tree/locked'));
    copyFileSync(ELF, join(dir, 'tree/locked/inner'));
    copyFileSync(ELF, join(dir, 'tree/secret'));
    chmodSync(join(dir, 'tree/app'), 0o755);
    chmodSync(join(dir, 'tree/locked'), 0o000);
    chmodSync(join(dir, 'tree/secret'), 0o000);
    // Root reads everything, so the walker runs as nobody: the kernel itself says EACCES.
    const r = checkJson([], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), ['sysgate: tree/locked: cannot read directory: EACCES', 'sysgate: tree/secret: cannot read: EACCES']);
    // Exit 2: no JSON report at all (nothing half-written); the text report shows the readable file was still checked.
    assert.equal(r.stdout, '');
    const text = sysgate(['check', 'tree', '--target', 'codesafe5', '--jobs', '1'], {
      cwd: dir,
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    });
    assert.equal(text.code, 2);
    assert.match(text.stdout, /^tree\/app: /m);
  });

  it('a dangling symlink is an error naming it; a link loop ends; a linked file is checked once', () => {
    symlinkSync('nowhere', join(dir, 'tree/dangling'));
    symlinkSync('.', join(dir, 'tree/self')); // a loop: the walk must end
    symlinkSync('app', join(dir, 'tree/zz-alias')); // same inode as app: checked once, as app
    const r = checkJson([]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), ['sysgate: tree/dangling: symlink to a missing file (ENOENT)']);
    assert.equal(r.stdout, '', 'no JSON report on exit 2');
    const text = sysgate(['check', 'tree', '--target', 'codesafe5', '--jobs', '1'], { cwd: dir });
    assert.equal(text.code, 2);
    // app once (zz-alias is the same file), self ended.
    assert.deepEqual(
      text.stdout
        .split('\n')
        .filter((l) => /^tree\//.test(l))
        .map((l) => l.split(':')[0]),
      ['tree/app'],
    );
  });

  it('a symlink to a file outside the tree is followed and checked', () => {
    const outside = join(dir, 'elsewhere');
    copyFileSync(ELF, outside);
    symlinkSync(outside, join(dir, 'tree/linked'));
    const r = checkJson([]);
    assert.equal(r.code, 1, r.stderr); // keygen has a depends finding (--strict): both copies are reported
    assert.deepEqual(
      r.reports.map((x) => x.file.split('/').pop()),
      ['app', 'linked'],
    );
  });

  it('a name that is not UTF-8 is opened by its bytes and shown with \\xNN', () => {
    // The file name as raw bytes: 'bad', 0xff, 'name' (0xff never occurs in UTF-8).
    const bytes = Buffer.concat([Buffer.from(join(dir, 'tree/bad')), Buffer.from([0xff]), Buffer.from('name')]);
    copyFileSync(ELF, bytes);
    const r = checkJson([]);
    assert.equal(r.code, 1, r.stderr); // checked (a depends finding under --strict), not skipped and not an error
    assert.deepEqual(
      r.reports.map((x) => x.file.split('/').pop()),
      ['app', 'bad\\xffname'],
    );
    assert.ok(
      r.reports.every((x) => !x.error),
      r.stdout,
    );
  });

  it('display names escape exactly the bytes that are not UTF-8, control characters and backslash', () => {
    assert.equal(displayName(Buffer.from('plain-é')), 'plain-é');
    assert.equal(displayName(Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x82])), 'a\\xffé\\xe2\\x82');
    assert.equal(displayName(Buffer.from('a\nb\\c')), 'a\\x0ab\\x5cc');
  });

  it('a path past PATH_MAX is an error naming it, not skipped', () => {
    // 20 levels of 250-byte names: about 5 KB, past Linux's 4096. The shell builds it with
    // relative cd, which never passes the whole path to the kernel.
    const seg = 'd'.repeat(250);
    // bash, not dash: dash's cd hands the kernel the whole path, which fails past PATH_MAX.
    const mk = spawnSync('bash', [
      '-c',
      `cd "$1" && for i in $(seq 20); do mkdir ${seg} && cd ${seg} || exit 1; done && cp "$2" deep`,
      'bash',
      join(dir, 'tree'),
      ELF,
    ]);
    assert.equal(mk.status, 0, String(mk.stderr));
    const r = checkJson([]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^sysgate: tree/(${seg}/)+${seg}: path longer than PATH_MAX \\(ENAMETOOLONG\\): cannot be checked$`));
  });

  it('a file that vanishes after the walk listed it is an error, not a skip', async () => {
    copyFileSync(ELF, join(dir, 'tree/later'));
    const target = await loadTarget('codesafe5');
    // The walk lists both files first; once the first is checked, the second is deleted.
    const results = await checkPaths([join(dir, 'tree')], target, {
      cwd: dir,
      jobs: 1,
      onProgress: (done) => {
        if (done === 1) rmSync(join(dir, 'tree/later'));
      },
    });
    assert.deepEqual(
      results.map((r) => [r.file, isCheckError(r) ? r.error : 'checked']),
      [
        ['tree/app', 'checked'],
        ['tree/later', 'vanished before it was read (ENOENT)'],
      ],
    );
  });

  it('a FIFO, a socket and short files inside a walk are skipped without blocking', () => {
    assert.equal(spawnSync('mkfifo', [join(dir, 'tree/fifo')]).status, 0);
    writeFileSync(join(dir, 'tree/short'), '\x7fELF');
    const r = checkJson([]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      r.reports.map((x) => x.file.split('/').pop()),
      ['app'],
    );
  });
});

describe('check --jobs', () => {
  it('is capped to the cores and to one worker per 6 files', () => {
    assert.equal(workerCount(1_000_000, 6_000_000, 2), 2);
    assert.equal(workerCount(1_000_000, 13, 8), 2);
    assert.equal(workerCount(undefined, 100, 4), 4);
    assert.equal(workerCount(3, 5, 8), 1);
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => workerCount(bad, 10, 2), /bad jobs/);
  });

  for (const bad of ['0', '-1', '1.5', 'abc', '1e3', '0x10', '']) {
    it(`refuses --jobs '${bad}' with one line`, () => {
      oneLineError(sysgate(['check', ELF, '--target', 'codesafe5', `--jobs=${bad}`]), /^sysgate: bad --jobs '.*': expected a whole number/);
    });
  }

  it('--jobs 1000000 starts no more threads than --jobs <cores> (the real process, sampled from /proc)', async function () {
    // 60 files: without the cap, one worker per 6 files (10) would start whatever the cores.
    const dir = tempDir();
    try {
      for (let i = 0; i < 60; i++) copyFileSync(ELF, join(dir, `app${String(i).padStart(2, '0')}`));
      const cores = availableParallelism();
      const huge = await peakThreads(['check', dir, '--target', 'codesafe5', '--json', '--jobs', '1000000']);
      const capped = await peakThreads(['check', dir, '--target', 'codesafe5', '--json', '--jobs', String(cores)]);
      // One thread of slack for sampling: what matters is the order of magnitude (10 vs 2 here).
      assert.ok(huge <= capped + 1, `--jobs 1000000: ${huge} threads; --jobs ${cores}: ${capped}`);
    } finally {
      removeDir(dir);
    }
  });

  it('--jobs 1000000 on a directory runs and gives the same reports as --jobs 1', () => {
    const dir = tempDir();
    try {
      for (let i = 0; i < 30; i++) copyFileSync(ELF, join(dir, `app${String(i).padStart(2, '0')}`));
      const many = sysgate(['check', dir, '--target', 'codesafe5', '--json', '--jobs', '1000000', '--strict'], { timeout: 60_000 });
      const one = sysgate(['check', dir, '--target', 'codesafe5', '--json', '--jobs', '1', '--strict'], { timeout: 60_000 });
      assert.equal(many.code, 1, many.stderr);
      assert.equal(many.stdout, one.stdout);
    } finally {
      removeDir(dir);
    }
  });
});

describe('check output is the same bytes in every locale', () => {
  it('LC_ALL=C and LC_ALL=cs_CZ.UTF-8 (where "ch" sorts after "h") give identical output, names in code-unit order', function () {
    requireTool(this, 'gcc', 'gcc');
    const dir = tempDir();
    try {
      // Imports whose syscalls sort differently under a Czech collator: chdir after getpid there.
      writeFileSync(
        join(dir, 'p.c'),
        '#include <unistd.h>\n#include <sys/stat.h>\n#include <signal.h>\nint main(void){chdir("/");fchmod(0,0);kill(0,0);return getpid();}\n',
      );
      const cc = spawnSync('gcc', ['-O1', '-o', join(dir, 'p'), join(dir, 'p.c')], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const outs = ['C', 'cs_CZ.UTF-8', 'lt_LT.UTF-8'].map((loc) => {
        const r = sysgate(['check', join(dir, 'p'), '--target', 'enclave-x86_64', '--json'], { env: { LC_ALL: loc, LANG: loc } });
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
        return r.stdout;
      });
      assert.equal(outs[1], outs[0]);
      assert.equal(outs[2], outs[0]);
      const j = JSON.parse(outs[0]!) as { syscalls: { name: string; verdict: string }[] };
      const names = j.syscalls.map((s) => s.name);
      for (const n of ['chdir', 'fchmod', 'getpid', 'kill']) assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
      // Within a verdict, names are in plain code-unit order.
      for (let i = 1; i < j.syscalls.length; i++) {
        const [a, b] = [j.syscalls[i - 1]!, j.syscalls[i]!];
        if (a.verdict === b.verdict) assert.ok(a.name < b.name, `${a.name} before ${b.name}`);
      }
    } finally {
      removeDir(dir);
    }
  });
});
