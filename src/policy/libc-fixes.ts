/** glibc's own recovery from a failing call, as a fix text (see ./fixes.ts, `LibcFix`). */
import { enosysRecovery, knowledgeBase } from '../libc/index.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { formatAction, isAllow } from './action.ts';
import { ERRNO } from './errno.ts';
import type { LibcFix, LibcRecovery } from './fixes.ts';
import type { Action } from './types.ts';

/**
 * Calls whose way around is glibc's own recovery on ENOSYS, with advice that is not a libc
 * fact (a build choice, a tunable) for when the policy never lets the recovery run.
 */
const LIBC_RECOVERS: Readonly<Record<string, string>> = {
  clock_gettime64: 'build with 32-bit time_t or use a libc without time64 calls',
  statx: 'call fstatat directly',
  clone3: 'a firmware that answers it with ENOSYS',
  rseq: 'run with GLIBC_TUNABLES=glibc.pthread.rseq=0',
  set_robust_list: 'do not rely on PTHREAD_MUTEX_ROBUST',
};

/**
 * What glibc does by itself when `name` fails on `arch`, and whether `action` (what the policy
 * does with an unconditional call) lets it: only an ENOSYS error reaches the fallback, so an
 * EPERM, a trap or a kill leaves the caller with the failure.
 */
export const libcFix: LibcFix = (name: string, arch: ArchName, action: Action): string | undefined => {
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
};

/** For compat's summary: glibc at the knowledge base's default release. */
export const glibcRecovery: LibcRecovery = {
  libc: `glibc ${knowledgeBase('glibc').defaultVersion}`,
  recover: (name, arch) => enosysRecovery('glibc', name, arch),
};
