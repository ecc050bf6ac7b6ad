/** `c`: a header with the program (one comment per instruction) and an install function. */
import { formatAction } from '../policy/action.ts';
import { showFirmware } from '../policy/firmware.ts';
import { cComment, cIdent, hex32 } from '../util/c-syntax.ts';
import type { Emitter } from './types.ts';
import { generatedBy } from '../version.ts';

export const cHeaderEmitter: Emitter = {
  format: 'c',
  summary: 'C header: the sock_filter program and <name>_install() (no_new_privs + seccomp, prctl fallback), for host tests (-DSYSGATE_HOST_FILTER)',
  emit({ policies, filter, baseName, cName, version, target }) {
    const guard = cIdent(baseName.toUpperCase(), 'H');
    const arr = cIdent(cName, 'filter');
    const fw = policies[0]!.firmware;
    const lines = filter.insns.map((ins, i) => {
      const body = `{ 0x${ins.code.toString(16).padStart(2, '0')}, ${String(ins.jt).padStart(3)}, ${String(ins.jf).padStart(3)}, ${hex32(ins.k)} },`;
      return `  /* ${String(i).padStart(4, '0')} */ ${body} /* ${cComment(filter.comments[i] ?? '')} */`;
    });
    const text = `/*
 * ${cComment(generatedBy(version))}: do not edit.
 * Target ${cComment(target.id)} (${cComment(target.title)})${fw ? `, firmware ${showFirmware(fw)}` : ''}, arch ${policies.map((p) => p.arch.name).join(' + ')}.
 * ${filter.insns.length} instructions; calls outside the list: ${cComment(formatAction(policies[0]!.defaultAction))}; other arches: ${cComment(formatAction(policies[0]!.foreignArchAction))}.
 *
 * Host tests only: on the device the firmware enforces the policy itself and denies the
 * installer's own calls (prctl, seccomp), so the post-build check fails a device binary that
 * contains it. Build host tests with -DSYSGATE_HOST_FILTER; there call ${cName}_install()
 * early in main(), before any thread starts (it returns 0, or -1 with errno set; the filter
 * applies to the calling thread and everything it starts):
 *   #ifdef SYSGATE_HOST_FILTER
 *     if (${cName}_install() != 0) return 1;
 *   #endif
 * Without SYSGATE_HOST_FILTER this header defines nothing, so a device build that calls the
 * installer fails to compile instead of failing on the device.
 */
#ifndef ${guard}
#define ${guard}

#ifdef SYSGATE_HOST_FILTER
#include <errno.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Declared here so that the header needs no feature-test macro (-std=c99). */
long syscall(long number, ...);

static const struct sock_filter ${arr}[${filter.insns.length}] = {
${lines.join('\n')}
};

static inline int ${cName}_install(void)
{
  struct sock_fprog prog;
  prog.len = (unsigned short)(sizeof ${arr} / sizeof ${arr}[0]);
  prog.filter = (struct sock_filter *)${arr};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
    return -1;
#ifdef SYS_seccomp
  if (syscall(SYS_seccomp, 1L /* SECCOMP_SET_MODE_FILTER */, 0L, &prog) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return -1;
#endif
  return prctl(PR_SET_SECCOMP, 2L /* SECCOMP_MODE_FILTER */, &prog, 0L, 0L);
}
#endif /* SYSGATE_HOST_FILTER */

#endif /* ${guard} */
`;
    return [{ name: `${baseName}.h`, content: text }];
  },
};
