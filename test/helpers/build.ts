/** Compiling and running small C programs in a temp dir, for integration tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'sysgate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RunOutput {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string; encoding?: 'buffer' } = {}): RunOutput {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Compile C source with `cc`; throws with the compiler's output on failure. */
export function compileC(cc: string, dir: string, name: string, source: string, flags: string[]): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const r = sh(cc, [...flags, '-o', out, src]);
  if (r.status !== 0) throw new Error(`${cc} ${flags.join(' ')} ${name}.c failed:\n${r.stderr}`);
  return out;
}
