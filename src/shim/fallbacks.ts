/**
 * The shim's data: for each call a target may deny, which libc symbols reach it, which older
 * calls can stand in for it and which flags the stand-in must emulate. The generator
 * (./index.ts, planShim) reads only this table and the policy; the C for each entry lives in
 * templates/shim/<template>.c.tmpl, one `core <variant>` section per variant id below.
 */
import type { Libc } from '../libc/index.ts';

/** A flag of the new call that the old call lacks, and how the shim sets it afterwards. */
export interface FlagEmulation {
  flag: string;
  via: string;
}

/** One way to implement an entry: the calls it makes (all must be allowed). */
export interface FallbackVariant {
  /** Section name in the template (`core <id>`); by convention the main call it makes. */
  id: string;
  /** Every syscall the variant may make. */
  calls: string[];
  flags: FlagEmulation[];
  /** What the variant cannot emulate, and what the caller gets instead. */
  limits?: string;
  /**
   * Only where the plain id calls carry full ids (ArchInfo.uid16 false): on 32-bit ARM the same
   * names (getuid, ...) return 16-bit ids. Absent: wherever the calls exist.
   */
  fullIds?: true;
  /**
   * The core's {{placeholders}} that name a call, each filled with that call's number macro
   * (SG_NR_x): where the calls a core makes differ by arch (the stat call, the id calls), its
   * C text stays one and the calls the plan checked are the calls it makes.
   */
  callSlots?: Readonly<Record<string, string>>;
  /**
   * The core's {{placeholders}} that name the buffer a stat call writes, each filled with the C
   * type of the kernel struct that call writes on the arch (src/shim/kstat.ts).
   */
  statSlots?: Readonly<Record<string, string>>;
}

/** What one C library's implementation enters, for the releases `since` (incl.) to `before` (excl.). */
export interface LibcView {
  calls: readonly string[];
  since?: string;
  before?: string;
}

export interface ShimSymbol {
  /** The libc symbol the shim defines (interposes). */
  name: string;
  /**
   * The shim's view of the C libraries: per libc, the syscalls its own implementation of the
   * symbol enters first (each view for the releases it names), the first that exists on the
   * arch being the one used (glibc's `#ifdef __NR_x` pattern). The shim defines the symbol when
   * that call is denied. A libc without a key has no entry in src/libc for the symbol (musl has
   * no arc4random); with no key at all the symbol is taken to enter `denied`.
   * test/libc-views.test.ts holds this against src/libc per arch and libc.
   */
  libcCalls: Partial<Record<Libc, readonly LibcView[]>>;
  /** C preprocessor condition under which the symbol is defined (e.g. the libc has it). */
  guard?: string;
  /** Only on 32-bit arches (glibc's 64-bit time_t entry points). */
  only32?: boolean;
  note?: string;
}

export interface FallbackEntry {
  /** Identifier, and the core's name in the reports. */
  id: string;
  /** The call the entry stands in for. */
  denied: string;
  /** templates/shim/<template>.c.tmpl */
  template: string;
  symbols: ShimSymbol[];
  /**
   * Tried in order; the first whose calls are all allowed at the firmware is emitted. None
   * allowed (or none listed): the core returns -ENOSYS without entering the kernel. Empty for
   * calls with no equivalent: the symbols then fail with ENOSYS directly (no core).
   */
  variants: FallbackVariant[];
  /** Syscall numbers that syscall() (and the SIGSYS handler) send to this core when denied. */
  routes: string[];
  notes: string;
}

const CLOEXEC: FlagEmulation = { flag: 'O_CLOEXEC', via: 'fcntl(fd, F_SETFD, FD_CLOEXEC)' };
const NONBLOCK: FlagEmulation = { flag: 'O_NONBLOCK', via: 'fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)' };

/** A view that holds for every release the knowledge base covers. */
const all = (...calls: string[]): LibcView[] => [{ calls }];

const direct = (call: string): FallbackVariant => ({ id: call, calls: [call], flags: [] });

