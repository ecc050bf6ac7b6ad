/** `sysgate run`: its options and its report (the contract shared by host.ts, vm.ts and observe.ts). */
import type { ArchName } from '../syscalls/arches.ts';
import type { TargetDef } from '../policy/types.ts';
import type { ElfInfo } from '../elf/types.ts';

/** Where the program's output goes (default: inherited: this process's own stdin/stdout/stderr). */
export interface RunIo {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  /** The program's stdin (VM: packed into the guest before boot). Default with io: none (/dev/null). */
  stdin?: Uint8Array;
}

export interface RunOptions {
  /** A shipped target id, a target file, or a target already loaded (loadTarget). */
  target: string | TargetDef;
  firmware?: string;
  /** Must agree with the program's ELF when given (the arch always comes from the ELF). */
  arch?: string;
  /** Root of the program's libraries for foreign-arch runs (VM, qemu-user). */
  sysroot?: string;
  /** The program: an absolute path, or resolved against cwd / PATH by runProgram. */
  program: string;
  args: string[];
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Cache directory for the supervisor (default: $SYSGATE_CACHE_DIR or ~/.cache/sysgate). */
  cacheDir?: string;
  /** Without it the program shares this process's stdio. */
  io?: RunIo;
  /** Upper bound of one boot or run in a VM, in seconds (default 120). */
  timeoutSeconds?: number;
  /** Filled in by runProgram: the program's ELF (read once). */
  elf?: ElfInfo;
  /** Filled in by runProgram: the resolved arch. */
  archName?: ArchName;
}

export interface RunWhere {
  /** Instruction pointer of the call, 0x hex. */
  ip: string;
  /** The mapped file the ip is in (from /proc/PID/maps), when it is in one. */
  object?: string;
  /** File offset of the ip in `object`, 0x hex. */
  offset?: string;
  /** The symbol that encloses the ip, when the object has one. */
  function?: string;
}

export interface RunDenied {
  name: string;
  nr: number;
  count: number;
  /** formatAction of the device's answer, e.g. "errno:ENOSYS", "kill-process". */
  action: string;
  /** At most 8 distinct ips, in order of first occurrence. */
  where: RunWhere[];
}

export interface RunReport {
  program: string;
  target: string;
  /** null for an unversioned target. */
  firmware: string | null;
  arch: ArchName;
  mode: 'enforced' | 'observed';
  runner: { kind: 'host' | 'qemu-system' | 'qemu-user'; detail: string };
  exit: { code: number | null; signal: string | null };
  /** The denied call that ended the process, if one did. */
  killed?: { name: string; nr: number; ip?: string };
  denied: RunDenied[];
  notes: string[];
}

/** What runProgram's back ends have in common: the exit status `sysgate run` exits with. */
export function exitStatus(r: RunReport): number {
  if (r.exit.code !== null) return r.exit.code;
  const n = r.exit.signal ? signalNumber(r.exit.signal) : undefined;
  return n === undefined ? 1 : 128 + n;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** Linux signal numbers (the generic ones: x86, arm, aarch64, ppc share them). */
export function signalName(n: number): string {
  return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) ?? `SIG${n}`;
}

export function signalNumber(name: string): number | undefined {
  if (SIGNALS[name] !== undefined) return SIGNALS[name];
  const m = /^SIG(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
