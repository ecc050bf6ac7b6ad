/**
 * Reads an `strace -f -qq` log of an OCI runtime starting a container and returns the syscalls
 * made under the container's seccomp filter before the container's program starts: by the task
 * that loaded the filter (seccomp(SECCOMP_SET_MODE_FILTER) or prctl(PR_SET_SECCOMP,
 * SECCOMP_MODE_FILTER) returning 0), and by any task it creates afterwards (children inherit
 * the filter), up to and including the execve of `program`. Other tasks of the runtime are not
 * filtered (neither runc 1.1 nor crun 1.8 loads with TSYNC), so their calls do not count; a load
 * with TSYNC is refused rather than guessed at, because then every thread of the group counts.
 */

export interface AfterLoad {
  /** Syscall names in first-seen order. */
  calls: string[];
  /** The tid that loaded the filter. */
  loader: number;
}

const LINE = /^(\d+)\s+(.*)$/;
const START = /^([a-z_][a-z0-9_]*)\(/;
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>.*= (-?\d+|\?)/;
const DONE = /\)\s+= (-?\d+|\?)(?: .*)?$/;
const LOAD = /^(seccomp\(SECCOMP_SET_MODE_FILTER|prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)/;
const SPAWN = new Set(['clone', 'clone3', 'fork', 'vfork']);

export function callsAfterLoad(log: string, program: string): AfterLoad {
  const filtered = new Set<number>();
  const pending = new Map<number, string>();
  const calls: string[] = [];
  let loader = -1;
  const execPrefix = `execve(${JSON.stringify(program)},`;
  const seen = new Set<string>();
  const note = (name: string) => {
    if (!seen.has(name)) {
      seen.add(name);
      calls.push(name);
    }
  };
  for (const raw of log.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const tid = Number(m[1]);
    const rest = m[2]!;
    let name: string | undefined;
    let result: string | undefined;
    let full = rest;
    const resumed = RESUMED.exec(rest);
    if (resumed) {
      name = resumed[1];
      result = resumed[2];
      // The call's arguments (the load's flags) are on its first, unfinished line.
      full = pending.get(tid) ?? rest;
      pending.delete(tid);
    } else {
      const s = START.exec(rest);
      if (!s) continue; // signals (---), exits (+++), resumed lines without a result yet
      name = s[1]!;
      if (filtered.has(tid)) {
        note(name);
        if (rest.startsWith(execPrefix)) return { calls, loader };
      }
      if (rest.endsWith('<unfinished ...>')) {
        pending.set(tid, rest);
        continue;
      }
      result = DONE.exec(rest)?.[1];
    }
    if (!filtered.has(tid) && result === '0' && LOAD.test(full)) {
      if (/TSYNC/.test(full)) throw new Error(`tid ${tid} loaded its filter with TSYNC: every thread of its group would count; not handled`);
      filtered.add(tid);
      loader = tid;
    } else if (filtered.has(tid) && SPAWN.has(name!) && result !== undefined && Number(result) > 0) {
      filtered.add(Number(result));
    }
  }
  if (loader < 0) throw new Error('no successful seccomp filter load in the log');
  throw new Error(`the filtered task never ran execve(${JSON.stringify(program)})`);
}
