import assert from 'node:assert/strict';
import { ARCHES } from '../src/syscalls/arches.ts';
import {
  OP_AND_K,
  OP_JEQ_K,
  OP_JGE_K,
  OP_JSET_K,
  OP_LD_ABS,
  OP_LD_IMM,
  OP_RET_A,
  OP_RET_K,
  SECCOMP_RET_ALLOW,
  AsmBuilder,
  assemble,
  auditFilter,
  cacheAnalysis,
  compileFilter,
  explore,
  formatAudit,
  isConstAllow,
  type Insn,
} from '../src/bpf/index.ts';
import { ALLOW, errno, makePolicy, rule } from './helpers/bpf.ts';

const X86_64 = 0xc000003e;
const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });
const EPERM = 0x00050001;

describe('bpf: cache analysis (seccomp_is_const_allow)', () => {
  // Built with labels so the offsets are right.
  const b = new AsmBuilder();
  b.insn(OP_LD_ABS, 4).jump(OP_JEQ_K, X86_64, null, 'kill').insn(OP_LD_ABS, 0);
  b.jump(OP_JEQ_K, 1, 'allow', null); // 1: allow, constant
  b.jump(OP_JEQ_K, 2, null, 'bits').insn(OP_LD_ABS, 16).jump(OP_JEQ_K, 0, 'allow', 'eperm'); // 2: args[0] == 0
  b.label('bits').jump(OP_JSET_K, 0x100, 'allow', null); // 256..511: jset is fine for the cache
  b.insn(OP_AND_K, 0xff).jump(OP_JEQ_K, 3, 'allow', 'eperm'); // low byte 3, via `and`
  b.label('kill').insn(OP_RET_K, 0x80000000);
  b.label('allow').insn(OP_RET_K, SECCOMP_RET_ALLOW);
  b.label('eperm').insn(OP_RET_K, EPERM);
  const p = assemble(b.items).insns;
  it('caches constant paths (ld nr/arch, ja, jeq/jge/jgt/jset, and #k, ret #k) and nothing else', () => {
    assert.ok(isConstAllow(p, X86_64, 1));
    assert.ok(!isConstAllow(p, X86_64, 2), 'an args load on the path');
    assert.ok(isConstAllow(p, X86_64, 0x100));
    assert.ok(isConstAllow(p, X86_64, 3), 'and #k then jeq');
    assert.ok(!isConstAllow(p, X86_64, 4));
    assert.ok(!isConstAllow(p, 0x40000003, 1), 'other arch is killed');
    const r = cacheAnalysis(p, X86_64, 600);
    assert.deepEqual(
      r.cached.filter((n) => n < 256),
      [1, 3],
    );
    assert.equal(r.cached.filter((n) => n >= 256 && n < 512).length, 256);
    assert.deepEqual(r.uncachedAllow, [2]);
  });
  it('does not cache ret A or ALLOW with data bits', () => {
    assert.ok(!isConstAllow([I(OP_LD_IMM, SECCOMP_RET_ALLOW), I(OP_RET_A)], X86_64, 0));
    assert.ok(!isConstAllow([I(OP_RET_K, SECCOMP_RET_ALLOW | 1)], X86_64, 0));
  });
  it('explore() lists reachable returns with unknown arguments', () => {
    const r = explore(p, { arch: X86_64, nr: 2 });
    assert.deepEqual(
      [...r.rets].sort((x, y) => x - y),
      [EPERM, SECCOMP_RET_ALLOW],
    );
    assert.equal(r.longest, 8);
  });
});

describe('bpf: auditFilter', () => {
  it('finds no problem in a compiled filter and reports its default action', () => {
    const f = compileFilter([makePolicy({ rules: [rule(0), rule(1), rule(3, ALLOW, [[{ index: 0, op: 'eq', value: 1n, width: 32 }]])] })]);
    const a = auditFilter(f.insns, ARCHES.x86_64, { tableMax: 460 });
    assert.deepEqual(a.problems, []);
    assert.equal(a.loadsArchFirst, true);
    assert.equal(a.x32Guarded, true);
    assert.deepEqual(a.defaultAction, errno(1));
    assert.equal(a.skipNr, 'errno:EPERM');
    assert.deepEqual(a.cache.cached, [0, 1]);
    assert.deepEqual(a.cache.uncachedAllow, [3]);
    assert.match(formatAudit(a), /problems: +none/);
  });

  it('flags a filter without an arch check, x32 guard or allow-list default', () => {
    const raw = [I(OP_LD_ABS, 0), I(OP_JGE_K, 100, 1, 0), I(OP_RET_K, EPERM), I(OP_RET_K, SECCOMP_RET_ALLOW)];
    const a = auditFilter(raw, ARCHES.x86_64, { tableMax: 460 });
    assert.equal(a.loadsArchFirst, false);
    assert.ok(a.foreignArchAllowed.includes('i386'));
    assert.equal(a.x32Guarded, false);
    const text = a.problems.join('\n');
    assert.match(text, /first instruction/);
    assert.match(text, /other arches can be allowed/);
    assert.match(text, /x32 numbers can be allowed/);
    assert.match(text, /deny list/);
  });

  it('flags x32 guards that also catch 0xffffffff, and uncacheable unconditional allows', () => {
    const b = new AsmBuilder();
    b.insn(OP_LD_ABS, 4).jump(OP_JEQ_K, X86_64, null, 'kill').insn(OP_LD_ABS, 0);
    b.jump(OP_JSET_K, 0x40000000, 'kill', null);
    b.jump(OP_JEQ_K, 5, null, 'eperm').insn(OP_LD_ABS, 16).jump(OP_JEQ_K, 7, 'allow', 'allow');
    b.label('kill').insn(OP_RET_K, 0x80000000);
    b.label('allow').insn(OP_RET_K, SECCOMP_RET_ALLOW);
    b.label('eperm').insn(OP_RET_K, EPERM);
    const raw = assemble(b.items).insns;
    const a = auditFilter(raw, ARCHES.x86_64, { tableMax: 460 });
    const text = a.problems.join('\n');
    assert.match(text, /0xffffffff.*kill-process/);
    assert.match(text, /cannot cache.*: 5$/m);
    assert.equal(a.unconditionalAllowsCacheable, false);
  });

  it('reports filters the kernel would reject', () => {
    const a = auditFilter([I(OP_LD_ABS, 3), I(OP_RET_A)], ARCHES.aarch64);
    assert.equal(a.valid, false);
    assert.match(a.problems[0]!, /reject/);
  });
});
