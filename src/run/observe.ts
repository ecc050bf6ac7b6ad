/** Stub until the observe runner lands (it replaces this file, keeping the signature). */
import { InputError } from '../errors.ts';
import type { Policy } from '../policy/types.ts';
import type { RunOptions, RunReport } from './types.ts';

export async function runObserved(opts: RunOptions, policy: Policy, _filter: Uint8Array): Promise<RunReport> {
  throw new InputError(`${opts.program}: ${policy.arch.name} programs cannot be run: PowerPC programs run observed under qemu-user, which is not built yet`);
}
