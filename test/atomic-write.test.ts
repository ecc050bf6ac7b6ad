/**
 * Output writes are all or nothing and cannot be tricked. Each test records the output
 * directory's whole state (every name, its type, its bytes or link target) before a write that
 * must fail, and requires exactly that state after it: no new file, no old file changed or lost,
 * no temp or backup file left. Failures are real: a directory where a file must go, a tmpfs
 * that is full, links planted at the names the writer uses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli, DIST_CLI, ROOT } from './helpers/cli.ts';
import { writeFilesAtomic } from '../src/util/atomic-write.ts';

type State = Record<string, string>;

/** Every entry under `dir`: "file:<hex>", "link:<target>" or "dir". */
function snapshot(dir: string, base = dir, out: State = {}): State {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    const rel = p.slice(base.length + 1);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out[rel] = `link:${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[rel] = 'dir';
      snapshot(p, base, out);
    } else out[rel] = `file:${readFileSync(p).toString('hex')}`;
  }
  return out;
}

function oneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
}

const GEN = ['generate', '--target', 'codesafe5', '--firmware', '13.7', '--arch', 'arm'];
/** What `GEN` writes, in the order it writes them (the default formats). */
const NAMES = ['bpf', 'h', 'oci.json', 'systemd.conf', 'libseccomp.c', 'asm'].map((e) => `codesafe5-13.7-arm.${e}`);

describe('atomic writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('writes every file; a second run replaces them and leaves nothing else', async () => {
    const out = join(dir, 'out');
    assert.equal((await cli([...GEN, '--out', out])).code, 0);
    assert.deepEqual(readdirSync(out).sort(), [...NAMES].sort());
    writeFileSync(join(out, NAMES[0]!), 'stale');
    assert.equal((await cli([...GEN, '--out', out])).code, 0);
    assert.deepEqual(readdirSync(out).sort(), [...NAMES].sort());
    assert.notEqual(readFileSync(join(out, NAMES[0]!), 'utf8'), 'stale');
  });

  it('a rename that fails (a directory at the 3rd name) leaves the directory exactly as it was', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    // Old versions of the 1st, 2nd and 5th file, a directory in the way of the 3rd.
    writeFileSync(join(out, NAMES[0]!), 'old bpf');
    writeFileSync(join(out, NAMES[1]!), 'old header');
    writeFileSync(join(out, NAMES[4]!), 'old libseccomp');
    mkdirSync(join(out, NAMES[2]!));
    writeFileSync(join(out, NAMES[2]!, 'keep'), 'inside');
    const before = snapshot(out);
    const r = await cli([...GEN, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    oneLine(r.stderr, new RegExp(`^sysgate: ${out}: cannot replace ${NAMES[2]!.replace(/\./g, '\\.')}: EISDIR; nothing written$`));
    assert.deepEqual(snapshot(out), before);
  });

  it('a link planted at the old predictable temp name or at a final name never writes outside', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    // The names the writer used to use (.NAME.PID.tmp, PID known in-process) and the final names.
    for (const n of NAMES) symlinkSync(victim, join(out, `.${n}.${process.pid}.tmp`));
    symlinkSync(victim, join(out, NAMES[1]!));
    const r = await cli([...GEN, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    // rename(2) replaced the link at the final name by the new file; the planted temp links are untouched.
    assert.ok(lstatSync(join(out, NAMES[1]!)).isFile());
    assert.match(readFileSync(join(out, NAMES[1]!), 'utf8'), /sock_filter/);
    for (const n of NAMES) assert.equal(readlinkSync(join(out, `.${n}.${process.pid}.tmp`)), victim);
    assert.deepEqual(
      readdirSync(out)
        .filter((n) => !n.endsWith('.tmp'))
        .sort(),
      [...NAMES].sort(),
    );
  });

  it('a failed write removes the directories it created', () => {
    const out = join(dir, 'a/b/c');
    mkdirSync(join(dir, 'a'));
    const before = snapshot(dir);
    assert.throws(
      () =>
        writeFilesAtomic(out, [
          { name: 'x', content: 'x' },
          { name: 'x', content: 'y' },
        ]),
      /two output files are both named 'x'/,
    );
    assert.deepEqual(snapshot(dir), before);
    // And one whose first file fails to be written: a name that is itself a directory later on.
    mkdirSync(join(dir, 'd'));
    mkdirSync(join(dir, 'd/y'));
    const before2 = snapshot(dir);
    assert.throws(
      () =>
        writeFilesAtomic(join(dir, 'd'), [
          { name: 'x', content: 'x' },
          { name: 'y', content: 'y' },
        ]),
      /cannot replace y: EISDIR; nothing written/,
    );
    assert.deepEqual(snapshot(dir), before2);
  });

  it('ENOSPC on a full tmpfs: no partial temp file, old files intact, one line, exit 2', function () {
    if (process.getuid?.() !== 0) {
      if (process.env.CI) throw new Error('mounting a tmpfs needs root (CI runs as root)');
      this.skip();
    }
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    try {
      // Old outputs, then a filler that leaves about 8 KiB: the first file fits, a later one does not.
      writeFileSync(join(mnt, NAMES[0]!), 'old bpf');
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024 - 3 * 4096));
      const before = snapshot(mnt);
      const r = spawnSync(process.execPath, [DIST_CLI, ...GEN, '--out', mnt], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      oneLine(r.stderr, new RegExp(`^sysgate: ${mnt}: cannot write \\S+: ENOSPC; nothing written$`));
      assert.deepEqual(snapshot(mnt), before);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('--out - writes the one file to stdout; several files are refused; nothing named "-" is made', () => {
    const file = join(dir, 'f');
    assert.equal(spawnSync(process.execPath, [DIST_CLI, ...GEN, '--format', 'bpf', '--out', file], { cwd: dir }).status, 0);
    const viaStdout = spawnSync(process.execPath, [DIST_CLI, ...GEN, '--format', 'bpf', '--out', '-'], { cwd: dir });
    assert.equal(viaStdout.status, 0, String(viaStdout.stderr));
    // Binary and byte-exact: the same bytes as the file.
    assert.ok(Buffer.compare(viaStdout.stdout, readFileSync(join(file, NAMES[0]!))) === 0);
    const many = spawnSync(process.execPath, [DIST_CLI, ...GEN, '--out', '-'], { cwd: dir, encoding: 'utf8' });
    assert.equal(many.status, 2);
    assert.equal(many.stdout, '');
    oneLine(many.stderr, /^sysgate: --out - writes one file to stdout, and this makes 6 /);
    const shim = spawnSync(process.execPath, [DIST_CLI, 'shim', '--target', 'codesafe5', '--arch', 'arm', '--out', '-'], { cwd: dir, encoding: 'utf8' });
    assert.equal(shim.status, 0, shim.stderr);
    assert.match(shim.stdout, /^\/\*/);
    assert.ok(!readdirSync(dir).includes('-'));
  });

  for (const bad of ['/proc/sysgate-out', '/proc/self/x/y', '/sys/kernel/sysgate']) {
    it(`--out ${bad}: refused at once (a pseudo-filesystem), nothing created`, () => {
      const r = spawnSync(process.execPath, [DIST_CLI, ...GEN, '--out', bad], { cwd: dir, encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
      assert.equal(r.signal, null, 'it hung');
      assert.equal(r.status, 2, r.stderr);
      oneLine(r.stderr, /is on (proc|sysfs), a pseudo-filesystem/);
    });
  }

  it('--out naming a file, not a directory: one line', async () => {
    const f = join(dir, 'plain');
    writeFileSync(f, 'x');
    const r = await cli([...GEN, '--out', join(f, 'sub')]);
    assert.equal(r.code, 2);
    oneLine(r.stderr, new RegExp(`^sysgate: ${f}: cannot create ${join(f, 'sub')} under it, not a directory$`));
  });
});
