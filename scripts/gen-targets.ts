/**
 * Generates the shipped targets and groups from the reviewed seed copies in scripts/data/:
 *
 *   targets/codesafe5.json          <- codesafe5-allowed-syscalls.md (Entrust's vendor table)
 *   targets/enclave-x86_64.json     <- capejail-allowed.txt (its code's allow list) and
 *                                      capejail-syscalls-*.md (its documentation)
 *   targets/groups/systemd.json     <- systemd-syscall-filter-sets.md
 *   docs/targets/codesafe5.md, docs/targets/enclave-x86_64.md
 *
 * Every output is validated against schemas/ with ajv and every syscall name against the
 * generated table; any error aborts before a file is written. Re-running gives identical bytes.
 *
 *   npm run gen:targets
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { ARCH_NAMES, type ArchName } from '../src/syscalls/arches.ts';
import { FAMILIES, replacementsOf, twinClosure } from '../src/syscalls/families.ts';
import { isKnownSyscall, syscallNumber } from '../src/syscalls/table.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'scripts/data');
const readData = (name: string): string => readFileSync(join(dataDir, name), 'utf8');

function fail(msg: string): never {
  throw new Error(`gen-targets: ${msg}`);
}

function assertKnown(name: string, where: string): void {
  if (!isKnownSyscall(name)) fail(`${where}: unknown syscall ${JSON.stringify(name)}`);
}

// ---------------------------------------------------------------------------------------------
// Types of what we write (a subset of schemas/target.schema.json).

interface ArgCondition {
  index: number;
  op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked-eq';
  mask?: string | number;
  value: string | number;
  width?: 32 | 64;
  comment?: string;
}

interface SyscallEntry {
  name: string;
  since?: string;
  category?: string;
  note?: string;
  args?: ArgCondition[];
  limit?: string;
  documented?: Partial<Record<ArchName, number>>;
}

interface DenyEntry {
  name: string;
  reason: string;
  fix?: string;
}

interface Target {
  $schema: string;
  id: string;
  title: string;
  description: string;
  sources: string[];
  arches: ArchName[];
  defaultArch: ArchName;
  firmware?: { versions: string[]; defaultAction: { range: string; action: string; note: string }[] };
  defaultAction?: string;
  foreignArchAction: string;
  expandFamilies: 'none' | 'absent' | 'all' | 'operations';
  abi?: ArchName;
  essentials: boolean;
  syscalls: SyscallEntry[];
  deny: DenyEntry[];
  history?: { name: string; note: string }[];
}

const src = (file: string, what: string): string => `scripts/data/${file}: ${what}`;

// =============================================================================================
// 1. CodeSafe 5

const CS_FILE = 'codesafe5-allowed-syscalls.md';
const CS_VERSIONS = ['13.4', '13.5', '13.7'] as const;
const CS_EXPECTED_COUNTS: Record<string, number> = { '13.4': 104, '13.5': 6, '13.7': 60 };
const CS_EXPECTED_CONDITIONS: Record<string, string> = {
  nice: 'to reduce priority only',
  setpriority: 'to reduce priority only',
  setrlimit: 'to reduce resource limits only',
  prlimit64: 'to reduce resource limits only',
};
/** The vendor names 32-bit ARM EABI lacks (DOMAIN.md); checked against the table below. */
const ARM_ABSENT_EXPECTED = ['waitpid', 'time', 'alarm', 'utime', 'mmap', 'socketcall', 'ipc', 'newfstatat'];

interface VendorRow {
  nr: number;
  name: string;
  category: string;
  since: string;
  condition: string | undefined;
}

function parseCodesafe(text: string): VendorRow[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
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
  const conditioned = rows.filter((r) => r.condition).map((r) => `${r.name}: ${r.condition}`).sort();
  const expected = Object.entries(CS_EXPECTED_CONDITIONS).map(([n, c]) => `${n}: ${c}`).sort();
  if (JSON.stringify(conditioned) !== JSON.stringify(expected)) {
    fail(`${CS_FILE}: conditions changed: ${JSON.stringify(conditioned)}`);
  }
  const armAbsent = rows.filter((r) => syscallNumber('arm', r.name) === null).map((r) => r.name);
  if (JSON.stringify(armAbsent) !== JSON.stringify(ARM_ABSENT_EXPECTED)) {
    fail(`${CS_FILE}: names absent on arm are ${armAbsent.join(' ')}, expected ${ARM_ABSENT_EXPECTED.join(' ')}`);
  }
}

const NICE_ARGS: ArgCondition[] = [{
  index: 0, op: 'masked-eq', mask: '0x80000000', value: 0, width: 32,
  comment: 'increment >= 0: raising the nice value only',
}];

