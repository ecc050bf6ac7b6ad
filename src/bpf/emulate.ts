/**
 * The kernel's load-time checks for a seccomp filter (net/core/filter.c bpf_check_classic and
 * check_load_and_stores, then kernel/seccomp.c seccomp_check_filter) and an interpreter that
 * runs a checked filter on one struct seccomp_data the way the kernel does.
 */
import { InputError } from '../errors.ts';
import type { Action } from '../policy/types.ts';
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  SECCOMP_DATA_SIZE,
  bpfClass,
  bpfOp,
  bpfSrc,
  retToAction,
  type Endian,
  type Insn,
} from './types.ts';
import { aluResult, jumpTaken } from './semantics.ts';

/** SKF_AD_OFF: ancillary loads start here (classic check); seccomp rejects them anyway. */
const SKF_AD_OFF = 0xfffff000 >>> 0;

// chk_code_allowed(): the exact codes classic BPF knows.
const CLASSIC_CODES = new Set<number>([
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_H | BPF_ABS,
  BPF_LD | BPF_B | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LD | BPF_W | BPF_IND,
  BPF_LD | BPF_H | BPF_IND,
  BPF_LD | BPF_B | BPF_IND,
  BPF_LD | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LDX | BPF_B | BPF_MSH,
  BPF_LDX | BPF_IMM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

// seccomp_check_filter(): what seccomp accepts on top of that (no MOD, no packet loads).
const SECCOMP_CODES = new Set<number>([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

const isCondJump = (code: number): boolean => bpfClass(code) === BPF_JMP && code !== (BPF_JMP | BPF_JA);

export interface FilterCheck {
  valid: boolean;
  /** Index of the offending instruction, when there is one. */
  pc?: number;
  reason?: string;
}

/** Would the kernel accept this program as a seccomp filter (EINVAL otherwise)? */
export function validateFilter(insns: readonly Insn[]): FilterCheck {
  const flen = insns.length;
  const bad = (pc: number | undefined, reason: string): FilterCheck => ({ valid: false, pc, reason });
  if (flen === 0) return bad(undefined, 'empty program');
  if (flen > BPF_MAXINSNS) return bad(undefined, `${flen} instructions (at most ${BPF_MAXINSNS})`);

  // bpf_check_classic()
  for (let pc = 0; pc < flen; pc++) {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    if (!CLASSIC_CODES.has(code)) return bad(pc, `unknown opcode 0x${code.toString(16)}`);
    switch (code) {
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_MOD | BPF_K:
        if (k === 0) return bad(pc, 'division by constant zero');
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (k >= 32) return bad(pc, `shift by ${k} (must be < 32)`);
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return bad(pc, `scratch memory index ${k} (must be < ${BPF_MEMWORDS})`);
        break;
      case BPF_JMP | BPF_JA:
        if (k >= flen - pc - 1) return bad(pc, `ja +${k} jumps past the end`);
        break;
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS:
        // Ancillary loads are known to the classic checker; seccomp rejects them below.
        if (k >= SKF_AD_OFF && !isKnownAncillary(k)) return bad(pc, `unknown ancillary load 0x${k.toString(16)}`);
        break;
      default:
        if (isCondJump(code) && (pc + jt + 1 >= flen || pc + jf + 1 >= flen)) {
          return bad(pc, 'conditional jump past the end');
        }
    }
  }
  const last = insns[flen - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) return bad(flen - 1, 'last instruction is not ret');

  // check_load_and_stores(): scratch memory must be written on every path before it is read.
  const masks = new Array<number>(flen).fill(0xffff);
  let memvalid = 0;
  for (let pc = 0; pc < flen; pc++) {
    memvalid &= masks[pc]!;
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    if (code === BPF_ST || code === BPF_STX) {
      memvalid |= 1 << k;
    } else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if (!(memvalid & (1 << k))) return bad(pc, `M[${k}] may be read before it is written`);
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k]! &= memvalid;
      memvalid = 0xffff;
    } else if (isCondJump(code)) {
      masks[pc + 1 + jt]! &= memvalid;
      masks[pc + 1 + jf]! &= memvalid;
      memvalid = 0xffff;
    }
  }

  // seccomp_check_filter()
  for (let pc = 0; pc < flen; pc++) {
    const { code } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    if (!SECCOMP_CODES.has(code)) return bad(pc, `opcode 0x${code.toString(16)} is not allowed in seccomp filters`);
    if (code === (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_SIZE || k & 3)) {
      return bad(pc, `load at offset ${k} is outside struct seccomp_data or unaligned`);
    }
  }
  return { valid: true };
}

function isKnownAncillary(k: number): boolean {
  // SKF_AD_PROTOCOL (0) .. SKF_AD_VLAN_TPID (60) in steps of 4, at SKF_AD_OFF + n.
  const n = (k - SKF_AD_OFF) >>> 0;
  return n <= 60 && n % 4 === 0;
}

/** Throws InputError when the kernel would refuse the program. */
export function assertValidFilter(insns: readonly Insn[]): void {
  const c = validateFilter(insns);
  if (!c.valid) {
    throw new InputError(`invalid seccomp filter${c.pc === undefined ? '' : ` at instruction ${c.pc}`}: ${c.reason}`);
  }
}

export interface SeccompInput {
  /** Syscall number; negative values are taken as their u32 bit pattern. */
  nr: number;
  arch: number;
  ip?: bigint;
  /** Up to six 64-bit arguments (missing ones are 0). */
  args?: readonly bigint[];
}

export interface RunResult {
  ret: number;
  action: Action;
  /** Instructions executed, the ret included. */
  steps: number;
  /** pc of each executed instruction. */
  path: number[];
}

const checked = new WeakMap<readonly Insn[], true>();

/** Builds the 64-byte struct seccomp_data in the given byte order. */
export function seccompDataBytes(data: SeccompInput, endian: Endian): DataView {
  const dv = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  const le = endian === 'little';
  dv.setUint32(0, data.nr >>> 0, le);
  dv.setUint32(4, data.arch >>> 0, le);
  dv.setBigUint64(8, BigInt.asUintN(64, data.ip ?? 0n), le);
  const args = data.args ?? [];
  if (args.length > 6) throw new InputError(`seccomp_data has 6 arguments, got ${args.length}`);
  args.forEach((a, i) => dv.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), le));
  return dv;
}

