/**
 * Syscall families: one operation under different names on different arches or ABIs.
 * Reviewed data: each family says why its members belong together.
 *
 * - twin: the same call; an arch has one or the other (or both, for old and new ABIs).
 * - time64: the 32-bit arches' 64-bit time_t variant. glibc >= 2.34 tries clock_gettime64
 *   first and falls back on ENOSYS; the others it uses only for times past 2038.
 * - multiplexer: the first member dispatches to the others (socketcall, ipc). Where the
 *   multiplexer is absent its sub-calls are the way to do the same.
 * - legacy: the first member is an old call that some arches dropped; libc implements it with
 *   the others there.
 */
export type FamilyKind = 'twin' | 'time64' | 'multiplexer' | 'legacy';

export interface Family {
  id: string;
  kind: FamilyKind;
  members: readonly string[];
  why: string;
}

const twin = (why: string, ...members: string[]): Family => ({ id: members[0]!, kind: 'twin', members, why });
const t64 = (old: string, neu: string): Family => ({
  id: old,
  kind: 'time64',
  members: [old, neu],
  why:
    old === 'clock_gettime'
      ? `${neu} is ${old} with 64-bit time_t on 32-bit arches; glibc >= 2.34 tries it first and falls back to ${old} on ENOSYS`
      : `${neu} is ${old} with 64-bit time_t on 32-bit arches; glibc >= 2.34 calls it only for times past 2038 (ENOSYS there becomes EOVERFLOW)`,
});
const id32 = (name: string): Family => ({
  id: name,
  kind: 'twin',
  members: [name, `${name}32`],
  why: `${name}32 is ${name} with 32-bit uid/gid on arches whose original call used 16-bit ids`,
});

