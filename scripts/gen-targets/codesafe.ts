/** CodeSafe 5: targets/codesafe5.json from Entrust's vendor table (scripts/data/codesafe5-allowed-syscalls.md). */
import { FAMILIES, replacementsOf } from '../../src/syscalls/families.ts';
import { syscallNumber } from '../../src/syscalls/table.ts';
import { assertKnown, fail, readData, src, type ArgCondition, type DenyEntry, type SyscallEntry, type Target } from './common.ts';

export const CS_FILE = 'codesafe5-allowed-syscalls.md';
export const CS_VERSIONS = ['13.4', '13.5', '13.7'] as const;
const CS_EXPECTED_COUNTS: Record<string, number> = { '13.4': 104, '13.5': 6, '13.7': 60 };
const CS_EXPECTED_CONDITIONS: Record<string, string> = {
  nice: 'to reduce priority only',
  setpriority: 'to reduce priority only',
  setrlimit: 'to reduce resource limits only',
  prlimit64: 'to reduce resource limits only',
};
/** The vendor names 32-bit ARM EABI lacks (DOMAIN.md); checked against the table below. */
const ARM_ABSENT_EXPECTED = ['waitpid', 'time', 'alarm', 'utime', 'mmap', 'socketcall', 'ipc', 'newfstatat'];

export interface VendorRow {
  nr: number;
  name: string;
  category: string;
  since: string;
  condition: string | undefined;
}

function parseCodesafe(text: string): VendorRow[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const head = lines.indexOf('Syscall Number Syscall Name Category Comment');
  if (head < 0) fail(`${CS_FILE}: table header not found`);
  const cells = lines.slice(head + 1);
  if (cells.length % 4 !== 0) fail(`${CS_FILE}: ${cells.length} table cells, not a multiple of 4`);
  const rows: VendorRow[] = [];
  for (let i = 0; i < cells.length; i += 4) {
    const [nrText, name, category, comment] = cells.slice(i, i + 4) as [string, string, string, string];
    if (!/^\d+$/.test(nrText)) fail(`${CS_FILE}: row ${i / 4 + 1}: bad number ${JSON.stringify(nrText)}`);
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) fail(`${CS_FILE}: bad name ${JSON.stringify(name)}`);
    const m = /^Allowed in CodeSafe 5 since v(\d+\.\d+)(?: \((.+)\))?$/.exec(comment);
    if (!m) fail(`${CS_FILE}: ${name}: unexpected comment ${JSON.stringify(comment)}`);
    rows.push({ nr: Number(nrText), name, category, since: m[1]!, condition: m[2] });
  }
  return rows;
}

function checkCodesafe(rows: VendorRow[]): void {
  if (rows.length !== 170) fail(`${CS_FILE}: ${rows.length} entries, expected 170`);
  const seen = new Set<string>();
  let lastNr = -1;
  const counts: Record<string, number> = {};
  for (const r of rows) {
    assertKnown(r.name, CS_FILE);
    if (seen.has(r.name)) fail(`${CS_FILE}: duplicate ${r.name}`);
    seen.add(r.name);
    if (r.nr <= lastNr) fail(`${CS_FILE}: ${r.name}: numbers not ascending`);
    lastNr = r.nr;
    if (!(CS_VERSIONS as readonly string[]).includes(r.since)) fail(`${CS_FILE}: ${r.name}: unknown version ${r.since}`);
    counts[r.since] = (counts[r.since] ?? 0) + 1;
    // The vendor numbers are the 64-bit PowerPC ABI's: every (number, name) pair is ppc64's, with
    // no exception. Against 32-bit ppc all agree but 291, which ppc names fstatat64 (same number).
    const ppc64 = syscallNumber('ppc64', r.name);
    if (ppc64 !== r.nr) fail(`${CS_FILE}: ${r.name}: vendor number ${r.nr} differs from ppc64 ${ppc64}`);
    const ppc = syscallNumber('ppc', r.name);
    const ppcOk = ppc === r.nr || (ppc === null && r.name === 'newfstatat' && syscallNumber('ppc', 'fstatat64') === r.nr);
    if (!ppcOk) fail(`${CS_FILE}: ${r.name}: vendor number ${r.nr}, 32-bit ppc table says ${ppc}`);
  }
  for (const v of CS_VERSIONS) {
    if (counts[v] !== CS_EXPECTED_COUNTS[v]) fail(`${CS_FILE}: ${counts[v]} entries since ${v}, expected ${CS_EXPECTED_COUNTS[v]}`);
  }
  const conditioned = rows
    .filter((r) => r.condition)
    .map((r) => `${r.name}: ${r.condition}`)
    .sort();
  const expected = Object.entries(CS_EXPECTED_CONDITIONS)
    .map(([n, c]) => `${n}: ${c}`)
    .sort();
  if (JSON.stringify(conditioned) !== JSON.stringify(expected)) {
    fail(`${CS_FILE}: conditions changed: ${JSON.stringify(conditioned)}`);
  }
  const armAbsent = rows.filter((r) => syscallNumber('arm', r.name) === null).map((r) => r.name);
  if (JSON.stringify(armAbsent) !== JSON.stringify(ARM_ABSENT_EXPECTED)) {
    fail(`${CS_FILE}: names absent on arm are ${armAbsent.join(' ')}, expected ${ARM_ABSENT_EXPECTED.join(' ')}`);
  }
}

