/**
 * Known ways around a denied call, for explain and check. Keyed by syscall name; the target's
 * own `deny[].fix` takes precedence.
 */
export const KNOWN_FIXES: Readonly<Record<string, string>> = {
  getrandom: 'read /dev/urandom (HSM-backed on CodeSafe), or link the sysgate shim (sysgate shim); build OpenSSL 3 with --with-rand-seed=devrandom',
  getentropy: 'getentropy() calls getrandom: read /dev/urandom, or link the sysgate shim',
  pipe2: 'link the sysgate shim: pipe2 becomes pipe + fcntl(FD_CLOEXEC/O_NONBLOCK)',
  dup3: 'link the sysgate shim: dup3 becomes dup2 + fcntl(FD_CLOEXEC)',
  accept4: 'link the sysgate shim: accept4 becomes accept + fcntl',
  eventfd2: 'link the sysgate shim: eventfd() uses the eventfd syscall',
  epoll_create1: 'link the sysgate shim: epoll_create1 becomes epoll_create + fcntl',
  signalfd4: 'link the sysgate shim: signalfd4 becomes signalfd + fcntl',
  inotify_init1: 'link the sysgate shim: inotify_init1 becomes inotify_init + fcntl',
  clock_gettime64: 'on firmware >= 13.7 glibc falls back to clock_gettime by itself; before 13.7 build with 32-bit time_t or use a libc without time64 calls',
  statx: 'on firmware >= 13.7 glibc falls back to fstatat64/newfstatat by itself',
  clone3: 'glibc falls back to clone on ENOSYS (firmware >= 13.7)',
  rseq: 'glibc carries on without rseq on ENOSYS; or run with GLIBC_TUNABLES=glibc.pthread.rseq=0',
  set_robust_list: 'glibc carries on without robust futexes on ENOSYS',
};
