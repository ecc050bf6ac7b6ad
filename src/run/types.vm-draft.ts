/**
 * Draft of src/run/types.ts for the VM and observed runners, written against the contract of
 * `sysgate run` until the host part lands (the integrator switches vm.ts and observe.ts to it).
 */
import type { ArchName } from '../syscalls/arches.ts';

export interface RunWhere {
  ip: string;
  object?: string;
  offset?: string;
  function?: string;
}

export interface RunDenied {
  name: string;
  nr: number;
  count: number;
  /** formatAction of the device's answer, e.g. "errno:ENOSYS", "kill-process". */
  action: string;
  /** At most 8 distinct ips. */
  where: RunWhere[];
}

export interface RunReport {
  program: string;
  target: string;
  firmware: string | null;
  arch: ArchName;
  mode: 'enforced' | 'observed';
  runner: { kind: 'host' | 'qemu-system' | 'qemu-user'; detail: string };
  exit: { code: number | null; signal: string | null };
  killed?: { name: string; nr: number; ip?: string };
  denied: RunDenied[];
  notes: string[];
}

/** Where the program's output goes (default: this process's stdout and stderr). */
export interface RunIo {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  /** The program's stdin (VM: packed into the guest before boot). Default: none (/dev/null). */
  stdin?: Uint8Array;
}

export interface RunOptions {
  target: string;
  firmware?: string;
  arch?: string;
  sysroot?: string;
  program: string;
  args: string[];
  /** The cache directory (default: defaultCacheDir(env)); kernels live in <cache>/kernels/<arch>/. */
  cacheDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  io?: RunIo;
  /** The program's working directory (default: this process's); in a VM, files its arguments name are copied in. */
  cwd?: string;
  /** Upper bound of one boot or run, in seconds (default 120). */
  timeoutSeconds?: number;
}
