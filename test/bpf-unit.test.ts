import assert from 'node:assert/strict';
import { InputError } from '../src/errors.ts';
import {
  AsmBuilder,
  BPF_ADD,
  BPF_ALU,
  BPF_DIV,
  BPF_JA,
  BPF_JGE,
  BPF_JGT,
  BPF_JSET,
  BPF_LSH,
  BPF_MOD,
  BPF_MUL,
  BPF_NEG,
  BPF_RSH,
  BPF_SUB,
  BPF_ST,
  BPF_STX,
  BPF_X,
  OP_AND_K,
  OP_JA,
  OP_JEQ_K,
  OP_JGE_K,
  OP_JGT_K,
  OP_JSET_K,
  OP_LD_ABS,
  OP_LD_IMM,
  OP_LD_LEN,
  OP_LD_MEM,
  OP_LDX_IMM,
  OP_RET_A,
  OP_RET_K,
  OP_TAX,
  OP_TXA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  actionToRet,
  assemble,
  decodeFilter,
  disassemble,
  encodeFilter,
  fieldName,
  retToAction,
  runFilter,
  validateFilter,
  type Insn,
} from '../src/bpf/index.ts';
import { aluResult, jumpTaken } from '../src/bpf/semantics.ts';

const X86_64 = 0xc000003e;
const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });
const ret = (k: number): Insn => I(OP_RET_K, k);

describe('bpf: actions', () => {
  it('maps actions to return values and back', () => {
    assert.equal(actionToRet({ kind: 'allow' }), 0x7fff0000);
    assert.equal(actionToRet({ kind: 'errno', errno: 13 }), 0x0005000d);
    assert.equal(actionToRet({ kind: 'kill-process' }), 0x80000000);
    assert.equal(actionToRet({ kind: 'kill-thread' }), 0);
    assert.equal(actionToRet({ kind: 'trace', data: 7 }), 0x7ff00007);
    assert.deepEqual(retToAction(0x0005000d), { kind: 'errno', errno: 13 });
    assert.deepEqual(retToAction(0x0005ffff), { kind: 'errno', errno: 4095 }, 'the kernel clamps errno');
    assert.deepEqual(retToAction(0x00010000), { kind: 'kill-process' }, 'unknown actions kill');
    assert.throws(() => actionToRet({ kind: 'errno', errno: 4096 }), InputError);
  });
});

describe('bpf: assembler', () => {
  it('resolves labels to forward offsets', () => {
    const b = new AsmBuilder();
    b.insn(OP_LD_ABS, 0).jump(OP_JEQ_K, 5, 'yes', null).insn(OP_RET_K, 1).label('yes').insn(OP_RET_K, 2);
    const { insns } = assemble(b.items);
    assert.deepEqual(insns[1], { code: OP_JEQ_K, jt: 1, jf: 0, k: 5 });
  });

  it('adds trampolines for jumps past 255 and keeps the program equivalent', () => {
    const b = new AsmBuilder();
    b.insn(OP_LD_ABS, 0);
    b.jump(OP_JEQ_K, 1, 'far', null); // target is a ja-able block, not a ret
    b.jump(OP_JEQ_K, 2, 'farret', null); // target is a ret: copied in place
    for (let i = 0; i < 300; i++) b.jump(OP_JEQ_K, 1000 + i, 'filler', null);
    b.label('filler').insn(OP_RET_K, 0x00050001);
    b.label('far').insn(OP_LD_IMM, 0x7fff0000).insn(OP_RET_A, 0);
    b.label('farret').insn(OP_RET_K, 0x00050002);
    const a = assemble(b.items);
    assert.ok(a.trampolines >= 2);
    assert.ok(validateFilter(a.insns).valid, JSON.stringify(validateFilter(a.insns)));
    for (const ins of a.insns) assert.ok(ins.jt <= 255 && ins.jf <= 255);
    assert.equal(runFilter(a.insns, { nr: 1, arch: 0 }, 'little').ret, 0x7fff0000);
    assert.equal(runFilter(a.insns, { nr: 2, arch: 0 }, 'little').ret, 0x00050002);
    assert.equal(runFilter(a.insns, { nr: 2, arch: 0 }, 'little').steps, 4, 'a ret copy costs no extra step');
    assert.equal(runFilter(a.insns, { nr: 1100, arch: 0 }, 'little').ret, 0x00050001);
    assert.equal(runFilter(a.insns, { nr: 5, arch: 0 }, 'little').ret, 0x00050001);
    // Deterministic.
    assert.deepEqual(assemble(b.items).insns, a.insns);
  });

  it('refuses programs over 4096 instructions with the count', () => {
    const b = new AsmBuilder();
    for (let i = 0; i < 4097; i++) b.insn(OP_LD_IMM, i);
    b.insn(OP_RET_K, 0);
    assert.throws(
      () => assemble(b.items),
      (e: unknown) => e instanceof InputError && /4098 instructions/.test(e.message),
    );
  });
});