/** The id calls of faccessat's fstatat fallback (32-bit ARM: their *32 forms). */
const FA_IDS = ['getuid', 'geteuid', 'getgid', 'getegid', 'getgroups'];
const FA_FLAGS: FlagEmulation[] = [
  { flag: 'AT_EACCESS', via: 'the old call when real and effective ids are equal, else fstatat + the mode bits against the effective ids' },
  { flag: 'AT_SYMLINK_NOFOLLOW', via: 'fstatat(AT_SYMLINK_NOFOLLOW) + the mode bits against the real ids' },
];
const FA_LIMITS =
  "answered from fstatat: ACLs, capabilities other than root's, read-only mounts and LSMs are not seen (as glibc's fallback); AT_EMPTY_PATH: EINVAL (as glibc); more than 256 supplementary groups: ENOSYS";

/**
 * faccessat's fstatat core with the arch's fstatat twin (`stat`) and the id calls that return
 * full ids there (`idSuffix` '32': the *32 calls). The core's C names neither: they fill its slots.
 */
function faFstatat(stat: 'newfstatat' | 'fstatat64', idSuffix: '' | '32', fullIds?: true): FallbackVariant {
  const ids = FA_IDS.map((n) => [n, `${n}${idSuffix}`] as const);
  return {
    id: 'fstatat',
    calls: ['faccessat', stat, ...ids.map(([, call]) => call)],
    flags: FA_FLAGS,
    limits: FA_LIMITS,
    ...(fullIds ? { fullIds } : {}),
    callSlots: { fstatat: stat, ...Object.fromEntries(ids) },
    statSlots: { fstatat_buf: stat },
  };
}

/** Calls with no equivalent, and which libc wrappers src/libc knows enter them. */
const UNAVAILABLE_VIEWS = {
  memfd_create: { glibc: all('memfd_create'), musl: all('memfd_create') },
  timerfd_create: { glibc: all('timerfd_create'), musl: all('timerfd_create') },
  pidfd_open: { glibc: [{ calls: ['pidfd_open'], since: '2.36' }] },
  close_range: { glibc: all('close_range') },
  copy_file_range: { glibc: all('copy_file_range'), musl: all('copy_file_range') },
} as const satisfies Record<string, ShimSymbol['libcCalls']>;

