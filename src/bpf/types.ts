/**
 * Classic BPF as seccomp uses it: the instruction record (struct sock_filter), opcode
 * constants, the seccomp_data layout and the SECCOMP_RET_* return values.
 */
import { InputError } from '../errors.ts';
import { formatAction } from '../policy/action.ts';
import type { Action } from '../policy/types.ts';

/** One struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type Endian = 'little' | 'big';

// Instruction classes.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

// Load sizes and modes.
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

// ALU operations.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

// Jump operations.
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

// Operand source / return value source.
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;

// Misc operations.
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** Scratch memory words (M[0..15]). */
export const BPF_MEMWORDS = 16;
/** Instructions per program the kernel accepts. */
export const BPF_MAXINSNS = 4096;
/** Largest conditional jump offset (jt/jf are u8). */
export const MAX_COND_JUMP = 255;

export const bpfClass = (code: number): number => code & 0x07;
export const bpfSize = (code: number): number => code & 0x18;
export const bpfMode = (code: number): number => code & 0xe0;
export const bpfOp = (code: number): number => code & 0xf0;
export const bpfSrc = (code: number): number => code & 0x08;

// Frequently used complete opcodes.
export const OP_LD_ABS = BPF_LD | BPF_W | BPF_ABS;
export const OP_LD_LEN = BPF_LD | BPF_W | BPF_LEN;
export const OP_LD_IMM = BPF_LD | BPF_IMM;
export const OP_LD_MEM = BPF_LD | BPF_MEM;
export const OP_LDX_IMM = BPF_LDX | BPF_IMM;
export const OP_LDX_MEM = BPF_LDX | BPF_MEM;
export const OP_LDX_LEN = BPF_LDX | BPF_W | BPF_LEN;
export const OP_JA = BPF_JMP | BPF_JA;
export const OP_JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
export const OP_JGT_K = BPF_JMP | BPF_JGT | BPF_K;
export const OP_JGE_K = BPF_JMP | BPF_JGE | BPF_K;
export const OP_JSET_K = BPF_JMP | BPF_JSET | BPF_K;
export const OP_AND_K = BPF_ALU | BPF_AND | BPF_K;
export const OP_RET_K = BPF_RET | BPF_K;
export const OP_RET_A = BPF_RET | BPF_A;
export const OP_TAX = BPF_MISC | BPF_TAX;
export const OP_TXA = BPF_MISC | BPF_TXA;

/** Offsets in struct seccomp_data. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

/** Offset of the 32-bit half of args[index] for the given byte order. */
export function argOffset(index: number, half: 'lo' | 'hi', endian: Endian): number {
  const base = SECCOMP_DATA_ARGS + 8 * index;
  const lowFirst = endian === 'little';
  return base + ((half === 'lo') === lowFirst ? 0 : 4);
}

// Return values (include/uapi/linux/seccomp.h).
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;
/** The kernel clamps ERRNO data to this. */
export const MAX_ERRNO = 4095;

/** The seccomp return value of an action. Throws InputError for out-of-range data. */
export function actionToRet(a: Action): number {
  switch (a.kind) {
    case 'allow':
      return SECCOMP_RET_ALLOW;
    case 'log':
      return SECCOMP_RET_LOG;
    case 'trap':
      return SECCOMP_RET_TRAP;
    case 'kill-process':
      return SECCOMP_RET_KILL_PROCESS;
    case 'kill-thread':
      return SECCOMP_RET_KILL_THREAD;
    case 'user-notif':
      return SECCOMP_RET_USER_NOTIF;
    case 'errno':
      if (!Number.isInteger(a.errno) || a.errno < 0 || a.errno > MAX_ERRNO) {
        throw new InputError(`errno action value ${a.errno} is out of range 0..${MAX_ERRNO}`);
      }
      return (SECCOMP_RET_ERRNO | a.errno) >>> 0;
    case 'trace':
      if (!Number.isInteger(a.data) || a.data < 0 || a.data > SECCOMP_RET_DATA) {
        throw new InputError(`trace action data ${a.data} is out of range 0..65535`);
      }
      return (SECCOMP_RET_TRACE | a.data) >>> 0;
  }
}

/**
 * The action the kernel takes for a return value. Like the kernel, ERRNO data above 4095 is
 * clamped, TRAP data is dropped (it only reaches the signal's si_errno) and an unknown action
 * kills the process.
 */
export function retToAction(ret: number): Action {
  const r = ret >>> 0;
  const action = (r & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = r & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_ALLOW:
      return { kind: 'allow' };
    case SECCOMP_RET_LOG:
      return { kind: 'log' };
    case SECCOMP_RET_TRACE:
      return { kind: 'trace', data };
    case SECCOMP_RET_USER_NOTIF:
      return { kind: 'user-notif' };
    case SECCOMP_RET_ERRNO:
      return { kind: 'errno', errno: Math.min(data, MAX_ERRNO) };
    case SECCOMP_RET_TRAP:
      return { kind: 'trap' };
    case SECCOMP_RET_KILL_THREAD:
      return { kind: 'kill-thread' };
    default:
      return { kind: 'kill-process' };
  }
}

/** True when the kernel knows the action part of this return value. */
export function isKnownRet(ret: number): boolean {
  const action = ((ret >>> 0) & SECCOMP_RET_ACTION_FULL) >>> 0;
  return [
    SECCOMP_RET_KILL_PROCESS,
    SECCOMP_RET_KILL_THREAD,
    SECCOMP_RET_TRAP,
    SECCOMP_RET_ERRNO,
    SECCOMP_RET_USER_NOTIF,
    SECCOMP_RET_TRACE,
    SECCOMP_RET_LOG,
    SECCOMP_RET_ALLOW,
  ].includes(action);
}

/** Name of a return value, flagging data bits or action values the kernel treats specially. */
export function retName(ret: number): string {
  const r = ret >>> 0;
  const a = retToAction(r);
  if (!isKnownRet(r)) return `kill-process (unknown action 0x${r.toString(16).padStart(8, '0')})`;
  const data = r & SECCOMP_RET_DATA;
  if (a.kind === 'errno' && data > MAX_ERRNO) return `${formatAction(a)} (clamped from ${data})`;
  if ((a.kind === 'allow' || a.kind === 'log' || a.kind === 'user-notif' || a.kind === 'trap' || a.kind.startsWith('kill')) && data) {
    return `${a.kind} (data ${data})`;
  }
  return formatAction(a);
}
