/** Runs the CLI in-process (fast) or as the built executable (real process, real exit code). */
import { spawnSync } from 'node:child_process';
import { run } from '../../src/cli/run.ts';
import { DIST_CLI, ROOT } from './paths.ts';

export { DIST_CLI, ROOT };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], cwd = ROOT): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    color: false,
    isTTY: false,
    cwd,
    env: {},
  });
  return { code, stdout, stderr };
}

export function cliProcess(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [DIST_CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
