/**
 * Colour and progress by the state of the stream they are written to. The rule is one function
 * (wantColor); the processes here get a real pseudo-terminal (python3's pty module) on one
 * stream and a pipe on the other, so that what is proven is what a user at a terminal sees.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { TOOLCHAINS } from './helpers/check-build.ts';
import { cliProcess, DIST_CLI, ROOT } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';
import { wantColor, type Io } from '../src/cli/io.ts';
import { run } from '../src/cli/run.ts';

const ESC = '\x1b[';

// Runs argv with a pseudo-terminal on one stream (`tty`: out or err) and a pipe on the other;
// reads both to the end. The terminal's line discipline turns \n into \r\n.
const PTY_RUN = `
import json, os, pty, select, subprocess, sys
which, argv = sys.argv[1], sys.argv[2:]
m, s = pty.openpty()
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
    stdout=s if which == 'out' else subprocess.PIPE, stderr=s if which == 'err' else subprocess.PIPE)
os.close(s)
pipe = (p.stderr if which == 'out' else p.stdout).fileno()
got = {m: b'', pipe: b''}
fds = [m, pipe]
while fds:
    r, _, _ = select.select(fds, [], [], 120)
    if not r: break
    for fd in r:
        try: d = os.read(fd, 65536)
        except OSError: d = b''
        if not d: fds.remove(fd)
        else: got[fd] += d
print(json.dumps({'code': p.wait(), 'tty': got[m].decode('utf-8', 'replace'), 'pipe': got[pipe].decode('utf-8', 'replace')}))
`;

interface PtyRun {
  code: number;
  tty: string;
  pipe: string;
}

function withPty(tty: 'out' | 'err', argv: string[], cwd: string, env: Record<string, string> = {}): PtyRun {
  const clean = { ...process.env };
  for (const k of ['FORCE_COLOR', 'NO_COLOR', 'CI', 'TERM']) delete clean[k];
  const r = spawnSync('python3', ['-c', PTY_RUN, tty, ...argv], { cwd, encoding: 'utf8', env: { ...clean, TERM: 'xterm', ...env }, timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PtyRun;
}

describe('terminals: colour and progress follow the stream they are written to', function () {
  this.timeout(180_000);

  it('wantColor: --color decides; else NO_COLOR, FORCE_COLOR, TERM=dumb, then the terminal', () => {
    // auto
    assert.equal(wantColor(true, {}), true);
    assert.equal(wantColor(false, {}), false);
    assert.equal(wantColor(true, { NO_COLOR: '1' }), false);
    assert.equal(wantColor(true, { NO_COLOR: '' }), true); // empty is unset (no-color.org)
    assert.equal(wantColor(false, { FORCE_COLOR: '1' }), true);
    assert.equal(wantColor(false, { FORCE_COLOR: '' }), true); // set and not "0"
    assert.equal(wantColor(true, { FORCE_COLOR: '0' }), false);
    assert.equal(wantColor(false, { FORCE_COLOR: '1', NO_COLOR: '1' }), false); // never wins
    assert.equal(wantColor(true, { TERM: 'dumb' }), false);
    assert.equal(wantColor(true, { TERM: 'xterm-256color' }), true);
    // explicit modes beat the environment
    assert.equal(wantColor(false, { NO_COLOR: '1', TERM: 'dumb' }, 'always'), true);
    assert.equal(wantColor(true, { FORCE_COLOR: '1' }, 'never'), false);
    assert.equal(wantColor(true, {}, 'auto'), true);
  });

  it('--color always|never on any command, before or after it; a bad value is exit 2', async () => {
    const io = (isTTY: boolean, sink: { out: string; err: string }): Io => ({
      out: (t) => void (sink.out += t),
      err: (t) => void (sink.err += t),
      color: isTTY,
      isTTY,
      errColor: isTTY,
      errIsTTY: isTTY,
      cwd: ROOT,
      env: {},
    });
    const explain = async (argv: string[], isTTY: boolean) => {
      const sink = { out: '', err: '' };
      const code = await run(argv, io(isTTY, sink));
      return { code, ...sink };
    };
    const base = ['explain', '--target', 'codesafe5', 'getrandom'];
    assert.ok((await explain(base, true)).out.includes(`${ESC}31m`));
    assert.ok(!(await explain(base, false)).out.includes(ESC));
    assert.ok((await explain([...base, '--color', 'always'], false)).out.includes(`${ESC}31m`));
    assert.ok((await explain(['--color=always', ...base], false)).out.includes(`${ESC}31m`));
    assert.ok(!(await explain([...base, '--color=never'], true)).out.includes(ESC));
    const bad = await explain([...base, '--color', 'sometimes'], true);
    assert.equal(bad.code, 2);
    assert.equal(bad.out, '');
    assert.equal(bad.err, "sysgate: bad --color 'sometimes': expected auto, always, never\n");
  });

  it("words after '--' stay the compiler's (sysgate cc -- CC --color=always)", () => {
    // `echo` as a compile-only "compiler" prints the arguments it was given.
    const r = cliProcess(['cc', '--color', 'never', '--', 'echo', '-c', '--color=always', 'x.c']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '-c --color=always x.c\n');
  });

  describe('with a real pseudo-terminal', () => {
    let dir: string;
    before(function () {
      requireTool(this, 'python3', 'python3');
      dir = tempDir('sysgate-tty-');
      for (const f of ['keygen.arm', 'sensor-log.arm']) copyFileSync(join(ROOT, 'examples/bin', f), join(dir, f));
    });
    after(() => dir && removeDir(dir));

    it('check: progress and nothing else on a terminal stderr while stdout is a pipe; clean JSON on the pipe', () => {
      const r = withPty('err', [process.execPath, DIST_CLI, 'check', '.', '--target', 'codesafe5', '--json', '--jobs', '1', '--strict'], dir);
      assert.equal(r.code, 1);
      assert.match(r.tty, /checking [12]\/2 /);
      assert.ok(!r.pipe.includes(ESC));
      assert.equal(JSON.parse(r.pipe).length, 2);
      // --quiet: no progress even on a terminal
      const q = withPty('err', [process.execPath, DIST_CLI, 'check', '.', '--target', 'codesafe5', '--json', '--quiet'], dir);
      assert.ok(!q.tty.includes('checking'), q.tty);
    });

    it('check: colour on a terminal stdout, and no progress on a piped stderr', () => {
      const r = withPty('out', [process.execPath, DIST_CLI, 'check', '.', '--target', 'codesafe5', '--firmware', '13.5'], dir);
      assert.equal(r.code, 1);
      assert.ok(r.tty.includes(`${ESC}31mFATAL${ESC}0m`), r.tty.slice(0, 400));
      assert.equal(r.pipe, '');
      // The environment still rules in auto: NO_COLOR on a terminal, FORCE_COLOR on a pipe.
      const plain = withPty('out', [process.execPath, DIST_CLI, 'check', '.', '--target', 'codesafe5', '--firmware', '13.5'], dir, { NO_COLOR: '1' });
      assert.ok(!plain.tty.includes(ESC));
      const forced = withPty('err', [process.execPath, DIST_CLI, 'check', '.', '--target', 'codesafe5', '--firmware', '13.5', '--quiet'], dir, {
        FORCE_COLOR: '1',
      });
      assert.ok(forced.pipe.includes(`${ESC}31mFATAL`));
    });

    it('cc: its report on stderr is coloured by stderr, not by stdout', function () {
      const gcc = TOOLCHAINS.find((t) => t.arch === 'x86_64')!;
      requireTool(this, gcc.cc, gcc.pkg);
      writeFileSync(join(dir, 'app.c'), '#include <sys/mount.h>\nint main(void) { return mount("a", "b", "c", 0, 0); }\n');
      const env = { SYSGATE_CACHE_DIR: join(dir, 'cache') };
      const argv = [process.execPath, DIST_CLI, 'cc', '--target', 'enclave-x86_64', '--no-shim', '--', 'gcc', '-o', 'app', 'app.c'];
      const onTty = withPty('err', argv, dir, env);
      assert.equal(onTty.code, 1, onTty.tty);
      assert.ok(onTty.tty.includes(`${ESC}31m`), onTty.tty.slice(0, 400));
      assert.equal(onTty.pipe, '');
      const onPipe = withPty('out', argv, dir, env);
      assert.equal(onPipe.code, 1);
      assert.match(onPipe.pipe, /would fail on the device/);
      assert.ok(!onPipe.pipe.includes(ESC), onPipe.pipe.slice(0, 400));
    });
  });
});
