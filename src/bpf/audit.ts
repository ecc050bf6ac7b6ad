/**
 * What the kernel makes of a filter: the action cache (kernel/seccomp.c, Linux >= 5.11:
 * seccomp_cache_prepare_bitmap / seccomp_is_const_allow) and a security audit that works on
 * any raw filter, whoever made it.
 */
import type { Action } from '../policy/types.ts';
import { ARCH_NAMES, ARCHES, X32_SYSCALL_BIT, type ArchInfo } from '../syscalls/arches.ts';
import { explore } from './analyze.ts';
import { validateFilter } from './emulate.ts';
import {
  BPF_AND,
  BPF_MAXINSNS,
  OP_AND_K,
  OP_JA,
  OP_JEQ_K,
  OP_JGE_K,
  OP_JGT_K,
  OP_JSET_K,
  OP_LD_ABS,
  OP_RET_K,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  bpfOp,
  retName,
  retToAction,
  type Insn,
} from './types.ts';
import { aluResult, jumpTaken } from './semantics.ts';

/**
 * The kernel's test for caching ALLOW for (arch, nr): run the program with only nr and arch
 * known; any instruction other than `ld [nr]`, `ld [arch]`, `ja`, `jeq/jge/jgt/jset #k`,
 * `and #k` or `ret #k` on the path makes the answer "no"; the end must be exactly
 * `ret #SECCOMP_RET_ALLOW`.
 */
export function isConstAllow(insns: readonly Insn[], arch: number, nr: number): boolean {
  let A = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    switch (code) {
      case OP_LD_ABS:
        if (k === SECCOMP_DATA_NR) A = nr >>> 0;
        else if (k === SECCOMP_DATA_ARCH) A = arch >>> 0;
        else return false;
        break;
      case OP_RET_K:
        return k === SECCOMP_RET_ALLOW;
      case OP_JA:
        pc += k;
        break;
      case OP_JEQ_K:
      case OP_JGE_K:
      case OP_JGT_K:
      case OP_JSET_K: {
        pc += jumpTaken(bpfOp(code), A, k) ? jt : jf;
        break;
      }
      case OP_AND_K:
        A = aluResult(BPF_AND, A, k)!;
        break;
      default:
        return false;
    }
  }
  return false;
}

export interface CacheReport {
  auditArch: number;
  /** Numbers 0..maxNr whose ALLOW the kernel caches (the filter is not run for them). */
  cached: number[];
  /** Numbers that can be allowed but are not cacheable: the filter runs on every call. */
  uncachedAllow: number[];
}

/** Cache analysis for numbers 0..maxNr of one arch. The program must be valid. */
export function cacheAnalysis(insns: readonly Insn[], auditArch: number, maxNr: number): CacheReport {
  const cached: number[] = [];
  const uncachedAllow: number[] = [];
  for (let nr = 0; nr <= maxNr; nr++) {
    if (isConstAllow(insns, auditArch, nr)) cached.push(nr);
    else if (canAllow(insns, auditArch, nr)) uncachedAllow.push(nr);
  }
  return { auditArch: auditArch >>> 0, cached, uncachedAllow };
}

const isAllowLike = (ret: number): boolean => {
  const a = ((ret >>> 0) & SECCOMP_RET_ACTION_FULL) >>> 0;
  return a === SECCOMP_RET_ALLOW || a === SECCOMP_RET_LOG;
};

function canAllow(insns: readonly Insn[], arch: number, nr?: number): boolean {
  const r = explore(insns, { arch, nr });
  return r.retUnknown || [...r.rets].some(isAllowLike);
}

/** The single return value every path gives for (arch, nr), or undefined when it varies. */
function certainRet(insns: readonly Insn[], arch: number, nr: number): number | undefined {
  const r = explore(insns, { arch, nr });
  if (r.retUnknown || r.rets.size !== 1) return undefined;
  return [...r.rets][0];
}

export interface AuditOptions {
  /** Highest number of the arch's table (default 1023): numbers checked one by one. */
  tableMax?: number;
}

export interface AuditReport {
  arch: string;
  length: number;
  valid: boolean;
  /** The first instruction loads seccomp_data.arch. */
  loadsArchFirst: boolean;
  /** Other arches (names or hex AUDIT_ARCH values) for which some path reaches allow/log. */
  foreignArchAllowed: string[];
  /** x86_64 only: every x32 number tested gets a non-allow action (null on other arches). */
  x32Guarded: boolean | null;
  /** x86_64 only: what nr 0xFFFFFFFF (a tracer's "skip") gets. */
  skipNr: string | null;
  /** The most common certain action for numbers past the table. */
  defaultAction: Action | null;
  defaultRet: number | null;
  cache: CacheReport;
  /** Every number that is always allowed is also cached. */
  unconditionalAllowsCacheable: boolean;
  problems: string[];
  notes: string[];
}

const FOREIGN_PROBES = [0, 0xffffffff, 0x40000000, 0x80000000, 0xc0000000];

