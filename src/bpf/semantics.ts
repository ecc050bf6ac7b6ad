/**
 * What classic BPF's ALU ops and conditional jumps compute, on 32-bit unsigned values, as the
 * kernel's interpreter does (net/core/filter.c). The one definition the emulator, the path
 * analysis and the kernel's cache test (audit) share, so they cannot disagree about a bit.
 */
import { BPF_ADD, BPF_AND, BPF_DIV, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET, BPF_LSH, BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH, BPF_SUB, BPF_XOR } from './types.ts';

/**
 * `a op v` for the ALU ops seccomp accepts (`v` is ignored by NEG); undefined for any other op.
 * Division by zero is not an ALU result: the kernel ends the program with return value 0 there,
 * so the callers, who know what "ends" means for them, test `v === 0` first and this throws.
 * Shifts use the low 5 bits of `v`, as x86 and the kernel's interpreter do.
 */
export function aluResult(op: number, a: number, v: number): number | undefined {
  switch (op) {
    case BPF_ADD:
      return (a + v) >>> 0;
    case BPF_SUB:
      return (a - v) >>> 0;
    case BPF_MUL:
      return Math.imul(a, v) >>> 0;
    case BPF_DIV:
      if (v === 0) throw new Error('aluResult: division by zero ends the program; the caller tests it');
      return Math.floor(a / v) >>> 0;
    case BPF_OR:
      return (a | v) >>> 0;
    case BPF_AND:
      return (a & v) >>> 0;
    case BPF_XOR:
      return (a ^ v) >>> 0;
    case BPF_LSH:
      return (a << (v & 31)) >>> 0;
    case BPF_RSH:
      return a >>> (v & 31);
    case BPF_NEG:
      return -a >>> 0;
    default:
      return undefined;
  }
}

/** Whether a conditional jump (`jeq`, `jgt`, `jge`, `jset`) is taken; both operands unsigned 32-bit. */
export function jumpTaken(op: number, a: number, v: number): boolean {
  switch (op) {
    case BPF_JEQ:
      return a === v;
    case BPF_JGT:
      return a > v;
    case BPF_JGE:
      return a >= v;
    case BPF_JSET:
      return (a & v) !== 0;
    default:
      throw new Error(`jumpTaken: ${op} is not a conditional jump`);
  }
}
