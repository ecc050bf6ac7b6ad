/**
 * `sysgate run`: a program under the exact policy the target gives at that firmware for the
 * program's arch (the arch comes from the ELF). x86_64 runs here, natively (host.ts); ARM and
 * AArch64 in a real kernel of their arch under qemu-system (vm.ts); 64-bit PowerPC, which has
 * no kernel to boot, under qemu-user and observed, not enforced (observe.ts).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { compileFilter, encodeFilter } from '../bpf/index.ts';
import { readElf } from '../elf/index.ts';
import { ElfFile } from '../elf/source.ts';
import type { ElfInfo } from '../elf/types.ts';
import { InputError } from '../errors.ts';
import { loadTarget } from '../policy/load.ts';
import { resolvePolicy } from '../policy/resolve.ts';
import type { Policy } from '../policy/types.ts';
import { ARCH_NAMES, ARCHES, lookupArch, type ArchName } from '../syscalls/arches.ts';
import { runOnHost } from './host.ts';
import type { RunOptions, RunReport } from './types.ts';

export type { RunDenied, RunIo, RunOptions, RunReport, RunWhere } from './types.ts';
export { exitStatus } from './types.ts';

/** The program as execve would find it: a path with a slash is taken from cwd, a bare name from PATH. */
export function findProgram(program: string, cwd: string, env: Readonly<Record<string, string | undefined>>): string {
  if (program === '') throw new InputError('name a program to run after --');
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => resolve(cwd, join(d, program)));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  if (!program.includes('/')) throw new InputError(`${program}: no such program in PATH`);
  try {
    const st = statSync(candidates[0]!);
    if (!st.isFile()) throw new InputError(`${program}: not a regular file`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${program}: no such file`);
  }
  throw new InputError(`${program}: not executable (chmod +x)`);
}

function readProgramElf(path: string, shown: string): ElfInfo {
  const f = ElfFile.open(path);
  try {
    return readElf(f, shown);
  } finally {
    f.close();
  }
}

/** Runs the program and resolves with the report (the program's own stdio passes through). */
export async function runProgram(opts: RunOptions): Promise<RunReport> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const target = typeof opts.target === 'string' ? await loadTarget(opts.target, { cwd }) : opts.target;
  const program = findProgram(opts.program, cwd, env);
  const elf = opts.elf ?? readProgramElf(program, opts.program);
  if (elf.cannotRun) throw new InputError(`${opts.program}: cannot run: ${elf.cannotRun}`);
  if (elf.type !== 'exec' && elf.type !== 'dyn') throw new InputError(`${opts.program}: not an executable (ELF type ${elf.type})`);
  const arch: ArchName | undefined = elf.arch;
  if (!arch) throw new InputError(`${opts.program}: unknown arch (e_machine ${elf.machine}, ${elf.class}-bit ${elf.endian}-endian)`);
  if (opts.arch !== undefined) {
    const want = lookupArch(opts.arch);
    if (!want) throw new InputError(`unknown arch '${opts.arch}'`);
    if (want.name !== arch) throw new InputError(`${opts.program} is a ${arch} program, not ${want.name} (the arch comes from the ELF; drop --arch)`);
  }
  if (ARCHES[arch].runner === undefined) {
    const can = ARCH_NAMES.filter((a) => ARCHES[a].runner !== undefined);
    throw new InputError(`${opts.program}: ${arch} programs cannot be run yet (${can.slice(0, -1).join(', ')} and ${can[can.length - 1]} can)`);
  }
  const policy = resolvePolicy(target, { ...(opts.firmware !== undefined ? { firmware: opts.firmware } : {}), arch });
  const compiled = compileFilter([policy]);
  const filter = encodeFilter(compiled.insns, compiled.endian);
  const full: RunOptions = { ...opts, target, program, cwd, env, elf, archName: arch };
  return dispatch(full, policy, filter);
}

async function dispatch(opts: RunOptions, policy: Policy, filter: Uint8Array): Promise<RunReport> {
  switch (policy.arch.runner?.kind) {
    case 'host':
      return runOnHost(opts, policy, filter);
    case 'vm':
      return (await import('./vm.ts')).runInVm(opts, policy, filter);
    case 'observed':
      return (await import('./observe.ts')).runObserved(opts, policy, filter);
    case undefined:
      throw new InputError(`${opts.program}: ${policy.arch.name} programs cannot be run`);
  }
}