const NICE_ARGS: ArgCondition[] = [
  {
    index: 0,
    op: 'masked-eq',
    mask: '0x80000000',
    value: 0,
    width: 32,
    comment: 'increment >= 0: raising the nice value only',
  },
];

/** Conditions, limits and hand-written notes, by name. */
const CS_EXTRA: Record<string, Pick<SyscallEntry, 'args' | 'limit' | 'note'>> = {
  nice: {
    args: NICE_ARGS,
    note:
      'Vendor: "to reduce priority only". nice(inc) lowers priority when inc >= 0; the increment is an int, ' +
      'so the filter checks that bit 31 of the low 32 bits is clear. A negative increment gets the default action. ' +
      "Where nice is absent (aarch64, x86_64) nothing stands in for it: the condition is on nice's own argument " +
      'and cannot carry over to setpriority, so sysgate fails closed; setpriority is allowed by its own entry ' +
      'from 13.7, with its own limit.',
  },
  setpriority: {
    limit:
      'Vendor: "to reduce priority only". The new prio must not be below the target\'s current nice value, ' +
      "which a seccomp filter cannot read (it sees the arguments, not the process's state), so the filter allows " +
      'the call and the device enforces the restriction. Independently, the kernel refuses an unprivileged caller ' +
      '(no CAP_SYS_NICE) a nice value below 20 - RLIMIT_NICE with EACCES.',
  },
  setrlimit: {
    limit:
      'Vendor: "to reduce resource limits only". The new limits are in a struct rlimit behind a pointer, ' +
      'and the current limits are process state: a seccomp filter can read neither, so the filter allows the call ' +
      'and the device enforces the restriction. (The kernel already refuses to raise a hard limit without ' +
      'CAP_SYS_RESOURCE; raising a soft limit up to the hard limit is what the vendor forbids.)',
  },
  prlimit64: {
    limit:
      'Vendor: "to reduce resource limits only". new_limit is a pointer to a struct rlimit64 and the current ' +
      'limits are process state: a seccomp filter can read neither, so the filter allows the call and the device ' +
      "enforces the restriction. prlimit64 with new_limit == NULL only reads limits (glibc's getrlimit uses it).",
  },
  newfstatat: {
    note: 'Vendor number 291 is newfstatat on ppc64 and fstatat64 on 32-bit ppc.',
  },
};

/**
 * 32-bit glibc >= 2.34 and its time64 calls (sysdeps/unix/sysv/linux/*.c at glibc-2.34..2.36): the
 * calls that return a time try the `_time64` call first (they cannot know whether the answer fits);
 * those that take a time call the old syscall while it fits in 32 bits ("y2038: Use the 32-bit
 * syscall if the time fits").
 */
const TIME64_FIRST = new Set(['clock_gettime', 'clock_getres', 'recvmmsg']);
const TIME64_PAST_2038 = new Set(['futex', 'ppoll', 'pselect6', 'clock_nanosleep', 'utimensat', 'rt_sigtimedwait']);

function joinNotes(...parts: (string | undefined)[]): string | undefined {
  const kept = parts.filter((p): p is string => !!p);
  return kept.length ? kept.join(' ') : undefined;
}