export const FAMILIES: readonly Family[] = [
  twin('mmap2 takes the offset in pages; 32-bit ARM EABI has only mmap2', 'mmap', 'mmap2'),
  twin('stat64 is stat with 64-bit sizes on 32-bit arches', 'stat', 'stat64'),
  twin('fstat64 is fstat with 64-bit sizes on 32-bit arches', 'fstat', 'fstat64'),
  twin('lstat64 is lstat with 64-bit sizes on 32-bit arches', 'lstat', 'lstat64'),
  twin('the same call at the same slot: newfstatat on 64-bit arches, fstatat64 on 32-bit ones', 'newfstatat', 'fstatat64'),
  twin('fcntl64 is fcntl with 64-bit file locks on 32-bit arches', 'fcntl', 'fcntl64'),
  twin('ugetrlimit is getrlimit without the old unsigned-long clamp', 'getrlimit', 'ugetrlimit'),
  twin('_newselect is select with the argument-in-registers ABI on 32-bit arches', 'select', '_newselect'),
  twin('statfs64 is statfs with 64-bit counts on 32-bit arches', 'statfs', 'statfs64'),
  twin('fstatfs64 is fstatfs with 64-bit counts on 32-bit arches', 'fstatfs', 'fstatfs64'),
  twin('truncate64 is truncate with a 64-bit length on 32-bit arches', 'truncate', 'truncate64'),
  twin('ftruncate64 is ftruncate with a 64-bit length on 32-bit arches', 'ftruncate', 'ftruncate64'),
  twin('sendfile64 is sendfile with a 64-bit offset on 32-bit arches', 'sendfile', 'sendfile64'),
  twin('_llseek is lseek with a 64-bit offset on 32-bit arches', 'lseek', '_llseek'),
  twin('fadvise64_64 is fadvise64 with 64-bit offsets on 32-bit arches', 'fadvise64', 'fadvise64_64'),
  twin("arm_fadvise64_64 is ARM EABI's fadvise64_64 with reordered arguments", 'fadvise64_64', 'arm_fadvise64_64'),
  // ARM's 341 is the kernel's sync_file_range2 (asm/unistd.h defines __NR_sync_file_range2 as
  // __NR_arm_sync_file_range); libseccomp's table, ours, names it only arm_sync_file_range.
  twin(
    "sync_file_range2 is sync_file_range with reordered arguments on ARM and PowerPC; ARM's (341) is named arm_sync_file_range",
    'sync_file_range',
    'sync_file_range2',
    'arm_sync_file_range',
  ),
  ...[
    'getuid',
    'getgid',
    'geteuid',
    'getegid',
    'setuid',
    'setgid',
    'setreuid',
    'setregid',
    'setresuid',
    'getresuid',
    'setresgid',
    'getresgid',
    'getgroups',
    'setgroups',
    'chown',
    'lchown',
    'fchown',
    'setfsuid',
    'setfsgid',
  ].map(id32),
  ...(
    [
      ['clock_gettime', 'clock_gettime64'],
      ['clock_settime', 'clock_settime64'],
      ['clock_adjtime', 'clock_adjtime64'],
      ['clock_getres', 'clock_getres_time64'],
      ['clock_nanosleep', 'clock_nanosleep_time64'],
      ['timer_gettime', 'timer_gettime64'],
      ['timer_settime', 'timer_settime64'],
      ['timerfd_gettime', 'timerfd_gettime64'],
      ['timerfd_settime', 'timerfd_settime64'],
      ['utimensat', 'utimensat_time64'],
      ['pselect6', 'pselect6_time64'],
      ['ppoll', 'ppoll_time64'],
      ['io_pgetevents', 'io_pgetevents_time64'],
      ['recvmmsg', 'recvmmsg_time64'],
      ['mq_timedsend', 'mq_timedsend_time64'],
      ['mq_timedreceive', 'mq_timedreceive_time64'],
      ['semtimedop', 'semtimedop_time64'],
      ['rt_sigtimedwait', 'rt_sigtimedwait_time64'],
      ['futex', 'futex_time64'],
      ['sched_rr_get_interval', 'sched_rr_get_interval_time64'],
    ] as const
  ).map(([o, n]) => t64(o, n)),
  {
    id: 'socketcall',
    kind: 'multiplexer',
    members: [
      'socketcall',
      'socket',
      'bind',
      'connect',
      'listen',
      'accept',
      'getsockname',
      'getpeername',
      'socketpair',
      'send',
      'sendto',
      'recv',
      'recvfrom',
      'shutdown',
      'setsockopt',
      'getsockopt',
      'sendmsg',
      'recvmsg',
      'accept4',
      'recvmmsg',
      'sendmmsg',
    ],
    why: 'socketcall(call, args) dispatches to the socket calls on i386 and PowerPC; other arches have only the direct calls',
  },
  {
    id: 'ipc',
    kind: 'multiplexer',
    members: ['ipc', 'semop', 'semget', 'semctl', 'semtimedop', 'msgsnd', 'msgrcv', 'msgget', 'msgctl', 'shmat', 'shmdt', 'shmget', 'shmctl'],
    why: 'ipc(call, ...) dispatches to the System V IPC calls on i386 and PowerPC; other arches have only the direct calls',
  },
  { id: 'waitpid', kind: 'legacy', members: ['waitpid', 'wait4'], why: 'libc implements waitpid() with wait4 where waitpid is absent' },
  { id: 'send', kind: 'legacy', members: ['send', 'sendto'], why: 'send(fd, buf, len, flags) is sendto(fd, buf, len, flags, NULL, 0)' },
  { id: 'recv', kind: 'legacy', members: ['recv', 'recvfrom'], why: 'recv(fd, buf, len, flags) is recvfrom(fd, buf, len, flags, NULL, NULL)' },
  { id: 'time', kind: 'legacy', members: ['time', 'clock_gettime'], why: 'libc implements time() with clock_gettime(CLOCK_REALTIME) where time is absent' },
  { id: 'alarm', kind: 'legacy', members: ['alarm', 'setitimer'], why: 'libc implements alarm() with setitimer(ITIMER_REAL) where alarm is absent' },
  { id: 'utime', kind: 'legacy', members: ['utime', 'utimensat'], why: 'libc implements utime() with utimensat where utime is absent' },
  { id: 'utimes', kind: 'legacy', members: ['utimes', 'utimensat'], why: 'libc implements utimes() with utimensat where utimes is absent' },
  { id: 'pause', kind: 'legacy', members: ['pause', 'rt_sigsuspend'], why: 'libc implements pause() with rt_sigsuspend where pause is absent' },
  { id: 'getdents', kind: 'legacy', members: ['getdents', 'getdents64'], why: 'arches without getdents list directories with getdents64' },
  { id: 'fork', kind: 'legacy', members: ['fork', 'clone'], why: 'libc implements fork() with clone(SIGCHLD) where fork is absent' },
  { id: 'vfork', kind: 'legacy', members: ['vfork', 'clone'], why: 'libc implements vfork() with clone(CLONE_VM|CLONE_VFORK) where vfork is absent' },
  { id: 'open', kind: 'legacy', members: ['open', 'openat'], why: 'arches without open (aarch64) open files with openat(AT_FDCWD, ...)' },
  { id: 'creat', kind: 'legacy', members: ['creat', 'openat'], why: 'arches without creat use openat(O_CREAT|O_WRONLY|O_TRUNC)' },
  { id: 'access', kind: 'legacy', members: ['access', 'faccessat'], why: 'arches without access use faccessat(AT_FDCWD, ...)' },
  { id: 'mkdir', kind: 'legacy', members: ['mkdir', 'mkdirat'], why: 'arches without mkdir use mkdirat' },
  { id: 'rmdir', kind: 'legacy', members: ['rmdir', 'unlinkat'], why: 'arches without rmdir use unlinkat(AT_REMOVEDIR)' },
  { id: 'unlink', kind: 'legacy', members: ['unlink', 'unlinkat'], why: 'arches without unlink use unlinkat' },
  { id: 'rename', kind: 'legacy', members: ['rename', 'renameat', 'renameat2'], why: 'arches without rename use renameat or renameat2' },
  { id: 'link', kind: 'legacy', members: ['link', 'linkat'], why: 'arches without link use linkat' },
  { id: 'symlink', kind: 'legacy', members: ['symlink', 'symlinkat'], why: 'arches without symlink use symlinkat' },
  { id: 'readlink', kind: 'legacy', members: ['readlink', 'readlinkat'], why: 'arches without readlink use readlinkat' },
  { id: 'chmod', kind: 'legacy', members: ['chmod', 'fchmodat'], why: 'arches without chmod use fchmodat' },
  { id: 'chown-at', kind: 'legacy', members: ['chown', 'fchownat'], why: 'arches without chown use fchownat' },
  { id: 'lchown-at', kind: 'legacy', members: ['lchown', 'fchownat'], why: 'arches without lchown use fchownat(AT_SYMLINK_NOFOLLOW)' },
  { id: 'poll', kind: 'legacy', members: ['poll', 'ppoll'], why: 'arches without poll use ppoll' },
  { id: 'dup2-legacy', kind: 'legacy', members: ['dup2', 'dup3'], why: 'arches without dup2 use dup3 (dup2(fd, fd) checks the fd with fcntl)' },
  { id: 'stat-at', kind: 'legacy', members: ['stat', 'newfstatat', 'fstatat64'], why: 'arches without stat use fstatat' },
  { id: 'lstat-at', kind: 'legacy', members: ['lstat', 'newfstatat', 'fstatat64'], why: 'arches without lstat use fstatat(AT_SYMLINK_NOFOLLOW)' },
  { id: 'getpgrp', kind: 'legacy', members: ['getpgrp', 'getpgid'], why: 'libc implements getpgrp() with getpgid(0) where getpgrp is absent' },
  {
    id: 'nice',
    kind: 'legacy',
    members: ['nice', 'getpriority', 'setpriority'],
    why: 'libc implements nice() with getpriority/setpriority where nice is absent',
  },
  { id: 'signalfd-legacy', kind: 'legacy', members: ['signalfd', 'signalfd4'], why: 'arches without signalfd use signalfd4' },
  { id: 'inotify-legacy', kind: 'legacy', members: ['inotify_init', 'inotify_init1'], why: 'arches without inotify_init use inotify_init1' },
  { id: 'eventfd-legacy', kind: 'legacy', members: ['eventfd', 'eventfd2'], why: 'arches without eventfd use eventfd2' },
  { id: 'epoll-legacy', kind: 'legacy', members: ['epoll_create', 'epoll_create1'], why: 'arches without epoll_create use epoll_create1' },
  { id: 'epoll-wait-legacy', kind: 'legacy', members: ['epoll_wait', 'epoll_pwait'], why: 'arches without epoll_wait use epoll_pwait' },
  { id: 'pipe-legacy', kind: 'legacy', members: ['pipe', 'pipe2'], why: 'arches without pipe use pipe2' },
];