/** Conditions, limits and hand-written notes, by name. */
const CS_EXTRA: Record<string, Pick<SyscallEntry, 'args' | 'limit' | 'note'>> = {
  nice: {
    args: NICE_ARGS,
    note: 'Vendor: "to reduce priority only". nice(inc) lowers priority when inc >= 0; the increment is an int, '
      + 'so the filter checks that bit 31 of the low 32 bits is clear. A negative increment gets the default action. '
      + 'Where nice is absent (aarch64, x86_64) nothing stands in for it: the condition is on nice\'s own argument '
      + 'and cannot carry over to setpriority, so sysgate fails closed; setpriority is allowed by its own entry '
      + 'from 13.7, with its own limit.',
  },
  setpriority: {
    limit: 'Vendor: "to reduce priority only". The new prio must not be below the target\'s current nice value, '
      + 'which a seccomp filter cannot read (it sees the arguments, not the process\'s state), so the filter allows '
      + 'the call and the device enforces the restriction. Independently, the kernel refuses an unprivileged caller '
      + '(no CAP_SYS_NICE) a nice value below 20 - RLIMIT_NICE with EACCES.',
  },
  setrlimit: {
    limit: 'Vendor: "to reduce resource limits only". The new limits are in a struct rlimit behind a pointer, '
      + 'and the current limits are process state: a seccomp filter can read neither, so the filter allows the call '
      + 'and the device enforces the restriction. (The kernel already refuses to raise a hard limit without '
      + 'CAP_SYS_RESOURCE; raising a soft limit up to the hard limit is what the vendor forbids.)',
  },
  prlimit64: {
    limit: 'Vendor: "to reduce resource limits only". new_limit is a pointer to a struct rlimit64 and the current '
      + 'limits are process state: a seccomp filter can read neither, so the filter allows the call and the device '
      + 'enforces the restriction. prlimit64 with new_limit == NULL only reads limits (glibc\'s getrlimit uses it).',
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
        t64Note = `Not in the vendor list: ${neu}, which 32-bit glibc >= 2.34 tries first; it fails with ENOSYS from 13.7 `
          + `(glibc then falls back to ${r.name}) but kills the process before 13.7.`;
      } else if (TIME64_PAST_2038.has(r.name)) {
        t64Note = `Not in the vendor list: ${neu}. 32-bit glibc >= 2.34 calls ${r.name} itself while the time fits in 32 bits `
          + `and tries ${neu} only for a time past 2038 (which then fails from 13.7 and kills the process before).`;
      } else {
        t64Note = `Not in the vendor list: ${neu}, which 32-bit glibc >= 2.34 may try first; it fails with ENOSYS from 13.7 `
          + `(glibc then falls back to ${r.name}) but kills the process before 13.7.`;
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
    reason: 'Never allowed: the kernel RNG is not the HSM RNG, and the vendor denies it so applications cannot use '
      + 'non-HSM randomness by accident. getentropy() and arc4random() call it too; glibc >= 2.34 malloc calls it once '
      + '(GRND_NONBLOCK) for its tcache key and tolerates ENOSYS.',
    fix: 'Read /dev/random or /dev/urandom (HSM-backed; /dev/random is seeded before the application starts), use the '
      + 'Cmd_GenerateRandom nCore command, or link the sysgate shim. Configure OpenSSL 3 with --with-rand-seed=devrandom: '
      + 'it no longer falls back by itself when getentropy fails with ENOSYS.',
  },
  {
    name: 'eventfd2',
    reason: 'Not in the vendor list, which allows only the old eventfd. glibc\'s eventfd() calls eventfd2 and does not '
      + 'fall back, so it fails with ENOSYS.',
    fix: 'Call syscall(SYS_eventfd, initval) when no flags are needed (then fcntl for O_NONBLOCK/FD_CLOEXEC), or use a pipe.',
  },
  {
    name: 'set_robust_list',
    reason: 'Not in the vendor list. glibc calls it at start-up and for each new thread, and carries on without '
      + 'robust mutexes when it fails with ENOSYS (13.7+); before 13.7 the call kills the process.',
    fix: 'Use firmware 13.7 or later and do not rely on PTHREAD_MUTEX_ROBUST.',
  },
  {
    name: 'rseq',
    reason: 'Not in the vendor list. glibc >= 2.35 registers restartable sequences at start-up and for each thread, '
      + 'and carries on without them on ENOSYS (13.7+); before 13.7 the call kills the process.',
    fix: 'Use firmware 13.7 or later, or run with GLIBC_TUNABLES=glibc.pthread.rseq=0.',
  },
  {
    name: 'clone3',
    reason: 'Not in the vendor list. glibc tries clone3 first for pthread_create and posix_spawn on arches where it '
      + 'implements it (x86_64 from 2.34, more arches in later releases) and falls back to clone on ENOSYS (13.7+); '
      + 'before 13.7 it kills the process.',
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
  { name: 'process_vm_readv', reason: 'Not in the vendor list: reads another process\'s memory.' },
  { name: 'process_vm_writev', reason: 'Not in the vendor list: writes another process\'s memory.' },
  {
    name: 'perf_event_open',
    reason: 'Not in the vendor list: no performance counters or kernel tracing.',
    fix: 'Profile off the HSM.',
  },
  { name: 'bpf', reason: 'Not in the vendor list: no BPF programs or maps inside the HSM.' },
  {
    name: 'seccomp',
    reason: 'Not in the vendor list: the application cannot install a seccomp filter of its own.',
    fix: 'Leave sandboxing to the device; skip a library\'s self-sandboxing step when seccomp fails with ENOSYS.',
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
  [21, 'mount'], [22, 'umount'], [119, 'sigreturn'], [160, 'sched_get_priority_min'], [195, 'stat64'],
  [196, 'lstat64'], [197, 'fstat64'], [204, 'fcntl64'], [229, 'io_getevents'], [300, 'set_robust_list'],
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
      note: `Listed as ${nr} by ${OLD_PAGES}, not by the current page, which sysgate follows.`
        + (only32 ? ` ${name} exists only for 32-bit PowerPC processes, so those pages may describe a 32-bit userland or a merged table.` : ''),
    });
  }
  for (const name of OLD_PAGES_LACK) {
    const r = current.get(name);
    if (!r || r.since !== '13.5') fail(`codesafe5 history: ${name} is expected on the current page since 13.5`);
    out.push({ name, note: `The current page dates it since v13.5, but ${OLD_PAGES} do not list it: on 13.5 and 13.6 firmware it may be denied. sysgate follows the current page.` });
  }
  return out;
}

