/** Flags shared by the policy commands and the work they do. */
import { loadTarget } from '../../policy/load.ts';
import { resolvePolicy } from '../../policy/resolve.ts';
import type { Policy, TargetDef } from '../../policy/types.ts';
import { requireFlag } from '../args.ts';
import type { Io } from '../io.ts';

export const TARGET_FLAGS = {
  '--target': String,
  '--firmware': String,
  '--arch': String,
  '--json': Boolean,
  '--help': Boolean,
  '-t': '--target',
  '-f': '--firmware',
  '-a': '--arch',
  '-h': '--help',
} as const;

export async function targetFromFlags(flags: { '--target'?: string }, command: string, io: Io): Promise<TargetDef> {
  return loadTarget(requireFlag(flags['--target'], '--target', command), { cwd: io.cwd });
}

export async function policyFromFlags(
  flags: { '--target'?: string; '--firmware'?: string; '--arch'?: string },
  command: string,
  io: Io,
): Promise<{ target: TargetDef; policy: Policy }> {
  const target = await targetFromFlags(flags, command, io);
  const policy = resolvePolicy(target, {
    ...(flags['--firmware'] !== undefined ? { firmware: flags['--firmware'] } : {}),
    ...(flags['--arch'] !== undefined ? { arch: flags['--arch'] } : {}),
  });
  return { target, policy };
}