export function auditFilter(insns: readonly Insn[], arch: ArchInfo, opts: AuditOptions = {}): AuditReport {
  const tableMax = opts.tableMax ?? 1023;
  const problems: string[] = [];
  const notes: string[] = [];
  const report: AuditReport = {
    arch: arch.name,
    length: insns.length,
    valid: false,
    loadsArchFirst: false,
    foreignArchAllowed: [],
    x32Guarded: null,
    skipNr: null,
    defaultAction: null,
    defaultRet: null,
    cache: { auditArch: arch.auditArch >>> 0, cached: [], uncachedAllow: [] },
    unconditionalAllowsCacheable: false,
    problems,
    notes,
  };
  if (insns.length > BPF_MAXINSNS) problems.push(`${insns.length} instructions: the kernel accepts at most ${BPF_MAXINSNS}`);
  const check = validateFilter(insns);
  if (!check.valid) {
    problems.push(`the kernel would reject this filter${check.pc === undefined ? '' : ` (instruction ${check.pc})`}: ${check.reason}`);
    return report;
  }
  report.valid = true;

  // 1. Arch check.
  const first = insns[0]!;
  report.loadsArchFirst = first.code === OP_LD_ABS && first.k >>> 0 === SECCOMP_DATA_ARCH;
  if (!report.loadsArchFirst) problems.push('the first instruction does not load seccomp_data.arch');
  const foreign = new Map<number, string>();
  for (const n of ARCH_NAMES) if (ARCHES[n].auditArch !== arch.auditArch) foreign.set(ARCHES[n].auditArch >>> 0, n);
  for (const v of FOREIGN_PROBES) if (v !== arch.auditArch >>> 0 && !foreign.has(v)) foreign.set(v, `0x${v.toString(16)}`);
  for (const [audit, name] of foreign) {
    if (canAllow(insns, audit)) report.foreignArchAllowed.push(name);
  }
  if (report.foreignArchAllowed.length) {
    problems.push(`calls from other arches can be allowed: ${report.foreignArchAllowed.join(', ')}`);
  }

  // 2. Default action: the most common certain action past the table.
  const isX32 = (nr: number): boolean => arch.x32 && (nr & X32_SYSCALL_BIT) !== 0;
  const highs: number[] = [];
  for (let i = 1; i <= 64; i++) highs.push(tableMax + i);
  highs.push(0x3fffffff, 0x80000000, 0xbfffffff);
  const counts = new Map<number, number>();
  for (const nr of highs) {
    if (isX32(nr)) continue;
    const r = certainRet(insns, arch.auditArch, nr);
    if (r !== undefined) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  if (best) {
    report.defaultRet = best[0];
    report.defaultAction = retToAction(best[0]);
    if (isAllowLike(best[0])) problems.push(`numbers past the table are allowed (${retName(best[0])}): a deny list, not an allow list`);
  } else {
    problems.push('no single default action for numbers past the table');
  }

  // 3. x32 and the tracer's skip number.
  if (arch.x32) {
    const leaks: number[] = [];
    const x32s: number[] = [];
    for (let n = 0; n <= tableMax; n++) x32s.push((X32_SYSCALL_BIT | n) >>> 0);
    x32s.push(0x7fffffff, 0xc0000000, 0xfffffffe);
    for (const nr of x32s) if (canAllow(insns, arch.auditArch, nr)) leaks.push(nr);
    report.x32Guarded = leaks.length === 0;
    if (leaks.length) {
      problems.push(
        `x32 numbers can be allowed: ${leaks
          .slice(0, 8)
          .map((n) => `0x${n.toString(16)}`)
          .join(', ')}${leaks.length > 8 ? ` and ${leaks.length - 8} more` : ''}`,
      );
    }
    const skip = certainRet(insns, arch.auditArch, 0xffffffff);
    report.skipNr = skip === undefined ? 'varies' : retName(skip);
    if (skip === undefined || (report.defaultRet !== null && skip !== report.defaultRet)) {
      problems.push(
        `nr 0xffffffff (a tracer's skip) gets ${report.skipNr}, not the default action${report.defaultRet === null ? '' : ` ${retName(report.defaultRet)}`}`,
      );
    }
    notes.push('on recent x86_64 kernels uretprobe (335) and uprobe (336) are let through without consulting seccomp');
  }

  // 4. Cache.
  report.cache = cacheAnalysis(insns, arch.auditArch, tableMax);
  const uncachedAlways = report.cache.uncachedAllow.filter((nr) => {
    const r = certainRet(insns, arch.auditArch, nr);
    return r === SECCOMP_RET_ALLOW;
  });
  report.unconditionalAllowsCacheable = uncachedAlways.length === 0;
  if (uncachedAlways.length) {
    problems.push(
      `always-allowed numbers the kernel cannot cache (the filter runs on every call): ${uncachedAlways.slice(0, 16).join(', ')}${uncachedAlways.length > 16 ? ` and ${uncachedAlways.length - 16} more` : ''}`,
    );
  }
  if (report.cache.uncachedAllow.length) {
    notes.push(
      `${report.cache.uncachedAllow.length} numbers can be allowed but are not cacheable (argument checks): ${report.cache.uncachedAllow.slice(0, 16).join(', ')}${report.cache.uncachedAllow.length > 16 ? ', ...' : ''}`,
    );
  }
  return report;
}

/** Plain-text rendering of an audit report. */
export function formatAudit(r: AuditReport): string {
  const lines = [`arch:            ${r.arch}`, `instructions:    ${r.length}`, `valid:           ${r.valid ? 'yes' : 'no'}`];
  if (r.valid) {
    lines.push(
      `arch check:      ${r.loadsArchFirst && r.foreignArchAllowed.length === 0 ? 'yes' : 'no'}`,
      `default action:  ${r.defaultRet === null ? 'unclear' : retName(r.defaultRet)}`,
    );
    if (r.x32Guarded !== null) lines.push(`x32 guarded:     ${r.x32Guarded ? 'yes' : 'no'}`, `nr 0xffffffff:   ${r.skipNr}`);
    lines.push(`cached allows:   ${r.cache.cached.length}`, `uncached allows: ${r.cache.uncachedAllow.length}`);
  }
  lines.push(r.problems.length ? 'problems:' : 'problems:        none');
  for (const p of r.problems) lines.push(`  - ${p}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