function buildCodesafe(): { target: Target; rows: VendorRow[] } {
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
    description: 'The system calls a CodeSafe 5 application may make, from Entrust\'s "System calls allowed by CodeSafe 5 '
      + 'applications" page: 170 calls, each with the firmware version that first allowed it (104 since v13.4, 6 since '
      + 'v13.5, 60 since v13.7); nice and setpriority only to reduce priority, setrlimit and prlimit64 only to reduce '
      + 'limits. A denied call fails with ENOSYS (errno 38) from v13.7 on, so glibc and other libraries can fall back to '
      + 'an allowed alternative; before v13.7 the device kills the application (older vendor pages: it "will be '
      + 'immediately terminated by a safeguarding process"; the current page: "the SIGSYS signal was raised"), modelled as '
      + 'kill-process. The vendor table is the 64-bit big-endian PowerPC (ppc64) syscall ABI: all 170 (number, name) pairs '
      + 'are ppc64\'s (poll 167, futex 221, openat 286, newfstatat 291, socket 326, statx 383); ppc64 is the device\'s own '
      + 'ABI and needs no replacement. The policy is a list of names of operations, numbers come from the per-arch tables, '
      + 'and the vendor numbers (documented.ppc64) are a consistency check only. ARM (the default arch, as the project '
      + 'brief says "ARM CodeSafe 5"), 32-bit ppc, aarch64 and x86_64 (host emulation) are translations: names 32-bit '
      + 'ARM lacks (waitpid time alarm utime mmap socketcall ipc newfstatat) are replaced by their family members there, '
      + 'and every allowed operation is also allowed under the names a libc uses for it on that arch (fcntl64, getuid32, '
      + 'stat64, truncate64, sendfile64, arm_fadvise64_64, the *_time64 twins): expandFamilies "operations", abi "ppc64". Generated by scripts/gen-targets.ts.',
    sources: [src(CS_FILE, 'Entrust nShield documentation, "System calls allowed by CodeSafe 5 applications"')],
    arches: ['arm', 'ppc64', 'ppc', 'aarch64', 'x86_64'],
    defaultArch: 'arm',
    firmware: {
      versions: [...CS_VERSIONS],
      defaultAction: [
        {
          range: '<13.7',
          action: 'kill-process',
          note: 'Before v13.7 the device ends the application that makes a denied call: the 13.5.1 and 13.6.5 vendor '
            + 'pages say it "will be immediately terminated by a safeguarding process" (the current page: "the SIGSYS '
            + 'signal was raised"). Modelled as kill-process (the whole process dies with SIGSYS), not a catchable trap: '
            + 'no SIGSYS handler can rescue the call, and a probe for a newer call (clock_gettime64, clone3, rseq) kills '
            + 'the program.',
        },
        {
          range: '>=13.7',
          action: 'errno:ENOSYS',
          note: 'From v13.7 a denied call returns -1 with errno 38 (ENOSYS), so glibc and other libraries fall back to '
            + 'an allowed alternative.',
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

// =============================================================================================
// 2. x86_64 enclave (capejail)

const CJ_CODE_FILE = 'capejail-allowed.txt';
const CJ_DOC1_FILE = 'capejail-syscalls-allowed-and-blocked.md';
const CJ_DOC2_FILE = 'capejail-syscalls-blocked.md';

interface DocEntry {
  text: string;
  file: string;
}

/** Plain text of a markdown paragraph: links to their text, whitespace collapsed. */
function plain(s: string): string {
  return s.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '').replace(/\s+/g, ' ').trim();
}

/** Strips the danger mark (⚠ and its variation selectors) from a heading. */
function headingName(s: string): string {
  return s.replace(/[\u26a0\ufe0f]/g, '').trim();
}

/** The markdown page: "## Blocked" / "## Allowed", "### name" entries, first paragraph = reason. */
function parseDocMarkdown(text: string): { blocked: Map<string, DocEntry>; allowed: Map<string, DocEntry> } {
  const blocked = new Map<string, DocEntry>();
  const allowed = new Map<string, DocEntry>();
  let section: Map<string, DocEntry> | undefined;
  let current: string | undefined;
  let para: string[] = [];
  let done = false;
  const flush = (): void => {
    if (current && section && para.length && !section.has(current)) {
      section.set(current, { text: plain(para.join(' ')), file: CJ_DOC1_FILE });
    }
  };
  for (const line of text.split('\n')) {
    const h2 = /^## (.+)$/.exec(line);
    const h3 = /^### (.+)$/.exec(line);
    if (h2) {
      flush();
      current = undefined;
      para = [];
      section = h2[1] === 'Blocked' ? blocked : h2[1] === 'Allowed' ? allowed : undefined;
    } else if (h3) {
      flush();
      current = headingName(h3[1]!);
      if (!/^[a-z_][a-z0-9_]*$/.test(current)) fail(`${CJ_DOC1_FILE}: odd heading ${JSON.stringify(h3[1])}`);
      para = [];
      done = false;
    } else if (line.trim() === '') {
      if (para.length) done = true;
    } else if (current && !done) {
      para.push(line.trim());
    }
  }
  flush();
  return { blocked, allowed };
}

/** The flattened GitHub page: after "Blocked", a name line then one-line paragraphs. */
function parseDocFlat(text: string): Map<string, DocEntry> {
  const blocked = new Map<string, DocEntry>();
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.indexOf('Blocked');
  if (start < 0) fail(`${CJ_DOC2_FILE}: "Blocked" heading not found`);
  let current: string | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line === '') continue;
    const name = headingName(line);
    if (/^[a-z_][a-z0-9_]*$/.test(name)) {
      if (blocked.has(name)) fail(`${CJ_DOC2_FILE}: duplicate ${name}`);
      current = name;
      blocked.set(name, { text: '', file: CJ_DOC2_FILE });
    } else if (current && blocked.get(current)!.text === '') {
      blocked.set(current, { text: plain(line), file: CJ_DOC2_FILE });
    }
  }
  for (const [name, e] of blocked) if (!e.text) fail(`${CJ_DOC2_FILE}: ${name} has no reason`);
  return blocked;
}

/** "See X." resolved to X's own text, so a note stands alone. */
function resolveSee(text: string, docs: Map<string, DocEntry>): string {
  const m = /^See ([a-z_][a-z0-9_]*)\.?$/.exec(text);
  if (!m) return text;
  const target = docs.get(m[1]!);
  return target && target.text !== text ? `As ${m[1]}: ${resolveSee(target.text, docs)}` : text;
}

/** First sentences of a reason, about 200 characters at most. */
function shortReason(text: string): string {
  let out = '';
  for (const s of text.split(/(?<=[.!?])\s+/)) {
    if (out && out.length + 1 + s.length > 200) break;
    out = out ? `${out} ${s}` : s;
  }
  return out;
}

interface CapejailResult {
  target: Target;
  /** Names blocked in one documentation version and not mentioned in the other. */
  oneVersionOnly: { name: string; file: string }[];
  codeCount: number;
  disagreements: { name: string; kind: string; detail: string }[];
  unknownDocNames: string[];
  absentOnX86: string[];
}

function buildCapejail(): CapejailResult {
  const code = readData(CJ_CODE_FILE).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (code.length !== 263) fail(`${CJ_CODE_FILE}: ${code.length} names, expected 263`);
  if (new Set(code).size !== code.length) fail(`${CJ_CODE_FILE}: duplicate names`);
  for (const n of code) assertKnown(n, CJ_CODE_FILE);
  const codeSet = new Set(code);

  const doc1 = parseDocMarkdown(readData(CJ_DOC1_FILE));
  const doc2Blocked = parseDocFlat(readData(CJ_DOC2_FILE));
  if (doc1.allowed.size === 0 || doc1.blocked.size === 0 || doc2Blocked.size === 0) fail('capejail docs: empty section');

  // Documented blocked: both pages (the markdown page's text first).
  const blocked = new Map<string, DocEntry>(doc1.blocked);
  for (const [n, e] of doc2Blocked) if (!blocked.has(n)) blocked.set(n, e);
  const allDocs = new Map<string, DocEntry>([...doc1.allowed, ...blocked]);

  const disagreements: CapejailResult['disagreements'] = [];
  const unknownDocNames = new Set<string>();
  const deny = new Map<string, DenyEntry>();
  const excluded = new Set<string>();

  const allNames = [...new Set([...blocked.keys(), ...doc1.allowed.keys()])].sort();
  for (const name of allNames) {
    const b = blocked.get(name);
    const a = doc1.allowed.get(name);
    const inCode = codeSet.has(name);
    if (b && inCode) {
      const where = [doc1.blocked.has(name) ? CJ_DOC1_FILE : '', doc2Blocked.has(name) ? CJ_DOC2_FILE : ''].filter(Boolean);
      disagreements.push({
        name,
        kind: 'documented blocked, allowed in code',
        detail: `blocked in ${where.join(' and ')}: ${shortReason(resolveSee(b.text, allDocs))}`,
      });
      excluded.add(name);
      deny.set(name, {
        name,
        reason: `Docs and code disagree: capejail's documentation (${b.file}) lists ${name} as blocked `
          + `("${shortReason(resolveSee(b.text, allDocs))}") but its source code's allow list includes it. Failing closed: denied.`,
      });
    } else if (a && !inCode) {
      const also = b ? ` and also as blocked (${b.file}: "${shortReason(b.text)}")` : '';
      disagreements.push({
        name,
        kind: b ? 'documented allowed and blocked, not in code' : 'documented allowed, not in code',
        detail: `allowed in ${a.file}${also}`,
      });
      if (!isKnownSyscall(name)) {
        unknownDocNames.add(name);
        continue;
      }
      deny.set(name, {
        name,
        reason: `Docs and code disagree: capejail's documentation (${a.file}) lists ${name} as allowed${also} but its `
          + `source code's allow list leaves it out. Failing closed: denied.`,
      });
    } else if (a && b) {
      // Allowed in code and documented both ways: covered by the first branch (b && inCode).
      fail(`capejail: unexpected state for ${name}`);
    } else if (b) {
      if (!isKnownSyscall(name)) {
        unknownDocNames.add(name);
        continue;
      }
      deny.set(name, { name, reason: shortReason(resolveSee(b.text, allDocs)) });
    }
  }

  const absentOnX86 = code.filter((n) => syscallNumber('x86_64', n) === null);
  const syscalls: SyscallEntry[] = [];
  for (const name of code) {
    if (excluded.has(name)) continue;
    const e: SyscallEntry = { name };
    const a = doc1.allowed.get(name);
    const notes: string[] = [];
    if (a) notes.push(resolveSee(a.text, allDocs));
    if (absentOnX86.includes(name)) {
      notes.push('Not a syscall on x86_64 (capejail\'s code lists it; libseccomp resolves it to nothing there).');
    }
    if (notes.length) e.note = notes.join(' ');
    syscalls.push(e);
  }

  const deniedDisagree = disagreements.filter((d) => deny.has(d.name)).map((d) => d.name);
  const otherDisagree = disagreements.filter((d) => !deny.has(d.name)).map((d) => `${d.name} (${d.kind})`);
  const target: Target = {
    $schema: '../schemas/target.schema.json',
    id: 'enclave-x86_64',
    title: 'x86_64 enclave jail (capejail, AWS Nitro enclaves)',
    description: `capejail's seccomp allow list: the ${code.length} names its source code allows, with the reasons its `
      + `documentation gives as notes. Where documentation and code disagree (${deniedDisagree.join(', ')}) sysgate fails `
      + `closed: the name is left out of syscalls and put in deny with the disagreement recorded, so ${syscalls.length} `
      + 'calls are allowed.'
      + (otherDisagree.length ? ` Also disagreeing, but not in sysgate's table and so denied by default: ${otherDisagree.join(', ')}.` : '')
      + ' Default action kill-process: the jail is meant to kill the process that makes a blocked call. '
      + 'capejail\'s code passes libseccomp\'s SCMP_ACT_KILL, which is an alias of SCMP_ACT_KILL_THREAD; sysgate chooses '
      + 'kill-process on purpose, because killing one thread leaves the others running, possibly waiting forever on locks '
      + 'the dead thread held or working on state it left half-updated. capejail adds no explicit arch: libseccomp adds the '
      + 'native x86_64 and kills calls from any other arch (foreignArchAction kill-process). Names are taken literally '
      + '(expandFamilies "none"). Generated by scripts/gen-targets.ts.',
    sources: [
      src(CJ_CODE_FILE, 'the allow list of capejail\'s source code (enableseccomp.c)'),
      src(CJ_DOC1_FILE, 'capejail SYSCALLS.md, allowed and blocked (markdown)'),
      src(CJ_DOC2_FILE, 'capejail SYSCALLS.md, blocked list (rendered page)'),
    ],
    arches: ['x86_64'],
    defaultArch: 'x86_64',
    defaultAction: 'kill-process',
    foreignArchAction: 'kill-process',
    expandFamilies: 'none',
    essentials: true,
    syscalls,
    deny: [...deny.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
  };
  const oneVersionOnly = [...blocked.keys()].sort()
    .filter((n) => doc1.blocked.has(n) !== doc2Blocked.has(n) && !doc1.allowed.has(n))
    .map((n) => ({ name: n, file: doc1.blocked.has(n) ? CJ_DOC1_FILE : CJ_DOC2_FILE }));
  return { target, oneVersionOnly, codeCount: code.length, disagreements, unknownDocNames: [...unknownDocNames].sort(), absentOnX86 };
}

// =============================================================================================
// 3. systemd groups

const SD_FILE = 'systemd-syscall-filter-sets.md';

/** Why a name systemd lists is not in our table (arches we do not cover). */
const SD_DROP_WHY: Record<string, string> = {
  riscv_flush_icache: 'riscv only',
  riscv_hwprobe: 'riscv only',
  s390_runtime_instr: 's390 only',
  s390_pci_mmio_read: 's390 only',
  s390_pci_mmio_write: 's390 only',
};

/**
 * systemd's @privileged also includes these sets; the seed page says so but leaves the list empty.
 * Taken from systemd's definition of the set (src/shared/seccomp-util.c).
 */
const SD_PRIVILEGED_INCLUDES = ['@chown', '@clock', '@module', '@raw-io', '@reboot', '@swap'];

interface GroupOut {
  description: string;
  syscalls: string[];
}

interface SystemdResult {
  file: { $schema: string; source: string; groups: Record<string, GroupOut> };
  dropped: { group: string; name: string; why: string }[];
  omitted: string[];
}

function buildSystemd(): SystemdResult {
  const lines = readData(SD_FILE).split('\n').map((l) => l.trim());
  interface Raw { desc: string[]; refs: string[]; names: string[]; inTable: boolean }
  const raw = new Map<string, Raw>();
  let cur: Raw | undefined;
  for (const line of lines) {
    if (/^@[a-z0-9][a-z0-9-]*$/.test(line)) {
      if (raw.has(line)) fail(`${SD_FILE}: duplicate set ${line}`);
      cur = { desc: [], refs: [], names: [], inTable: false };
      raw.set(line, cur);
      continue;
    }
    if (!cur || line === '') continue;
    if (line.startsWith('Syscall | Purpose')) {
      cur.inTable = true;
    } else if (/^-+\|/.test(line)) {
      // table rule
    } else if (cur.inTable) {
      const m = /^([a-z_][a-z0-9_]*) \|/.exec(line);
      if (!m) fail(`${SD_FILE}: odd table row ${JSON.stringify(line)}`);
      cur.names.push(m[1]!);
    } else if (/^- @[a-z0-9-]+$/.test(line)) {
      cur.refs.push(line.slice(2));
    } else if (/^Besides the syscalls below/.test(line)) {
      // introduces the "- @set" lines
    } else {
      cur.desc.push(line.replace(/^Description: /, ''));
    }
  }

  const dropped: SystemdResult['dropped'] = [];
  const omitted: string[] = [];
  const groups: Record<string, GroupOut> = {};
  for (const [name, g] of raw) {
    if (name === '@privileged') {
      if (g.refs.length) fail(`${SD_FILE}: @privileged now lists its sets; drop SD_PRIVILEGED_INCLUDES`);
      g.refs = [...SD_PRIVILEGED_INCLUDES];
    }
    if (g.names.length === 0 && g.refs.length === 0) {
      omitted.push(name);
      continue;
    }
    const kept: string[] = [];
    const droppedHere: string[] = [];
    for (const n of g.names) {
      if (kept.includes(n)) fail(`${SD_FILE}: ${name}: duplicate ${n}`);
      if (isKnownSyscall(n)) {
        kept.push(n);
      } else {
        const why = SD_DROP_WHY[n] ?? 'not a syscall on any arch sysgate supports';
        dropped.push({ group: name, name: n, why });
        droppedHere.push(`${n} (${why})`);
      }
    }
    const sentence = (x: string): string => (/[.!?]$/.test(x) ? x : `${x}.`);
    let desc = g.desc.map(sentence).join(' ');
    if (name === '@privileged') {
      desc = desc.replace(/\s*It includes also other filter sets:\.?$/, '')
        + ` Also includes ${SD_PRIVILEGED_INCLUDES.join(', ')} (systemd's definition of the set; the source page leaves the list empty).`;
    }
    if (g.refs.length && name !== '@privileged') desc += ` Also includes ${g.refs.join(', ')}.`;
    if (droppedHere.length) {
      desc += ` Dropped, not in sysgate's syscall table (${ARCH_NAMES.join(', ')}): ${droppedHere.join(', ')}.`;
    }
    groups[name] = { description: desc, syscalls: [...g.refs, ...kept] };
  }
  for (const [name, g] of Object.entries(groups)) {
    for (const r of g.syscalls.filter((s) => s.startsWith('@'))) {
      if (!groups[r]) fail(`${SD_FILE}: ${name} includes unknown set ${r}`);
    }
  }
  const source = 'systemd\'s syscall filter sets (SystemCallFilter=, systemd.exec(5); `systemd-analyze syscall-filter`), '
    + `as collected in scripts/data/${SD_FILE}. Nested sets stay @name references. Names not in sysgate's syscall table `
    + 'are dropped and listed in their set\'s description.'
    + (omitted.length ? ` Omitted, no members listed: ${omitted.join(', ')} (@known means every syscall the kernel knows).` : '')
    + ' Generated by scripts/gen-targets.ts.';
  return { file: { $schema: '../../schemas/groups.schema.json', source, groups }, dropped, omitted };
}

// =============================================================================================
// 4. docs

function codesafeDoc(t: Target, rows: VendorRow[]): string {
  const byVersion = CS_VERSIONS.map((v) => `${rows.filter((r) => r.since === v).length} since v${v}`).join(', ');
  const armAbsent = t.syscalls.filter((s) => syscallNumber('arm', s.name) === null);
  const t64 = t.syscalls.filter((s) => FAMILIES.some((f) => f.kind === 'time64' && f.members[0] === s.name));
  const listed = new Set(t.syscalls.map((s) => s.name));
  const deniedNames = new Set((t.deny ?? []).map((d) => d.name));
  const armTwins = [...new Set(t.syscalls.flatMap((s) => twinClosure(s.name).map((x) => x.name)))]
    .filter((n) => !listed.has(n) && !deniedNames.has(n) && syscallNumber('arm', n) !== null).sort();
  const lines = [
    '# Target `codesafe5`: Entrust nShield CodeSafe 5',
    '',
    '<!-- Generated by scripts/gen-targets.ts from scripts/data/. Do not edit: re-run `npm run gen:targets`. -->',
    '',
    '## Sources',
    '',
    `- \`scripts/data/${CS_FILE}\`: Entrust's "System calls allowed by CodeSafe 5 applications" page, copied verbatim.`,
    `- ${rows.length} allowed calls in vendor-table order: ${byVersion}. Each entry keeps the vendor's category and the`,
    '  firmware version that first allowed it (`since`).',
    '',
    '## The vendor\'s ABI: 64-bit big-endian PowerPC',
    '',
    'The numbers in the vendor table are the **64-bit big-endian PowerPC (ppc64)** syscall ABI\'s: all 170 (number,',
    'name) pairs equal the ppc64 column of the table (poll 167, rt_sigreturn 172, futex 221, openat 286, newfstatat 291,',
    'socket 326, accept4 344, statx 383), with no exception. The generator checks every one and fails on a mismatch.',
    'Against 32-bit ppc they agree too, but for 291, which 32-bit ppc names `fstatat64`. The list has none of the calls',
    'only a 32-bit libc makes (`mmap2`, `fstat64`, `fcntl64`, `truncate64`, any `*_time64`), and it does have `_llseek`',
    'and `statfs64`/`fstatfs64`, which 64-bit PowerPC glibc and musl really use for `lseek` and `statfs`. Entrust\'s host',
    'driver names a NXP T1022 (e5500 cores, 64-bit) in the Solo XC, whose hardware the nShield 5s resembles. So `ppc64`',
    'is the device\'s own ABI: on it every listed name resolves to the vendor\'s number and nothing needs replacing.',
    '',
    'The target is a list of **names of operations**: numbers come from the per-arch tables, and the vendor number is',
    'kept as `documented.ppc64`, a consistency check only. The other arches are translations: `arm` (the default arch,',
    'as the project brief says "ARM CodeSafe 5"), 32-bit `ppc`, `aarch64`, and `x86_64` for running a program under the',
    'device\'s rules on a development machine. A dynamically linked 32-bit ppc program cannot even start on the device',
    '(its loader maps libraries with `mmap2`, which the list lacks): build for ppc64.',
    '',
    '## Operations, not spellings: the other arches',
    '',
    'A name on the vendor list means an operation of the 64-bit PowerPC ABI. The target sets `abi: "ppc64"` and',
    '`expandFamilies: "operations"`: on ppc64 the names are taken literally; on every other arch each allowed operation',
    'is also allowed under the names a libc uses for it there, and nothing more (src/syscalls/families.ts: the twin and',
    'time64 families, followed transitively), each with its provenance in `sysgate syscalls` and `explain`. On 32-bit',
    `ARM at 13.7 that adds ${armTwins.map((n) => `\`${n}\``).join(', ')}.`,
    'Without it, every real ARM program that calls `fcntl()` (glibc enters `fcntl64`), `getuid()` (`getuid32`) or',
    '`posix_fadvise()` (`arm_fadvise64_64`) would be denied. Argument conditions carry over to a twin (same',
    'arguments), never to another call. A user target can still ask for names only (`expandFamilies: "none"`).',
    '',
    `32-bit ARM EABI has no ${armAbsent.map((s) => `\`${s.name}\``).join(', ')}: there the resolver allows the`,
    'family members the arch has instead:',
    '',
    ...armAbsent.map((s) => {
      const repl = [...new Set(replacementsOf(s.name).map((x) => x.name))].filter((n) => syscallNumber('arm', n) !== null);
      return `- \`${s.name}\` -> ${repl.map((n) => `\`${n}\``).join(', ')}`;
    }),
    '',
    '`essentials: true` adds what every program on the arch needs before `main` and the vendor list leaves out:',
    '`set_tls` on ARM, `arch_prctl` on x86_64 (ppc needs neither).',
    '',
    'The vendor list has no 64-bit-time calls: they are the same operations as their 32-bit-time twins',
    `(${t64.map((s) => `\`${s.name}\``).join(', ')}), so on 32-bit arches the \`_time64\` twins are allowed with them.`,
    '32-bit glibc >= 2.34 tries `clock_gettime64`, `clock_getres_time64` and `recvmmsg_time64` first; `futex`, `ppoll`,',
    '`pselect6`, `clock_nanosleep`, `utimensat` and `rt_sigtimedwait` call the old syscall unless a time is past 2038.',
    '',
    '## Conditions and limits',
    '',
    '- `nice` (reduce priority only): allowed when the increment is >= 0, checked in the filter on the low 32 bits',
    '  (`masked-eq`, mask `0x80000000`, value 0). A negative increment gets the default action.',
    '- `setpriority` (reduce priority only): "lower than the current value" needs the process\'s current nice value,',
    '  which a filter cannot read. Documented as a `limit`, enforced by the device. The kernel itself refuses an',
    '  unprivileged raise past RLIMIT_NICE (EACCES).',
    '- `setrlimit`, `prlimit64` (reduce limits only): the new limits are behind a pointer, and the current ones are',
    '  process state: a `limit`, enforced by the device. `prlimit64` with `new_limit == NULL` only reads limits.',
    '',
    '## Default actions',
    '',
    '| Firmware | Action | Why |',
    '|---|---|---|',
    '| < 13.7 | `kill-process` | The application is ended: the 13.5.1 and 13.6.5 vendor pages say it "will be immediately terminated by a safeguarding process" (the current page: "the SIGSYS signal was raised"). No SIGSYS handler can rescue the call. |',
    '| >= 13.7 | `errno:ENOSYS` | A denied call returns -1 with errno 38, so libraries fall back to an allowed call. |',
    '',
    'A call from another arch (`foreignArchAction`) kills the process.',
    '',
    '## Firmware history the current page does not show',
    '',
    'Entrust\'s older pages (security-world-docs v13.5.1 `codesafe5/whitelist.html`, v13.6.5 `codesafe5/allowlist.html`)',
    'could be read only in part (entries past 331 are unknown), and disagree with the current page. sysgate follows the',
    'current page and records each disagreement in `history`, shown by `sysgate explain NAME` and `sysgate compat`:',
    '',
    ...(t.history ?? []).map((h) => `- \`${h.name}\`: ${h.note}`),
    '',
    '## Denied calls worth knowing',
    '',
    '`deny` records calls the vendor leaves out that a CodeSafe developer meets, with a fix where there is one:',
    '',
    ...t.deny.map((d) => `- \`${d.name}\`: ${d.reason}${d.fix ? ` Fix: ${d.fix}` : ''}`),
    '',
  ];
  return lines.join('\n');
}