function codesafeEntries(rows: VendorRow[]): SyscallEntry[] {
  return rows.map((r) => {
    const extra = CS_EXTRA[r.name] ?? {};
    let armNote: string | undefined;
    if (syscallNumber('arm', r.name) === null) {
      const repl = [...new Set(replacementsOf(r.name).map((x) => x.name))].filter((n) => syscallNumber('arm', n) !== null);
      if (repl.length === 0) fail(`${r.name}: absent on arm with no replacement there`);
      armNote = `Absent on 32-bit ARM EABI: the resolver allows ${repl.join(', ')} there instead.`;
    }
    let t64Note: string | undefined;
    const t64 = FAMILIES.find((f) => f.kind === 'time64' && f.members[0] === r.name);
    if (t64) {
      const neu = t64.members[1]!;
      if (TIME64_FIRST.has(r.name)) {
        t64Note =
          `Not in the vendor list: ${neu}, which 32-bit glibc >= 2.34 tries first; it fails with ENOSYS from 13.7 ` +
          `(glibc then falls back to ${r.name}) but kills the process before 13.7.`;
      } else if (TIME64_PAST_2038.has(r.name)) {
        t64Note =
          `Not in the vendor list: ${neu}. 32-bit glibc >= 2.34 calls ${r.name} itself while the time fits in 32 bits ` +
          `and tries ${neu} only for a time past 2038 (which then fails from 13.7 and kills the process before).`;
      } else {
        t64Note =
          `Not in the vendor list: ${neu}, which 32-bit glibc >= 2.34 may try first; it fails with ENOSYS from 13.7 ` +
          `(glibc then falls back to ${r.name}) but kills the process before 13.7.`;
      }
    }
    const e: SyscallEntry = { name: r.name, since: r.since, category: r.category };
    const note = joinNotes(extra.note, armNote, t64Note);
    if (note) e.note = note;
    if (extra.args) e.args = extra.args;
    if (extra.limit) e.limit = extra.limit;
    e.documented = { ppc64: r.nr };
    return e;
  });
}

/** Notable calls the vendor list leaves out, with why a CodeSafe developer meets them. */
const CS_DENY: DenyEntry[] = [
  {
    name: 'getrandom',
    reason:
      'Never allowed: the kernel RNG is not the HSM RNG, and the vendor denies it so applications cannot use ' +
      'non-HSM randomness by accident. getentropy() and arc4random() call it too; glibc >= 2.34 malloc calls it once ' +
      '(GRND_NONBLOCK) for its tcache key and tolerates ENOSYS.',
    fix:
      'Read /dev/random or /dev/urandom (HSM-backed; /dev/random is seeded before the application starts), use the ' +
      'Cmd_GenerateRandom nCore command, or link the sysgate shim. Configure OpenSSL 3 with --with-rand-seed=devrandom: ' +
      'it no longer falls back by itself when getentropy fails with ENOSYS.',
  },
  {
    name: 'eventfd2',
    reason: "Not in the vendor list, which allows only the old eventfd. glibc's eventfd() calls eventfd2 and does not " + 'fall back, so it fails with ENOSYS.',
    fix: 'Call syscall(SYS_eventfd, initval) when no flags are needed (then fcntl for O_NONBLOCK/FD_CLOEXEC), or use a pipe.',
  },
  {
    name: 'set_robust_list',
    reason:
      'Not in the vendor list. glibc calls it at start-up and for each new thread, and carries on without ' +
      'robust mutexes when it fails with ENOSYS (13.7+); before 13.7 the call kills the process.',
    fix: 'Use firmware 13.7 or later and do not rely on PTHREAD_MUTEX_ROBUST.',
  },
  {
    name: 'rseq',
    reason:
      'Not in the vendor list. glibc >= 2.35 registers restartable sequences at start-up and for each thread, ' +
      'and carries on without them on ENOSYS (13.7+); before 13.7 the call kills the process.',
    fix: 'Use firmware 13.7 or later, or run with GLIBC_TUNABLES=glibc.pthread.rseq=0.',
  },
  {
    name: 'clone3',
    reason:
      'Not in the vendor list. glibc tries clone3 first for pthread_create and posix_spawn on arches where it ' +
      'implements it (x86_64 from 2.34, more arches in later releases) and falls back to clone on ENOSYS (13.7+); ' +
      'before 13.7 it kills the process.',
    // No fix here: whether glibc calls clone3 on the arch and falls back to clone is libc
    // knowledge (src/libc); explain and check word it for the firmware's action.
  },
  {
    name: 'prctl',
    reason: 'Not in the vendor list: thread names (PR_SET_NAME), no_new_privs, dumpable and similar process settings fail.',
    fix: 'Drop the call or ignore its ENOSYS.',
  },
  {
    name: 'ptrace',
    reason: 'Not in the vendor list: a process cannot trace or debug another on the device.',
    fix: 'Debug the application off the HSM (host build or qemu-user -strace).',
  },
  { name: 'process_vm_readv', reason: "Not in the vendor list: reads another process's memory." },
  { name: 'process_vm_writev', reason: "Not in the vendor list: writes another process's memory." },
  {
    name: 'perf_event_open',
    reason: 'Not in the vendor list: no performance counters or kernel tracing.',
    fix: 'Profile off the HSM.',
  },
  { name: 'bpf', reason: 'Not in the vendor list: no BPF programs or maps inside the HSM.' },
  {
    name: 'seccomp',
    reason: 'Not in the vendor list: the application cannot install a seccomp filter of its own.',
    fix: "Leave sandboxing to the device; skip a library's self-sandboxing step when seccomp fails with ENOSYS.",
  },
  {
    name: 'mount',
    reason: 'Not in the vendor list: the application cannot mount filesystems.',
    fix: 'Use the paths the container provides.',
  },
  { name: 'umount2', reason: 'Not in the vendor list: the application cannot unmount filesystems.' },
  { name: 'chroot', reason: 'Not in the vendor list: the application cannot change its root directory.' },
  { name: 'pivot_root', reason: 'Not in the vendor list: the application cannot change its root mount.' },
  { name: 'unshare', reason: 'Not in the vendor list: no new namespaces inside the HSM.' },
  { name: 'setns', reason: 'Not in the vendor list: no joining other namespaces.' },
  { name: 'init_module', reason: 'Not in the vendor list: no kernel modules.' },
  { name: 'finit_module', reason: 'Not in the vendor list: no kernel modules.' },
  { name: 'delete_module', reason: 'Not in the vendor list: no kernel modules.' },
  { name: 'kexec_load', reason: 'Not in the vendor list: no loading another kernel.' },
  { name: 'mknod', reason: 'Not in the vendor list: no creating device nodes.' },
  { name: 'setuid', reason: 'Not in the vendor list (nor any other call that changes user or group IDs): the application cannot change its user ID.' },
  { name: 'setgid', reason: 'Not in the vendor list: the application cannot change its group ID.' },
  { name: 'capset', reason: 'Not in the vendor list: the application cannot change its capabilities.' },
  {
    name: 'sched_setscheduler',
    reason: 'Not in the vendor list: no real-time or other scheduling policies (nice and setpriority may only lower priority).',
  },
  { name: 'sched_setaffinity', reason: 'Not in the vendor list: threads cannot be pinned to CPUs.' },
  {
    name: 'memfd_create',
    reason: 'Not in the vendor list: anonymous memory files (used by some JITs and IPC libraries) are unavailable.',
    fix: 'Use a regular file, a pipe or anonymous mmap.',
  },
  {
    name: 'io_uring_setup',
    reason: 'Not in the vendor list: no io_uring.',
    fix: 'Use read/write, poll or epoll (allowed).',
  },
  {
    name: 'inotify_init1',
    reason: 'Not in the vendor list (nor any inotify call): file watching is unavailable.',
    fix: 'Poll the file with stat.',
  },
];

