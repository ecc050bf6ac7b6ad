/*
 * lsc-export: build an x86_64 allow list with libseccomp and write its BPF to stdout, for
 * auditing a filter another tool made and comparing path lengths.
 *
 *   lsc-export OPTIMIZE NR...      (OPTIMIZE 1 = linear chain, 2 = binary tree)
 * Default action ERRNO(EPERM), bad arch KILL_PROCESS.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return 3;
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) return 4;
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)atoi(argv[1]))) return 5;
  for (int i = 2; i < argc; i++) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, atoi(argv[i]), 0)) return 6;
  }
  fflush(stdout);
  if (seccomp_export_bpf(ctx, 1)) return 7;
  seccomp_release(ctx);
  return 0;
}
