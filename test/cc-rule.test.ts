/**
 * One pass-through rule in two languages: bin/sysgate-cc (POSIX sh, decides before Node starts)
 * and src/buildsys/compiler.ts (Node). Every row runs through both, with the shell the launcher
 * really runs under (/bin/sh, dash on Debian) and through bash too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInvocation, splitResponseFile } from '../src/buildsys/compiler.ts';
import { InputError } from '../src/errors.ts';
import { removeDir, tempDir } from './helpers/build.ts';
import { ROOT } from './helpers/paths.ts';

const LAUNCHER = join(ROOT, 'bin/sysgate-cc');

type Expect = 'pass' | 'link' | 'refused';
/** [sysgate-cc argv, what it does]. pass: straight to the compiler; link: shim and check. */
const ROWS: [string[], Expect][] = [
  [['--', 'gcc', '-c', 'x.c'], 'pass'],
  [['--', 'gcc', '-c', 'x.c', '-o', 'x.o'], 'pass'],
  [['--', 'gcc', '-c', '-o', 'x.o', 'x.c', '-MD', '-MF', 'x.d'], 'pass'],
  [['--', 'gcc', '-E', 'x.c'], 'pass'],
  [['--', 'gcc', '-S', 'x.c'], 'pass'],
  [['--', 'gcc', '-M', 'x.c'], 'pass'],
  [['--', 'gcc', '-MM', 'x.c'], 'pass'],
  [['--', 'gcc', '-fsyntax-only', 'x.c'], 'pass'],
  [['--', 'gcc', '-MD', '-o', 'app', 'x.c'], 'link'],
  [['--', 'gcc', '-MMD', '-MF', 'x.d', '-o', 'app', 'x.c'], 'link'],
  [['--', 'gcc', '--version'], 'pass'],
  [['--', 'gcc', '-v'], 'pass'],
  [['--', 'gcc', '-v', '-o', 'app', 'x.c'], 'link'], // -v with inputs compiles and links, verbosely
  [['--', 'gcc', '-dumpmachine'], 'pass'],
  [['--', 'gcc', '-print-file-name=libc.so'], 'pass'],
  [['--', 'gcc', '-print-prog-name=ld', 'x.c'], 'pass'],
  [['--', 'gcc', '--print-search-dirs'], 'pass'],
  [['--', 'gcc'], 'pass'], // no inputs: gcc says so itself
  [['--', 'gcc', '-O2', '-Wall'], 'pass'],
  [['--', 'gcc', '-o', 'app'], 'pass'], // 'app' is -o's value, not an input
  [['--', 'gcc', '-I', 'inc', '-D', 'X=1', '-x', 'c'], 'pass'],
  [['--', 'gcc', '-x', 'c', '-'], 'link'], // stdin is an input
  [['--', 'gcc', '-x', 'c', '-c', '-'], 'pass'],
  [['--', 'gcc', '-o', 'app', 'x.c'], 'link'],
  [['--', 'gcc', '-oapp', 'x.o', 'y.o', '-lm'], 'link'],
  [['--', 'gcc', '-shared', '-fPIC', '-o', 'libx.so', 'x.o'], 'link'],
  [['--', 'gcc', '-r', '-o', 'xy.o', 'x.o', 'y.o'], 'pass'],
  [['--', 'gcc', '-Wl,-r', '-o', 'xy.o', 'x.o'], 'pass'],
  [['--', 'gcc', '-Wl,--relocatable', '-nostdlib', '-o', 'xy.o', 'x.o'], 'pass'],
  [['--', 'gcc', '-Wl,-z,now,-r', '-o', 'xy.o', 'x.o'], 'pass'],
  [['--', 'gcc', '-Wl,-rpath,/opt/lib', '-o', 'app', 'x.o'], 'link'], // -rpath is not -r
  [['--', 'gcc', '-Xlinker', '-r', '-o', 'xy.o', 'x.o'], 'pass'],
  [['--', 'gcc', '-Xlinker', '-rpath', '-Xlinker', '/l', '-o', 'app', 'x.o'], 'link'],
  [['--target', 'codesafe5', '--firmware', '13.7', '--', 'arm-linux-gnueabihf-gcc', '-c', 'x.c'], 'pass'],
  [['--target', 'codesafe5', '--', 'arm-linux-gnueabihf-gcc', '-o', 'app', 'x.c'], 'link'],
  [['--', 'ccache', 'gcc', '-c', 'x.c'], 'pass'],
  [['--', '/usr/bin/ccache', 'gcc', '-o', 'app', 'x.c'], 'link'],
  [['--', 'distcc', 'gcc', '-c', 'x.c'], 'pass'],
  [['--', 'env', 'CCACHE_DIR=/tmp/c', 'ccache', 'gcc', '-c', 'x.c'], 'pass'],
  [['--', 'env', '-i', 'PATH=/usr/bin', '-u', 'LANG', 'gcc', '-c', 'x.c'], 'pass'],
  [['--', 'env', 'A=1', 'B=2', 'gcc', '-o', 'app', 'x.c'], 'link'],
  [['--', 'env', '--unset=LANG', 'gcc', '-E', 'x.c'], 'pass'],
  [['--', 'env', '-C', '/tmp', 'gcc', '-c', 'x.c'], 'refused'], // env options we do not model
  [['--', 'ccache', '-s'], 'refused'],
  [['--', 'env'], 'refused'],
  [['--'], 'refused'],
];