describe('bpf: encoding', () => {
  const prog = [I(OP_LD_ABS, 4), I(OP_JEQ_K, X86_64, 1, 0), ret(SECCOMP_RET_KILL_PROCESS), ret(SECCOMP_RET_ALLOW)];
  it('round-trips in both byte orders', () => {
    for (const e of ['little', 'big'] as const) {
      const bytes = encodeFilter(prog, e);
      assert.equal(bytes.length, 32);
      assert.deepEqual(decodeFilter(bytes, e), prog);
    }
    const le = encodeFilter(prog, 'little');
    const be = encodeFilter(prog, 'big');
    assert.deepEqual([...le.subarray(8, 16)], [0x15, 0x00, 0x01, 0x00, 0x3e, 0x00, 0x00, 0xc0]);
    assert.deepEqual([...be.subarray(8, 16)], [0x00, 0x15, 0x01, 0x00, 0xc0, 0x00, 0x00, 0x3e]);
  });
  it('rejects bad lengths', () => {
    assert.throws(() => decodeFilter(new Uint8Array(0), 'little'), InputError);
    assert.throws(() => decodeFilter(new Uint8Array(12), 'little'), /multiple of 8/);
    assert.throws(() => decodeFilter(new Uint8Array(8 * 4097), 'little'), /4097 instructions/);
  });
});

describe('bpf: validateFilter (the kernel checks)', () => {
  const bad: [string, Insn[]][] = [
    ['empty', []],
    ['no final ret', [I(OP_LD_ABS, 0)]],
    ['unaligned load', [I(OP_LD_ABS, 2), ret(0)]],
    ['load past seccomp_data', [I(OP_LD_ABS, 64), ret(0)]],
    ['division by constant 0', [I(BPF_ALU | BPF_DIV, 0), ret(0)]],
    ['mod (not allowed in seccomp)', [I(BPF_ALU | BPF_MOD, 3), ret(0)]],
    ['shift by 32', [I(BPF_ALU | BPF_LSH, 32), ret(0)]],
    ['jump past the end', [I(OP_JEQ_K, 0, 1, 0), ret(0)]],
    ['ja past the end', [I(OP_JA, 1), ret(0)]],
    ['byte load', [I(0x30, 0), ret(0)]],
    ['scratch read before write', [I(OP_LD_MEM, 3), ret(0)]],
    ['scratch written on one path only', [I(OP_JEQ_K, 0, 0, 1), I(BPF_ST, 3), I(OP_LD_MEM, 3), ret(0)]],
    ['scratch index 16', [I(BPF_ST, 16), ret(0)]],
    ['ret X', [I(0x0e), ret(0)]],
  ];
  for (const [name, prog] of bad) {
    it(`rejects: ${name}`, () => {
      assert.equal(validateFilter(prog).valid, false);
      assert.throws(() => runFilter(prog, { nr: 0, arch: 0 }, 'little'), InputError);
    });
  }
  it('accepts scratch written on every path', () => {
    assert.ok(validateFilter([I(BPF_ST, 3), I(OP_JEQ_K, 0, 0, 1), I(BPF_STX, 3), I(OP_LD_MEM, 3), I(OP_RET_A)]).valid);
  });
});

