/** Readable listing of a seccomp filter. */
import { archByAudit } from '../syscalls/arches.ts';
import {
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_LD,
  BPF_LSH,
  BPF_MOD,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_X,
  BPF_XOR,
  OP_LD_ABS,
  OP_LD_IMM,
  OP_LD_LEN,
  OP_LD_MEM,
  OP_LDX_IMM,
  OP_LDX_LEN,
  OP_LDX_MEM,
  OP_RET_A,
  OP_RET_K,
  OP_TAX,
  OP_TXA,
  SECCOMP_DATA_ARGS,
  bpfClass,
  bpfOp,
  bpfSrc,
  retName,
  type Endian,
  type Insn,
} from './types.ts';

export interface DisasmOptions {
  /** Byte order of the target: decides which half of an argument an offset names. */
  endian?: Endian;
  /** Syscall name for a number, for comparisons against `nr`. */
  nrName?: (nr: number) => string | undefined;
  /** Text per instruction (e.g. CompiledFilter.comments); where given, it replaces the automatic notes. */
  comments?: readonly string[];
}

/** Name of a 32-bit load at offset k of struct seccomp_data. */
export function fieldName(k: number, endian: Endian = 'little'): string {
  if (k === 0) return 'nr';
  if (k === 4) return 'arch';
  const lowFirst = endian === 'little';
  if (k === 8 || k === 12) return `ip ${(k === 8) === lowFirst ? 'lo' : 'hi'}`;
  if (k >= SECCOMP_DATA_ARGS && k < 64 && k % 4 === 0) {
    const i = (k - SECCOMP_DATA_ARGS) >> 3;
    const lowHalf = ((k - SECCOMP_DATA_ARGS) % 8 === 0) === lowFirst;
    return `args[${i}] ${lowHalf ? 'lo' : 'hi'}`;
  }
  return `0x${k.toString(16)}`;
}

const ALU_NAMES: Record<number, string> = {
  [BPF_ADD]: 'add',
  [BPF_SUB]: 'sub',
  [BPF_MUL]: 'mul',
  [BPF_DIV]: 'div',
  [BPF_OR]: 'or',
  [BPF_AND]: 'and',
  [BPF_LSH]: 'lsh',
  [BPF_RSH]: 'rsh',
  [BPF_NEG]: 'neg',
  [BPF_MOD]: 'mod',
  [BPF_XOR]: 'xor',
};
const JMP_NAMES: Record<number, string> = { [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };

type Source = 'nr' | 'arch' | 'other';

/** What A holds before each instruction, when every path agrees (forward data flow). */
function accumulatorSources(insns: readonly Insn[]): (Source | undefined)[] {
  const into: (Source | null | undefined)[] = new Array(insns.length).fill(undefined); // null = conflict
  const merge = (pc: number, s: Source): void => {
    if (pc >= insns.length) return;
    const cur = into[pc];
    into[pc] = cur === undefined ? s : cur === s ? s : null;
  };
  into[0] = 'other';
  for (let pc = 0; pc < insns.length; pc++) {
    const here = into[pc];
    const src: Source = here === undefined || here === null ? 'other' : here;
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    const cls = bpfClass(code);
    if (cls === BPF_RET) continue;
    if (cls === BPF_JMP) {
      if (bpfOp(code) === BPF_JA) merge(pc + 1 + k, src);
      else {
        merge(pc + 1 + jt, src);
        merge(pc + 1 + jf, src);
      }
      continue;
    }
    let out: Source = src;
    if (code === OP_LD_ABS) out = k === 0 ? 'nr' : k === 4 ? 'arch' : 'other';
    else if (cls === BPF_LD || cls === BPF_ALU || code === OP_TXA) out = 'other';
    merge(pc + 1, out);
  }
  return into.map((s) => (s === null || s === undefined ? undefined : s));
}

/** One line per instruction: `  12: jeq  #0x3b  -> 13 : 40   ; execve`. */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string {
  const endian = opts.endian ?? 'little';
  const width = String(Math.max(insns.length - 1, 0)).length;
  const pad = (n: number): string => String(n).padStart(width, ' ');
  const srcs = accumulatorSources(insns);
  const lines = insns.map((ins, pc) => {
    const { code, jt, jf } = ins;
    const k = ins.k >>> 0;
    const hex = `0x${k.toString(16)}`;
    let text: string;
    const notes: string[] = [];
    const cls = bpfClass(code);
    if (code === OP_LD_ABS) text = `ld   [${fieldName(k, endian)}]`;
    else if (code === OP_LD_LEN) text = 'ld   #len';
    else if (code === OP_LD_IMM) text = `ld   #${hex}`;
    else if (code === OP_LD_MEM) text = `ld   M[${k}]`;
    else if (code === OP_LDX_IMM) text = `ldx  #${hex}`;
    else if (code === OP_LDX_LEN) text = 'ldx  #len';
    else if (code === OP_LDX_MEM) text = `ldx  M[${k}]`;
    else if (code === BPF_ST) text = `st   M[${k}]`;
    else if (code === BPF_STX) text = `stx  M[${k}]`;
    else if (code === OP_TAX) text = 'tax';
    else if (code === OP_TXA) text = 'txa';
    else if (code === OP_RET_A) text = 'ret  A';
    else if (code === OP_RET_K) {
      text = `ret  #0x${k.toString(16).padStart(8, '0')}`;
      notes.push(retName(k));
    } else if (cls === BPF_ALU && ALU_NAMES[bpfOp(code)] !== undefined) {
      const name = ALU_NAMES[bpfOp(code)]!;
      text = bpfOp(code) === BPF_NEG ? 'neg' : `${name.padEnd(4)} ${bpfSrc(code) === BPF_X ? 'X' : `#${hex}`}`;
    } else if (cls === BPF_JMP && bpfOp(code) === BPF_JA) {
      text = `ja   ${pc + 1 + k}`;
    } else if (cls === BPF_JMP && JMP_NAMES[bpfOp(code)] !== undefined) {
      const operand = bpfSrc(code) === BPF_X ? 'X' : `#${hex}`;
      text = `${JMP_NAMES[bpfOp(code)]!.padEnd(4)} ${operand.padEnd(12)} -> ${pc + 1 + jt} : ${pc + 1 + jf}`;
      if (bpfSrc(code) !== BPF_X) {
        const src = srcs[pc];
        if (src === 'arch') notes.push(archByAudit(k)?.name ?? 'unknown arch');
        else if (src === 'nr') {
          const name = opts.nrName?.(k);
          if (name) notes.push(name);
          else if (k >= 0x40000000 && k !== 0xffffffff) notes.push('x32 bit');
        }
      }
    } else {
      text = `.insn code=0x${code.toString(16)} jt=${jt} jf=${jf} k=${hex}`;
      notes.push('unknown opcode');
    }
    // A caller's comment (e.g. the compiler's) replaces the automatic notes.
    const extra = opts.comments?.[pc];
    const shown = extra ? [extra] : notes;
    const note = shown.length ? `  ; ${shown.join('; ')}` : '';
    return `${pad(pc)}: ${text.padEnd(36)}${note}`.trimEnd();
  });
  return lines.join('\n') + (lines.length ? '\n' : '');
}
