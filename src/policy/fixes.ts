/**
 * Known ways around a denied call, for explain and check. The target's own `deny[].fix` takes
 * precedence. What the C library does by itself when a call fails comes from the libc knowledge
 * base (src/libc), never restated here: `libcFix` words it for one arch and one action.
 */
import { enosysRecovery, knowledgeBase } from '../libc/index.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { formatAction, isAllow } from './action.ts';
import { ERRNO } from './errno.ts';
import type { Action } from './types.ts';

/** Fixes that are sysgate's own tools (the shim) or the vendor's devices, keyed by syscall name. */
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
};

/**
 * Calls whose way around is glibc's own recovery on ENOSYS, with advice that is not a libc
 * fact (a build choice, a tunable) for when the policy never lets the recovery run.
 */
const LIBC_RECOVERS: Readonly<Record<string, string>> = {
  clock_gettime64: 'build with 32-bit time_t or use a libc without time64 calls',
  statx: 'call fstatat directly',
  clone3: 'a policy that returns ENOSYS for clone3 (clone is the fallback)',
  rseq: 'run with GLIBC_TUNABLES=glibc.pthread.rseq=0',
  set_robust_list: 'do not rely on PTHREAD_MUTEX_ROBUST',
};

/**
 * What glibc does by itself when `name` fails on `arch`, and whether `action` (what the policy
 * does with an unconditional call) lets it: only an ENOSYS error reaches the fallback, so an
 * EPERM, a trap or a kill leaves the caller with the failure.
 */
export function libcFix(name: string, arch: ArchName, action: Action): string | undefined {
  const advice = LIBC_RECOVERS[name];
  if (advice === undefined) return undefined;
  const v = `glibc ${knowledgeBase('glibc').defaultVersion}`;
  const r = enosysRecovery('glibc', name, arch);
  if (!r) return `${v} does not call ${name} on ${arch}`;
  const does = r.fallbacks.length ? `falls back to ${r.fallbacks.join('/')}` : 'carries on without it';
  const what = `${v} ${does} when ${name} fails with ENOSYS`;
  if (isAllow(action)) return `${what} (here it is allowed)`;
  if (action.kind === 'errno' && action.errno === ERRNO.ENOSYS) return `${what}, as this policy makes it fail`;
  return `${what}; this policy answers it with ${formatAction(action)}, so that never happens: ${advice}`;
}