/**
 * The older vendor pages (Entrust's security-world-docs v13.5.1 codesafe5/whitelist.html and
 * v13.6.5 codesafe5/allowlist.html; only their first part could be read, entries past 331 are
 * unknown) disagree with the current page. Recorded where a user meets the names (explain,
 * compat, the target docs), never turned into a list: the policy follows the current page.
 */
const OLD_PAGES = 'the older vendor pages (v13.5.1 "whitelist", v13.6.5 "allowlist"; only partly known)';
const OLD_PAGES_LIST: readonly [number, string][] = [
  [21, 'mount'],
  [22, 'umount'],
  [119, 'sigreturn'],
  [160, 'sched_get_priority_min'],
  [195, 'stat64'],
  [196, 'lstat64'],
  [197, 'fstat64'],
  [204, 'fcntl64'],
  [229, 'io_getevents'],
  [300, 'set_robust_list'],
];
const OLD_PAGES_LACK: readonly string[] = ['getgroups', 'getpriority', 'ipc', 'tkill'];

function codesafeHistory(rows: VendorRow[]): { name: string; note: string }[] {
  const current = new Map(rows.map((r) => [r.name, r]));
  const out: { name: string; note: string }[] = [];
  for (const [nr, name] of OLD_PAGES_LIST) {
    assertKnown(name, 'codesafe5 history');
    if (current.has(name)) fail(`codesafe5 history: ${name} is on the current page`);
    // The old pages number in PowerPC's table; 195-197 and 204 exist only for 32-bit processes.
    const ppc = syscallNumber('ppc', name);
    if (ppc !== nr) fail(`codesafe5 history: ${name} is ${ppc} on ppc, the old pages say ${nr}`);
    const only32 = syscallNumber('ppc64', name) === null;
    out.push({
      name,
      note:
        `Listed as ${nr} by ${OLD_PAGES}, not by the current page, which sysgate follows.` +
        (only32 ? ` ${name} exists only for 32-bit PowerPC processes, so those pages may describe a 32-bit userland or a merged table.` : ''),
    });
  }
  for (const name of OLD_PAGES_LACK) {
    const r = current.get(name);
    if (r?.since !== '13.5') fail(`codesafe5 history: ${name} is expected on the current page since 13.5`);
    out.push({
      name,
      note: `The current page dates it since v13.5, but ${OLD_PAGES} do not list it: on 13.5 and 13.6 firmware it may be denied. sysgate follows the current page.`,
    });
  }
  return out;
}