function capejailDoc(r: CapejailResult): string {
  const t = r.target;
  const lines = [
    '# Target `enclave-x86_64`: capejail (AWS Nitro enclaves)',
    '',
    '<!-- Generated by scripts/gen-targets.ts from scripts/data/. Do not edit: re-run `npm run gen:targets`. -->',
    '',
    '## Sources',
    '',
    `- \`scripts/data/${CJ_CODE_FILE}\`: the ${r.codeCount} names capejail's source code allows (the authority for`,
    '  what the jail does).',
    `- \`scripts/data/${CJ_DOC1_FILE}\` and \`scripts/data/${CJ_DOC2_FILE}\`: capejail's SYSCALLS.md (two versions),`,
    '  the reasons. A documented reason becomes the entry\'s `note`; "See X" is resolved to X\'s reason.',
    '',
    `x86_64 only, unversioned. Names are taken literally (\`expandFamilies: "none"\`); \`essentials\` adds`,
    '`arch_prctl`, which the list already has.',
    ...(r.absentOnX86.length
      ? ['', `${r.absentOnX86.map((n) => `\`${n}\``).join(', ')}: in capejail's list but not a syscall on x86_64; kept, resolves to nothing.`]
      : []),
    '',
    '## Default action: kill-process',
    '',
    'The jail is meant to kill the process that makes a blocked call. capejail\'s code passes libseccomp\'s',
    '`SCMP_ACT_KILL`, an alias of `SCMP_ACT_KILL_THREAD`; sysgate chooses `kill-process` on purpose: killing one',
    'thread leaves the others running, possibly blocked forever on locks the dead thread held, or working on state it',
    'left half-updated. A call from another arch is killed too: capejail adds no explicit arch, so libseccomp adds the',
    'native one and kills any other (`foreignArchAction: "kill-process"`).',
    '',
    '## Docs and code disagree: fail closed',
    '',
    'Every name the documentation puts under Blocked but the code allows, or under Allowed but the code leaves out, is',
    'left out of `syscalls` and put in `deny` with the disagreement recorded:',
    '',
    '| Name | Disagreement | Documentation |',
    '|---|---|---|',
    ...r.disagreements.map((d) => `| \`${d.name}\` | ${d.kind} | ${d.detail.replace(/\|/g, '\\|')} |`),
    '',
    `So ${t.syscalls.length} of the ${r.codeCount} names are allowed.`,
    '',
    'The two documentation versions also differ from each other. Blocked in one version and not mentioned in the other:',
    ...[CJ_DOC1_FILE, CJ_DOC2_FILE].map((f) => `- only in \`${f}\`: ${r.oneVersionOnly.filter((x) => x.file === f).map((x) => `\`${x.name}\``).join(', ') || 'none'}`),
    ...(r.unknownDocNames.length
      ? ['', `Not in sysgate's syscall table, so not in \`deny\` (ia64-only or not a Linux syscall at all):`,
        `${r.unknownDocNames.map((n) => `\`${n}\``).join(', ')}. They are denied by the default action anyway.`]
      : []),
    '',
    '## Documented blocked',
    '',
    `The other documented-blocked names are in \`deny\` with the documentation's reason (${t.deny.length} entries in all).`,
    '',
  ];
  return lines.join('\n');
}

