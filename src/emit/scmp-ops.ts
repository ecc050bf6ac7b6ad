/**
 * libseccomp's comparison operators (enum scmp_compare in seccomp.h), by the policy's op names.
 * The OCI runtime spec spells its `syscalls[].args[].op` with the same tokens, so the libseccomp C
 * and the OCI profile both read them here.
 */
export const SCMP_CMP = {
  eq: 'SCMP_CMP_EQ',
  ne: 'SCMP_CMP_NE',
  lt: 'SCMP_CMP_LT',
  le: 'SCMP_CMP_LE',
  gt: 'SCMP_CMP_GT',
  ge: 'SCMP_CMP_GE',
  'masked-eq': 'SCMP_CMP_MASKED_EQ',
} as const;
