/** Stub until the vm runner lands (it replaces this file, keeping the signature). */
import { InputError } from '../errors.ts';
import type { Policy } from '../policy/types.ts';
import type { RunOptions, RunReport } from './types.ts';

export async function runInVm(opts: RunOptions, policy: Policy, _filter: Uint8Array): Promise<RunReport> {
  throw new InputError(`${opts.program}: ${policy.arch.name} programs cannot be run: ARM and AArch64 programs run in a real kernel under qemu-system, which is not built yet`);
}