export function buildCodesafe(): { target: Target; rows: VendorRow[] } {
  const rows = parseCodesafe(readData(CS_FILE));
  checkCodesafe(rows);
  const allowed = new Set(rows.map((r) => r.name));
  const denySeen = new Set<string>();
  for (const d of CS_DENY) {
    assertKnown(d.name, 'codesafe5 deny');
    if (allowed.has(d.name)) fail(`codesafe5 deny: ${d.name} is in the vendor allow list`);
    if (denySeen.has(d.name)) fail(`codesafe5 deny: duplicate ${d.name}`);
    denySeen.add(d.name);
  }
  const target: Target = {
    $schema: '../schemas/target.schema.json',
    id: 'codesafe5',
    title: 'Entrust nShield CodeSafe 5 (nShield 5s/5c HSMs)',
    description:
      'The system calls a CodeSafe 5 application may make, from Entrust\'s "System calls allowed by CodeSafe 5 ' +
      'applications" page: 170 calls, each with the firmware version that first allowed it (104 since v13.4, 6 since ' +
      'v13.5, 60 since v13.7); nice and setpriority only to reduce priority, setrlimit and prlimit64 only to reduce ' +
      'limits. A denied call fails with ENOSYS (errno 38) from v13.7 on, so glibc and other libraries can fall back to ' +
      'an allowed alternative; before v13.7 the device kills the application (older vendor pages: it "will be ' +
      'immediately terminated by a safeguarding process"; the current page: "the SIGSYS signal was raised"), modelled as ' +
      'kill-process. The vendor table is the 64-bit big-endian PowerPC (ppc64) syscall ABI: all 170 (number, name) pairs ' +
      "are ppc64's (poll 167, futex 221, openat 286, newfstatat 291, socket 326, statx 383); ppc64 is the device's own " +
      'ABI and needs no replacement. The policy is a list of names of operations, numbers come from the per-arch tables, ' +
      'and the vendor numbers (documented.ppc64) are a consistency check only. ARM (the default arch, as the project ' +
      'brief says "ARM CodeSafe 5"), 32-bit ppc, aarch64 and x86_64 (host emulation) are translations: names 32-bit ' +
      'ARM lacks (waitpid time alarm utime mmap socketcall ipc newfstatat) are replaced by their family members there, ' +
      'and every allowed operation is also allowed under the names a libc uses for it on that arch (fcntl64, getuid32, ' +
      'stat64, truncate64, sendfile64, arm_fadvise64_64, the *_time64 twins): expandFamilies "operations", abi "ppc64". Generated by scripts/gen-targets.ts.',
    sources: [src(CS_FILE, 'Entrust nShield documentation, "System calls allowed by CodeSafe 5 applications"')],
    arches: ['arm', 'ppc64', 'ppc', 'aarch64', 'x86_64'],
    defaultArch: 'arm',
    firmware: {
      versions: [...CS_VERSIONS],
      defaultAction: [
        {
          range: '<13.7',
          action: 'kill-process',
          note:
            'Before v13.7 the device ends the application that makes a denied call: the 13.5.1 and 13.6.5 vendor ' +
            'pages say it "will be immediately terminated by a safeguarding process" (the current page: "the SIGSYS ' +
            'signal was raised"). Modelled as kill-process (the whole process dies with SIGSYS), not a catchable trap: ' +
            'no SIGSYS handler can rescue the call, and a probe for a newer call (clock_gettime64, clone3, rseq) kills ' +
            'the program.',
        },
        {
          range: '>=13.7',
          action: 'errno:ENOSYS',
          note: 'From v13.7 a denied call returns -1 with errno 38 (ENOSYS), so glibc and other libraries fall back to ' + 'an allowed alternative.',
        },
      ],
    },
    foreignArchAction: 'kill-process',
    expandFamilies: 'operations',
    abi: 'ppc64',
    essentials: true,
    syscalls: codesafeEntries(rows),
    deny: CS_DENY,
    history: codesafeHistory(rows),
  };
  return { target, rows };
}