// =============================================================================================
// Validation and output

function validateAll(outputs: { path: string; schema: string; data: unknown }[]): void {
  // strictRequired off: an `if: {required: [...]}` discriminator names properties its own subschema
  // does not define, which is valid JSON Schema. Every other strict check stays on.
  const ajv = new Ajv.default({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  for (const o of outputs) {
    let v = compiled.get(o.schema);
    if (!v) {
      v = ajv.compile(JSON.parse(readFileSync(join(root, o.schema), 'utf8')) as object);
      compiled.set(o.schema, v);
    }
    if (!v(o.data)) fail(`${o.path} is not valid against ${o.schema}:\n${ajv.errorsText(v.errors, { separator: '\n' })}`);
  }
}

function checkTargetNames(t: Target): void {
  const seen = new Set<string>();
  for (const s of t.syscalls) {
    assertKnown(s.name, `${t.id} syscalls`);
    if (seen.has(s.name)) fail(`${t.id}: duplicate ${s.name}`);
    seen.add(s.name);
  }
  const denied = new Set<string>();
  for (const d of t.deny) {
    assertKnown(d.name, `${t.id} deny`);
    if (seen.has(d.name)) fail(`${t.id}: ${d.name} is both allowed and denied`);
    if (denied.has(d.name)) fail(`${t.id}: duplicate deny ${d.name}`);
    denied.add(d.name);
  }
}

function main(): void {
  const cs = buildCodesafe();
  const cj = buildCapejail();
  const sd = buildSystemd();
  checkTargetNames(cs.target);
  checkTargetNames(cj.target);
  for (const g of Object.values(sd.file.groups)) for (const n of g.syscalls) if (!n.startsWith('@')) assertKnown(n, 'systemd groups');

  const json = (x: unknown): string => `${JSON.stringify(x, null, 2)}\n`;
  const outputs = [
    { path: 'targets/codesafe5.json', schema: 'schemas/target.schema.json', data: cs.target as unknown, text: json(cs.target) },
    { path: 'targets/enclave-x86_64.json', schema: 'schemas/target.schema.json', data: cj.target as unknown, text: json(cj.target) },
    { path: 'targets/groups/systemd.json', schema: 'schemas/groups.schema.json', data: sd.file as unknown, text: json(sd.file) },
  ];
  // Validate what will be written, as re-read from the bytes.
  validateAll(outputs.map((o) => ({ ...o, data: JSON.parse(o.text) as unknown })));

  const files: [string, string][] = [
    ...outputs.map((o): [string, string] => [o.path, o.text]),
    ['docs/targets/codesafe5.md', codesafeDoc(cs.target, cs.rows)],
    ['docs/targets/enclave-x86_64.md', capejailDoc(cj)],
  ];
  for (const [rel, text] of files) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    console.log(`wrote ${relative(root, abs)}`);
  }
  const v = (x: string): number => cs.rows.filter((r) => r.since === x).length;
  console.log(`codesafe5: ${cs.target.syscalls.length} syscalls (13.4: ${v('13.4')}, 13.5: ${v('13.5')}, 13.7: ${v('13.7')}), `
    + `${cs.target.deny.length} deny`);
  console.log(`enclave-x86_64: ${cj.target.syscalls.length} of ${cj.codeCount} code names allowed, ${cj.target.deny.length} deny; `
    + `disagreements: ${cj.disagreements.map((d) => `${d.name} (${d.kind})`).join(', ')}`);
  if (cj.unknownDocNames.length) console.log(`enclave-x86_64: documented names not in the table: ${cj.unknownDocNames.join(', ')}`);
  console.log(`systemd: ${Object.keys(sd.file.groups).length} groups; omitted ${sd.omitted.join(', ') || 'none'}; dropped `
    + (sd.dropped.map((d) => `${d.name} from ${d.group} (${d.why})`).join(', ') || 'none'));
}

main();
