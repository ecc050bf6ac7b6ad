/**
 * Path analysis of a (valid) filter with some inputs known and the rest unknown: which return
 * values are reachable, and how long the longest path is. Jumps only go forward, so every
 * program is a DAG and a memoized walk over (pc, A, X) states ends.
 */
import {
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_JA,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_MISC,
  BPF_MUL,
  BPF_NEG,
  BPF_RET,
  BPF_X,
  OP_LD_ABS,
  OP_LD_IMM,
  OP_LD_LEN,
  OP_LDX_IMM,
  OP_LDX_LEN,
  OP_RET_A,
  OP_TAX,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_DATA_SIZE,
  bpfClass,
  bpfOp,
  bpfSrc,
  type Insn,
} from './types.ts';
import { aluResult, jumpTaken } from './semantics.ts';

export interface KnownInputs {
  arch?: number;
  nr?: number;
}

export interface Reach {
  /** Return values some path can produce (ret #k, or ret A with a known A). */
  rets: Set<number>;
  /** Some path ends in `ret A` with an unknown A. */
  retUnknown: boolean;
  /** Instructions on the longest path, the ret included. */
  longest: number;
}

type Val = number | undefined;

/** Walks every path the known inputs allow. The program must be valid (see validateFilter). */
export function explore(insns: readonly Insn[], known: KnownInputs, start = 0): Reach {
  const memo = new Map<string, Reach>();
  const arch = known.arch === undefined ? undefined : known.arch >>> 0;
  const nr = known.nr === undefined ? undefined : known.nr >>> 0;

  const walk = (pc: number, A: Val, X: Val): Reach => {
    const key = `${pc},${A ?? 'u'},${X ?? 'u'}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const r = step(pc, A, X);
    memo.set(key, r);
    return r;
  };
  const plusOne = (r: Reach): Reach => ({ rets: r.rets, retUnknown: r.retUnknown, longest: r.longest + 1 });
  const join = (a: Reach, b: Reach): Reach => ({
    rets: new Set([...a.rets, ...b.rets]),
    retUnknown: a.retUnknown || b.retUnknown,
    longest: 1 + Math.max(a.longest, b.longest),
  });

  const step = (pc: number, A: Val, X: Val): Reach => {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    switch (bpfClass(code)) {
      case BPF_RET:
        if (code === OP_RET_A) {
          return A === undefined ? { rets: new Set(), retUnknown: true, longest: 1 } : { rets: new Set([A]), retUnknown: false, longest: 1 };
        }
        return { rets: new Set([k]), retUnknown: false, longest: 1 };
      case BPF_LD: {
        let v: Val;
        if (code === OP_LD_ABS) v = k === SECCOMP_DATA_NR ? nr : k === SECCOMP_DATA_ARCH ? arch : undefined;
        else if (code === OP_LD_LEN) v = SECCOMP_DATA_SIZE;
        else if (code === OP_LD_IMM) v = k;
        else v = undefined; // scratch memory: not tracked
        return plusOne(walk(pc + 1, v, X));
      }
      case BPF_LDX: {
        const v = code === OP_LDX_IMM ? k : code === OP_LDX_LEN ? SECCOMP_DATA_SIZE : undefined;
        return plusOne(walk(pc + 1, A, v));
      }
      case BPF_MISC:
        return code === OP_TAX ? plusOne(walk(pc + 1, A, A)) : plusOne(walk(pc + 1, X, X));
      case BPF_ALU: {
        const v = bpfSrc(code) === BPF_X ? X : k;
        const op = bpfOp(code);
        if (op === BPF_DIV && v === 0) return { rets: new Set([0]), retUnknown: false, longest: 1 };
        if (op === BPF_DIV && v === undefined) {
          // Unknown divisor: the kernel returns 0 when it is zero.
          const cont = walk(pc + 1, undefined, X);
          return { rets: new Set([...cont.rets, 0]), retUnknown: cont.retUnknown, longest: cont.longest + 1 };
        }
        return plusOne(walk(pc + 1, alu(op, A, v), X));
      }
      case BPF_JMP: {
        const op = bpfOp(code);
        if (op === BPF_JA) return plusOne(walk(pc + 1 + k, A, X));
        const v = bpfSrc(code) === BPF_X ? X : k;
        if (A === undefined || v === undefined) return join(walk(pc + 1 + jt, A, X), walk(pc + 1 + jf, A, X));
        return plusOne(walk(pc + 1 + (jumpTaken(op, A, v) ? jt : jf), A, X));
      }
      default: // ST / STX
        return plusOne(walk(pc + 1, A, X));
    }
  };
  return walk(start, undefined, undefined);
}

function alu(op: number, A: Val, v: Val): Val {
  if (op === BPF_NEG) return A === undefined ? undefined : aluResult(op, A, 0);
  if (A === undefined || v === undefined) {
    // A few results are known whatever the unknown operand is.
    if (op === BPF_AND && (A === 0 || v === 0)) return 0;
    if (op === BPF_MUL && (A === 0 || v === 0)) return 0;
    return undefined;
  }
  return aluResult(op, A, v);
}

/** Longest path (instructions executed, ret included) from `start`, all inputs unknown. */
export function longestPath(insns: readonly Insn[], start = 0): number {
  const best = new Array<number>(insns.length).fill(0);
  for (let pc = insns.length - 1; pc >= start; pc--) {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    const cls = bpfClass(code);
    if (cls === BPF_RET) best[pc] = 1;
    else if (cls === BPF_JMP && bpfOp(code) === BPF_JA) best[pc] = 1 + best[pc + 1 + k]!;
    else if (cls === BPF_JMP) best[pc] = 1 + Math.max(best[pc + 1 + jt]!, best[pc + 1 + jf]!);
    else best[pc] = 1 + best[pc + 1]!;
  }
  return best[start]!;
}