function shellDecision(shell: string, argv: string[]): string {
  const r = spawnSync(shell, [LAUNCHER, ...argv], { encoding: 'utf8', env: { ...process.env, SYSGATE_CC_DECISION: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function nodeDecision(argv: string[], cwd: string): Expect {
  const cmd = argv.slice(argv.indexOf('--') + 1);
  try {
    return parseInvocation(cmd, cwd).links ? 'link' : 'pass';
  } catch (e) {
    if (e instanceof InputError) return 'refused';
    throw e;
  }
}

describe('cc pass-through rule: sh launcher and Node agree', () => {
  let dir: string;
  before(() => {
    dir = tempDir('sysgate-ccrule-');
  });
  after(() => removeDir(dir));

  for (const shell of ['/bin/sh', 'bash']) {
    it(`every row, through ${shell} and through parseInvocation`, () => {
      for (const [argv, expect] of ROWS) {
        const label = argv.join(' ');
        assert.equal(nodeDecision(argv, dir), expect, `node: ${label}`);
        // The launcher hands Node everything it does not pass through itself.
        assert.equal(shellDecision(shell, argv), expect === 'pass' ? 'pass' : 'node', `${shell}: ${label}`);
      }
    });
  }

  it('a response file goes to Node, which reads it to decide', () => {
    writeFileSync(join(dir, 'compile.rsp'), '-c "x y.c"\n-o \'x y.o\'\n');
    writeFileSync(join(dir, 'link.rsp'), '-o app x.o @nested.rsp\n');
    writeFileSync(join(dir, 'nested.rsp'), '-lm\n');
    writeFileSync(join(dir, 'partial.rsp'), '@deeper.rsp x.o -o xy.o\n');
    writeFileSync(join(dir, 'deeper.rsp'), '-Wl,-r\n');
    writeFileSync(join(dir, 'loop.rsp'), '@loop.rsp\n');
    const rows: [string, Expect][] = [
      ['@compile.rsp', 'pass'],
      ['@link.rsp', 'link'],
      ['@partial.rsp', 'pass'],
      ['@loop.rsp', 'refused'],
    ];
    for (const [rsp, expect] of rows) {
      assert.equal(shellDecision('/bin/sh', ['--', 'gcc', rsp]), 'node', rsp);
      assert.equal(nodeDecision(['--', 'gcc', rsp], dir), expect, rsp);
    }
    // gcc takes a missing response file as a file name: an input, so a link
    assert.equal(nodeDecision(['--', 'gcc', '@missing.rsp'], dir), 'link');
  });

  it('splits a response file like libiberty: quotes and backslashes', () => {
    assert.deepEqual(splitResponseFile(`-c  "a b.c"\n'it''s' x\\ y.c ""\t-o\\\n`), ['-c', 'a b.c', 'its', 'x y.c', '', '-o\n']);
  });
});
