/** `libseccomp`: C source that builds the same policy through the libseccomp API. */
import { showFirmware } from '../policy/firmware.ts';
import type { Action } from '../policy/types.ts';
import { engineRows, rulesByName } from './by-name.ts';
import { cComment, cString } from '../util/c-syntax.ts';
import type { Emitter } from './types.ts';
import { generatedBy } from '../version.ts';
import { SCMP_CMP } from './scmp-ops.ts';

function scmpAction(a: Action): string {
  switch (a.kind) {
    case 'allow':
      return 'SCMP_ACT_ALLOW';
    case 'log':
      return 'SCMP_ACT_LOG';
    case 'trap':
      return 'SCMP_ACT_TRAP';
    case 'kill-process':
      return 'SCMP_ACT_KILL_PROCESS';
    case 'kill-thread':
      return 'SCMP_ACT_KILL_THREAD';
    case 'errno':
      return `SCMP_ACT_ERRNO(${a.errno})`;
    case 'trace':
      return `SCMP_ACT_TRACE(${a.data})`;
    case 'user-notif':
      return 'SCMP_ACT_NOTIFY';
  }
}

const u64 = (v: bigint) => `UINT64_C(0x${v.toString(16)})`;

export const libseccompEmitter: Emitter = {
  format: 'libseccomp',
  summary: 'C source building the same policy with libseccomp (link with -lseccomp)',
  emit({ policies, baseName, cName, version, target }) {
    const p0 = policies[0]!;
    const rows: string[] = [];
    for (const r of rulesByName(policies)) {
      for (const row of engineRows(r, 'libseccomp', p0.defaultAction)) {
        const args = row.args.map((x) =>
          x.op === 'masked-eq'
            ? `{ ${x.index}, SCMP_CMP_MASKED_EQ, ${u64(x.mask!)}, ${u64(x.value)} }`
            : `{ ${x.index}, ${SCMP_CMP[x.op]}, ${u64(x.value)}, 0 }`,
        );
        rows.push(`  { ${cString(r.name)}, ${scmpAction(row.action)}, ${row.args.length}, { ${args.join(', ') || '{ 0, 0, 0, 0 }'} } },`);
      }
    }
    const text = `/*
 * ${cComment(generatedBy(version))}: do not edit.
 * Target ${cComment(target.id)}${p0.firmware ? `, firmware ${showFirmware(p0.firmware)}` : ''}, arch ${policies.map((p) => p.arch.name).join(' + ')}.
 * The same policy as sysgate's own filter, built through libseccomp:
 *   cc -c ${baseName}.libseccomp.c && cc app.o ${baseName}.libseccomp.o -lseccomp
 * ${cName}_build() returns a filter context (NULL on failure, errno set); ${cName}_install()
 * builds and loads it. Names this libseccomp does not know are left out: they stay denied.
 * Build with -DSYSGATE_EXPORT_MAIN for a program that writes the raw BPF to stdout.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <seccomp.h>

/* libseccomp >= 2.5: 1 = linear chain, 2 = binary tree (default here). */
#ifndef SYSGATE_SECCOMP_OPTIMIZE
#define SYSGATE_SECCOMP_OPTIMIZE 2
#endif

struct ${cName}_rule {
  const char *name;
  uint32_t action;
  unsigned int argc;
  struct scmp_arg_cmp args[6];
};

static const struct ${cName}_rule ${cName}_rules[] = {
${rows.join('\n')}
};

static const uint32_t ${cName}_arches[] = { ${policies.map((p) => p.arch.scmpArch).join(', ')} };

/* How many rules this libseccomp could not resolve (left out, so denied). */
unsigned int ${cName}_unresolved;

scmp_filter_ctx ${cName}_build(void)
{
  size_t i;
  int native_wanted = 0;
  scmp_filter_ctx ctx = seccomp_init(${scmpAction(p0.defaultAction)});
  if (ctx == NULL)
    return NULL;
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, ${scmpAction(p0.foreignArchAction)}) != 0)
    goto fail;
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0)
    goto fail;
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, SYSGATE_SECCOMP_OPTIMIZE);
  for (i = 0; i < sizeof ${cName}_arches / sizeof ${cName}_arches[0]; i++)
    if (${cName}_arches[i] == seccomp_arch_native())
      native_wanted = 1;
  /* Remove the build host's arch first: libseccomp refuses to mix byte orders in one filter. */
  if (!native_wanted && seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) != 0)
    goto fail;
  for (i = 0; i < sizeof ${cName}_arches / sizeof ${cName}_arches[0]; i++) {
    int rc = seccomp_arch_add(ctx, ${cName}_arches[i]);
    if (rc != 0 && rc != -EEXIST)
      goto fail;
  }
  ${cName}_unresolved = 0;
  for (i = 0; i < sizeof ${cName}_rules / sizeof ${cName}_rules[0]; i++) {
    const struct ${cName}_rule *r = &${cName}_rules[i];
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr == __NR_SCMP_ERROR) {
      ${cName}_unresolved++;
#ifdef SYSGATE_EXPORT_MAIN
      fprintf(stderr, "unresolved: %s\\n", r->name);
#endif
      continue;
    }
    if (seccomp_rule_add_array(ctx, r->action, nr, r->argc, r->argc ? r->args : NULL) != 0)
      goto fail;
  }
  return ctx;
fail:
  seccomp_release(ctx);
  errno = EINVAL;
  return NULL;
}

int ${cName}_install(void)
{
  int rc;
  scmp_filter_ctx ctx = ${cName}_build();
  if (ctx == NULL)
    return -1;
  rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}

#ifdef SYSGATE_EXPORT_MAIN
int main(void)
{
  scmp_filter_ctx ctx = ${cName}_build();
  if (ctx == NULL) {
    perror("${cName}_build");
    return 1;
  }
  if (seccomp_export_bpf(ctx, 1) != 0)
    return 1;
  seccomp_release(ctx);
  return 0;
}
#endif
`;
    return [{ name: `${baseName}.libseccomp.c`, content: text }];
  },
};