export const FALLBACKS: readonly FallbackEntry[] = [
  {
    id: 'getrandom',
    denied: 'getrandom',
    template: 'random',
    symbols: [
      { name: 'getrandom', libcCalls: { glibc: all('getrandom'), musl: all('getrandom') } },
      { name: 'getentropy', libcCalls: { glibc: all('getrandom'), musl: all('getrandom') }, note: 'at most 256 bytes (EIO past that), all or nothing' },
      {
        name: 'arc4random_buf',
        libcCalls: { glibc: [{ calls: ['getrandom'], since: '2.36' }] },
        guard: 'SG_LIBC_HAS_ARC4RANDOM',
        note: 'aborts without entropy',
      },
      { name: 'arc4random', libcCalls: { glibc: [{ calls: ['getrandom'], since: '2.36' }] }, guard: 'SG_LIBC_HAS_ARC4RANDOM' },
      { name: 'arc4random_uniform', libcCalls: { glibc: [{ calls: ['getrandom'], since: '2.36' }] }, guard: 'SG_LIBC_HAS_ARC4RANDOM' },
    ],
    variants: [
      {
        id: 'urandom',
        // fstat: the descriptor opened once is checked on every use (see random.c.tmpl)
        calls: ['openat', 'fstat', 'read', 'close'],
        flags: [
          { flag: 'GRND_NONBLOCK', via: '/dev/random opened with O_NONBLOCK (/dev/urandom never blocks)' },
          { flag: 'GRND_RANDOM', via: 'read /dev/random instead of /dev/urandom' },
        ],
        limits:
          'before the kernel pool is initialised /dev/urandom does not block where getrandom() would (or fail with EAGAIN under GRND_NONBLOCK); a /dev/urandom that is not a character device: EIO',
      },
    ],
    routes: ['getrandom'],
    notes: 'CodeSafe 5 never allows getrandom: applications read /dev/urandom (HSM-backed). EINTR and short reads handled as getrandom(2) documents.',
  },
  {
    id: 'pipe2',
    denied: 'pipe2',
    template: 'pipe2',
    symbols: [
      { name: 'pipe2', libcCalls: { glibc: all('pipe2'), musl: all('pipe2') } },
      {
        name: 'pipe',
        libcCalls: {
          glibc: [
            { calls: ['pipe', 'pipe2'], before: '2.35' },
            { calls: ['pipe2'], since: '2.35' },
          ],
          musl: all('pipe', 'pipe2'),
        },
      },
    ],
    variants: [direct('pipe2'), { id: 'pipe', calls: ['pipe', 'fcntl', 'close'], flags: [CLOEXEC, NONBLOCK], limits: 'O_DIRECT (packet mode): EINVAL' }],
    routes: ['pipe2', 'pipe'],
    notes: '',
  },
  {
    id: 'dup3',
    denied: 'dup3',
    template: 'dup3',
    symbols: [{ name: 'dup3', libcCalls: { glibc: all('dup3') } }],
    variants: [direct('dup3'), { id: 'dup2', calls: ['dup2', 'fcntl', 'close'], flags: [CLOEXEC] }],
    routes: ['dup3'],
    notes: 'oldfd == newfd is EINVAL, as dup3 says (dup2 would accept it).',
  },
  {
    id: 'accept4',
    denied: 'accept4',
    template: 'accept4',
    symbols: [{ name: 'accept4', libcCalls: { glibc: all('accept4'), musl: all('accept4') } }],
    variants: [
      direct('accept4'),
      {
        id: 'accept',
        calls: ['accept', 'fcntl', 'close'],
        flags: [
          { ...CLOEXEC, flag: 'SOCK_CLOEXEC' },
          { ...NONBLOCK, flag: 'SOCK_NONBLOCK' },
        ],
      },
    ],
    routes: ['accept4'],
    notes: '',
  },
  {
    id: 'eventfd',
    denied: 'eventfd2',
    template: 'eventfd',
    symbols: [{ name: 'eventfd', libcCalls: { glibc: all('eventfd2'), musl: all('eventfd2') } }],
    variants: [
      direct('eventfd2'),
      {
        id: 'eventfd',
        calls: ['eventfd', 'fcntl', 'close'],
        flags: [
          { ...CLOEXEC, flag: 'EFD_CLOEXEC' },
          { ...NONBLOCK, flag: 'EFD_NONBLOCK' },
        ],
        limits: 'EFD_SEMAPHORE: EINVAL',
      },
    ],
    routes: ['eventfd2', 'eventfd'],
    notes: '',
  },
  {
    id: 'epoll_create1',
    denied: 'epoll_create1',
    template: 'epoll_create1',
    symbols: [
      { name: 'epoll_create1', libcCalls: { glibc: all('epoll_create1'), musl: all('epoll_create1') } },
      { name: 'epoll_create', libcCalls: { glibc: all('epoll_create', 'epoll_create1'), musl: all('epoll_create1') } },
    ],
    variants: [direct('epoll_create1'), { id: 'epoll_create', calls: ['epoll_create', 'fcntl', 'close'], flags: [{ ...CLOEXEC, flag: 'EPOLL_CLOEXEC' }] }],
    routes: ['epoll_create1', 'epoll_create'],
    notes: 'Both directions: CodeSafe 13.5 allows epoll_create1 but not epoll_create.',
  },
  {
    id: 'inotify_init1',
    denied: 'inotify_init1',
    template: 'inotify_init1',
    symbols: [
      { name: 'inotify_init1', libcCalls: { glibc: all('inotify_init1'), musl: all('inotify_init1') } },
      { name: 'inotify_init', libcCalls: { glibc: all('inotify_init', 'inotify_init1'), musl: all('inotify_init1') } },
    ],
    variants: [
      direct('inotify_init1'),
      {
        id: 'inotify_init',
        calls: ['inotify_init', 'fcntl', 'close'],
        flags: [
          { ...CLOEXEC, flag: 'IN_CLOEXEC' },
          { ...NONBLOCK, flag: 'IN_NONBLOCK' },
        ],
      },
    ],
    routes: ['inotify_init1', 'inotify_init'],
    notes: '',
  },
  {
    id: 'signalfd',
    denied: 'signalfd4',
    template: 'signalfd',
    symbols: [{ name: 'signalfd', libcCalls: { glibc: all('signalfd4'), musl: all('signalfd4') } }],
    variants: [
      direct('signalfd4'),
      {
        id: 'signalfd',
        calls: ['signalfd', 'fcntl', 'close'],
        flags: [
          { ...CLOEXEC, flag: 'SFD_CLOEXEC' },
          { ...NONBLOCK, flag: 'SFD_NONBLOCK' },
        ],
      },
    ],
    routes: ['signalfd4', 'signalfd'],
    notes: 'Flags apply only when a new descriptor is made (fd == -1), as in signalfd4.',
  },
  {
    id: 'fcntl',
    denied: 'fcntl64',
    template: 'fcntl',
    symbols: [
      { name: 'fcntl', libcCalls: { glibc: all('fcntl64', 'fcntl'), musl: all('fcntl64', 'fcntl') } },
      { name: 'fcntl64', libcCalls: { glibc: all('fcntl64', 'fcntl'), musl: all('fcntl64', 'fcntl') } },
      {
        name: '__fcntl_time64',
        libcCalls: { glibc: all('fcntl64', 'fcntl') },
        guard: 'SG_GLIBC_TIME64',
        only32: true,
        note: 'glibc >= 2.34 with _TIME_BITS=64',
      },
    ],
    variants: [
      {
        id: 'fcntl',
        calls: ['fcntl'],
        flags: [],
        limits:
          'flock64 offsets beyond 2^31-1: EOVERFLOW; OFD locks (F_OFD_GETLK/SETLK/SETLKW): EINVAL, as a kernel without them (the old call refuses them on 32-bit kernels; no conversion exists)',
      },
    ],
    routes: ['fcntl64'],
    notes: '32-bit arches only (64-bit ones have no fcntl64): glibc enters fcntl64 for every fcntl().',
  },
  {
    id: 'faccessat',
    denied: 'faccessat2',
    template: 'faccessat',
    symbols: [{ name: 'faccessat', libcCalls: { glibc: all('faccessat2'), musl: all('faccessat2') } }],
    variants: [
      direct('faccessat2'),
      // glibc's own fallback: the old call where it answers the same question, else fstatat and
      // the mode bits checked against the ids. One core; the arch picks the stat and id calls.
      faFstatat('newfstatat', ''),
      // 32-bit ppc's plain id calls are 32-bit; ARM's are 16-bit (its getuid32.. follow), hence full ids only
      faFstatat('fstatat64', '', true),
      faFstatat('fstatat64', '32'),
      {
        id: 'faccessat',
        calls: ['faccessat'],
        flags: [{ flag: 'AT_EACCESS', via: 'the old call when the program is not set-user/group-ID (AT_SECURE), as glibc' }],
        limits:
          'AT_SYMLINK_NOFOLLOW, and AT_EACCESS in a set-user/group-ID program: ENOSYS; AT_EACCESS in a program that changed its ids after start is answered for the real ids (as glibc); AT_EMPTY_PATH: EINVAL (as glibc)',
      },
    ],
    routes: ['faccessat2', 'faccessat'],
    notes: 'Follows glibc 2.33-2.40 sysdeps/unix/sysv/linux/faccessat.c for kernels without faccessat2.',
  },
  {
    id: 'epoll_pwait2',
    denied: 'epoll_pwait2',
    template: 'epoll_pwait2',
    symbols: [
      { name: 'epoll_pwait2', libcCalls: { glibc: [{ calls: ['epoll_pwait2'], since: '2.35' }] } },
      {
        name: '__epoll_pwait2_time64',
        libcCalls: { glibc: [{ calls: ['epoll_pwait2'], since: '2.35' }] },
        guard: 'SG_GLIBC_TIME64',
        only32: true,
        note: 'glibc >= 2.35 with _TIME_BITS=64',
      },
    ],
    variants: [
      direct('epoll_pwait2'),
      { id: 'epoll_pwait', calls: ['epoll_pwait'], flags: [{ flag: 'nanosecond timeout', via: 'rounded up to milliseconds' }] },
    ],
    routes: ['epoll_pwait2'],
    notes: '',
  },
  ...(Object.keys(UNAVAILABLE_VIEWS) as (keyof typeof UNAVAILABLE_VIEWS)[]).map(
    (name): FallbackEntry => ({
      id: name,
      denied: name,
      template: 'unavailable',
      symbols: [{ name, libcCalls: UNAVAILABLE_VIEWS[name] }],
      variants: [],
      routes: [],
      notes: 'no equivalent: ENOSYS without entering the kernel (callers that handle ENOSYS fall back themselves)',
    }),
  ),
];
