/** Flags shared by the policy commands, and the project config file they fall back to. */
import { loadConfig, type Config } from '../../config.ts';
import { DiagnosticsError, formatDiagnostic, InputError } from '../../errors.ts';
import { loadTarget } from '../../policy/load.ts';
import { resolveSettings } from '../../policy/settings.ts';
import type { Policy, TargetDef } from '../../policy/types.ts';
import { requireFlag } from '../args.ts';
import type { Io } from '../io.ts';

export const TARGET_FLAGS = {
  '--target': String,
  '--firmware': String,
  '--arch': String,
  '--config': String,
  '--json': Boolean,
  '--help': Boolean,
  '-t': '--target',
  '-f': '--firmware',
  '-a': '--arch',
  '-c': '--config',
  '-h': '--help',
} as const;

export interface TargetFlags {
  '--target'?: string;
  '--firmware'?: string;
  '--arch'?: string;
  '--config'?: string;
}

/** Flags first, then sysgate.config.json (found from the working directory upwards). */
export async function settings(flags: TargetFlags, command: string, io: Io): Promise<{ config: Config; target: TargetDef; firmware?: string; arch?: string }> {
  const config = await loadConfig(io.cwd, flags['--config']);
  const ref = flags['--target'] ?? config.target;
  const target = await loadTarget(requireFlag(ref, `--target (or "target" in ${config.file ?? 'sysgate.config.json'})`, command), { cwd: io.cwd }).catch(
    (e: unknown) => {
      // A target the config names that cannot be found or read is the config's mistake, at its
      // 'target' (as a parent is the child's, at 'extends'); problems inside the target file
      // keep that file's own name and pointers.
      if (flags['--target'] === undefined && config.file && e instanceof InputError && !(e instanceof DiagnosticsError)) {
        throw new DiagnosticsError([{ file: config.file, pointer: '/target', message: e.message }]);
      }
      throw e;
    },
  );
  for (const n of target.notes ?? []) io.err(`${formatDiagnostic(n)}\n`);
  const firmware = flags['--firmware'] ?? config.firmware;
  const arch = flags['--arch'] ?? (Array.isArray(config.arches) ? config.arches[0] : undefined);
  return { config, target, ...(firmware !== undefined ? { firmware } : {}), ...(arch !== undefined ? { arch } : {}) };
}

export async function policyFromFlags(flags: TargetFlags, command: string, io: Io): Promise<{ target: TargetDef; policy: Policy }> {
  const s = await settings(flags, command, io);
  const policy = resolveSettings(s.target, {
    ...(s.firmware !== undefined ? { firmware: s.firmware } : {}),
    ...(s.arch !== undefined ? { arches: [s.arch] } : {}),
  }).filters[0]!.policies[0]!;
  return { target: s.target, policy };
}