describe('bpf: emulator', () => {
  const run = (prog: Insn[], nr = 0, args: bigint[] = [], endian: 'little' | 'big' = 'little', arch = X86_64) => runFilter(prog, { nr, arch, args }, endian);

  it('reads nr, arch and both halves of args in the target byte order', () => {
    const prog = [I(OP_LD_ABS, 16), I(OP_RET_A)];
    assert.equal(run(prog, 0, [0x1122334455667788n], 'little').ret, 0x55667788);
    assert.equal(run(prog, 0, [0x1122334455667788n], 'big').ret, 0x11223344);
    assert.equal(run([I(OP_LD_ABS, 20), I(OP_RET_A)], 0, [0x1122334455667788n], 'big').ret, 0x55667788);
    assert.equal(run([I(OP_LD_ABS, 4), I(OP_RET_A)]).ret, X86_64);
    assert.equal(run([I(OP_LD_ABS, 0), I(OP_RET_A)], -1).ret, 0xffffffff);
    assert.equal(run([I(OP_LD_LEN), I(OP_RET_A)]).ret, 64);
  });

  it('does 32-bit unsigned ALU and jumps', () => {
    const prog = [
      I(OP_LD_IMM, 0xfffffff0),
      I(BPF_ALU | 0x00, 0x20), // add: wraps to 0x10
      I(OP_TAX),
      I(OP_LD_IMM, 3),
      I(BPF_ALU | 0x20 | BPF_X), // mul X: 0x30
      I(BPF_ALU | 0x80), // neg: 0xffffffd0
      I(OP_JGT_K, 0x80000000, 0, 1), // unsigned: taken
      I(OP_RET_A),
      ret(1),
    ];
    const r = run(prog);
    assert.equal(r.ret, 0xffffffd0);
    assert.equal(r.steps, 8);
    assert.deepEqual(r.path, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(run([I(OP_LD_IMM, 6), I(OP_JSET_K, 4, 0, 1), ret(1), ret(2)]).ret, 1);
    assert.equal(run([I(OP_LD_IMM, 6), I(OP_JGE_K, 7, 0, 1), ret(1), ret(2)]).ret, 2);
    assert.equal(run([I(OP_LD_IMM, 6), I(OP_AND_K, 2), I(OP_JEQ_K, 2, 0, 1), ret(1), ret(2)]).ret, 1);
    assert.equal(run([I(OP_LDX_IMM, 5), I(OP_TXA), I(OP_JA, 1), ret(1), I(OP_RET_A)]).ret, 5);
  });

  it('returns 0 (KILL_THREAD) on division by a zero X, like the kernel', () => {
    const r = run([I(OP_LD_IMM, 10), I(OP_LDX_IMM, 0), I(BPF_ALU | BPF_DIV | BPF_X), ret(SECCOMP_RET_ALLOW)]);
    assert.equal(r.ret, 0);
    assert.equal(r.action.kind, 'kill-thread');
  });

  it('uses scratch memory', () => {
    assert.equal(run([I(OP_LD_IMM, 9), I(BPF_ST, 15), I(OP_LD_IMM, 1), I(OP_LD_MEM, 15), I(OP_RET_A)]).ret, 9);
  });
});

describe('bpf: disassembler', () => {
  it('names fields, arches, syscalls and actions and resolves jumps', () => {
    const prog = [
      I(OP_LD_ABS, 4),
      I(OP_JEQ_K, X86_64, 1, 0),
      ret(SECCOMP_RET_KILL_PROCESS),
      I(OP_LD_ABS, 0),
      I(OP_JEQ_K, 59, 0, 1),
      ret(0x00050001),
      I(OP_LD_ABS, 24),
      I(OP_JEQ_K, 3, 0, 1),
      ret(SECCOMP_RET_ALLOW),
      ret(0x00050026),
    ];
    const text = disassemble(prog, { nrName: (nr) => (nr === 59 ? 'execve' : undefined) });
    assert.match(text, /^0: ld {3}\[arch\]/m);
    assert.match(text, /1: jeq {2}#0xc000003e +-> 3 : 2 +; x86_64/);
    assert.match(text, /2: ret {2}#0x80000000 +; kill-process/);
    assert.match(text, /4: jeq {2}#0x3b +-> 5 : 6 +; execve/);
    assert.match(text, /5: ret {2}#0x00050001 +; errno:EPERM/);
    assert.match(text, /6: ld {3}\[args\[1\] lo\]/);
    assert.match(text, /9: ret {2}#0x00050026 +; errno:ENOSYS/);
    assert.equal(fieldName(20, 'big'), 'args[0] lo');
    assert.equal(fieldName(16, 'big'), 'args[0] hi');
  });
});

describe('bpf: semantics (ALU and jumps on u32)', () => {
  it('wraps at 2^32 and keeps results unsigned', () => {
    assert.equal(aluResult(BPF_ADD, 0xffffffff, 1), 0);
    assert.equal(aluResult(BPF_SUB, 0, 1), 0xffffffff);
    assert.equal(aluResult(BPF_MUL, 0x10000, 0x10000), 0); // not 2^32: a float product would keep it
    assert.equal(aluResult(BPF_MUL, 0xffffffff, 0xffffffff), 1);
    assert.equal(aluResult(BPF_NEG, 1, 0), 0xffffffff);
    assert.equal(aluResult(BPF_LSH, 1, 31), 0x80000000); // unsigned, not -2^31
    assert.equal(aluResult(BPF_RSH, 0x80000000, 31), 1); // logical shift, not arithmetic
    assert.equal(aluResult(BPF_DIV, 0xffffffff, 2), 0x7fffffff);
    assert.throws(() => aluResult(BPF_DIV, 1, 0), /division by zero/);
    assert.equal(aluResult(BPF_MOD, 5, 3), undefined); // seccomp refuses MOD: no meaning given
  });
  it('compares unsigned', () => {
    assert.equal(jumpTaken(BPF_JGT, 0x80000000, 1), true);
    assert.equal(jumpTaken(BPF_JGE, 7, 7), true);
    assert.equal(jumpTaken(BPF_JGT, 7, 7), false);
    assert.equal(jumpTaken(BPF_JSET, 0b1010, 0b0101), false);
    assert.equal(jumpTaken(BPF_JSET, 0x80000000, 0x80000000), true);
    assert.throws(() => jumpTaken(BPF_JA, 0, 0));
  });
});
