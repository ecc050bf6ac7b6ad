/**
 * Known ways around a denied call, for explain and check. The target's own `deny[].fix` takes
 * precedence. What the C library does by itself when a call fails comes from the libc knowledge
 * base (src/libc), never restated here: `libcFix` (./libc-fixes.ts) words it for one arch and
 * one action. It is handed in as a `LibcFix` so that the light commands' bundle (explain) loads
 * the knowledge base only when it runs (see docs/architecture.md, Bundles).
 */
import type { ArchName } from '../syscalls/arches.ts';
import type { Action } from './types.ts';

/** glibc's own recovery when one call fails with ENOSYS on `arch` (src/libc, `enosysRecovery`). */
export interface LibcRecovery {
  /** e.g. 'glibc 2.36': the release the answer is for. */
  libc: string;
  recover(name: string, arch: ArchName): { fallbacks: string[]; carriesOn: boolean } | undefined;
}

/** What the C library does by itself about a failing call, worded for `action` on `arch`. */
export type LibcFix = (name: string, arch: ArchName, action: Action) => string | undefined;

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