/**
 * Runs the filter like the kernel: refuses programs the kernel would refuse, reads 32-bit
 * words of seccomp_data in the target's byte order, and returns 0 (KILL_THREAD) on a
 * division by a zero X register, as the kernel's classic-to-eBPF conversion does.
 */
export function runFilter(insns: readonly Insn[], data: SeccompInput, endian: Endian): RunResult {
  if (!checked.has(insns)) {
    assertValidFilter(insns);
    checked.set(insns, true);
  }
  const sd = seccompDataBytes(data, endian);
  const le = endian === 'little';
  const mem = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  const path: number[] = [];
  const done = (ret: number): RunResult => ({ ret: ret >>> 0, action: retToAction(ret), steps: path.length, path });
  for (let pc = 0; pc < insns.length; pc++) {
    path.push(pc);
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    switch (bpfClass(code)) {
      case BPF_LD:
        if (code === (BPF_LD | BPF_W | BPF_ABS)) A = sd.getUint32(k, le);
        else if (code === (BPF_LD | BPF_W | BPF_LEN)) A = SECCOMP_DATA_SIZE;
        else if (code === (BPF_LD | BPF_IMM)) A = k;
        else A = mem[k]!; // BPF_LD | BPF_MEM
        break;
      case BPF_LDX:
        if (code === (BPF_LDX | BPF_W | BPF_LEN)) X = SECCOMP_DATA_SIZE;
        else if (code === (BPF_LDX | BPF_IMM)) X = k;
        else X = mem[k]!;
        break;
      case BPF_ST:
        mem[k] = A;
        break;
      case BPF_STX:
        mem[k] = X;
        break;
      case BPF_ALU: {
        const op = bpfOp(code);
        const v = bpfSrc(code) === BPF_X ? X : k;
        if (op === BPF_DIV && v === 0) return done(0);
        const r = aluResult(op, A, v);
        if (r === undefined) throw new Error(`unreachable ALU op ${op}`);
        A = r;
        break;
      }
      case BPF_JMP: {
        const op = bpfOp(code);
        if (op === BPF_JA) {
          pc += k;
          break;
        }
        const v = bpfSrc(code) === BPF_X ? X : k;
        pc += jumpTaken(op, A, v) ? jt : jf;
        break;
      }
      case BPF_RET:
        return done(code === (BPF_RET | BPF_A) ? A : k);
      case BPF_MISC:
        if (code === (BPF_MISC | BPF_TAX)) X = A;
        else A = X;
        break;
    }
  }
  throw new Error('unreachable: validated filter ran off the end');
}