const byMember = new Map<string, Family[]>();
for (const f of FAMILIES) {
  for (const m of f.members) {
    const list = byMember.get(m) ?? [];
    list.push(f);
    byMember.set(m, list);
  }
}

/** Families a name belongs to. */
export function familiesOf(name: string): readonly Family[] {
  return byMember.get(name) ?? [];
}

/** Names related to `name` by a symmetric family (twin, time64): the same call under another name. */
export function twinsOf(name: string): { name: string; family: Family }[] {
  const out: { name: string; family: Family }[] = [];
  for (const f of familiesOf(name)) {
    if (f.kind !== 'twin' && f.kind !== 'time64') continue;
    for (const m of f.members) if (m !== name) out.push({ name: m, family: f });
  }
  return out;
}

/**
 * Every name reached from `name` through twin and time64 families, transitively (fadvise64 ->
 * fadvise64_64 -> arm_fadvise64_64), each with the family that led to it; `name` itself excluded.
 */
export function twinClosure(name: string): { name: string; family: Family }[] {
  const out: { name: string; family: Family }[] = [];
  const seen = new Set([name]);
  for (let i = -1; i < out.length; i++) {
    const from = i < 0 ? name : out[i]!.name;
    for (const t of twinsOf(from)) {
      if (seen.has(t.name)) continue;
      seen.add(t.name);
      out.push(t);
    }
  }
  return out;
}

/**
 * What stands in for `name` where it is absent: its twins, and if it is a multiplexer or a
 * legacy call, the calls libc uses instead. The caller filters by what the arch has.
 */
export function replacementsOf(name: string): { name: string; family: Family }[] {
  const out: { name: string; family: Family }[] = [];
  for (const f of familiesOf(name)) {
    const directional = f.kind === 'multiplexer' || f.kind === 'legacy';
    if (directional && f.members[0] !== name) continue;
    for (const m of f.members) if (m !== name) out.push({ name: m, family: f });
  }
  return out;
}
