/**
 * x86-64 and i386: `syscall` (0f 05), `int $0x80` (cd 80) and, in 32-bit code, glibc's
 * `call *%gs:0x10` (65 ff 15 10 00 00 00), with the number in eax.
 *
 * Candidates are found by a byte search. Each function holding a candidate (or the stretch of
 * code between symbols, or the whole section without symbols) is decoded forward with an
 * instruction-length decoder, which gives true instruction boundaries (a byte pair inside
 * another instruction is dropped) and the direct branch targets. Most candidates are byte pairs
 * inside other instructions; `classify` settles each from a short stretch of code before it with
 * the same answer as that sweep, so only the stretches up to the last real site are decoded
 * whole (stripped libraries have megabytes between symbols). From each real site the
 * scanner walks back over the decoded instructions until one sets eax: `mov $N,%eax`,
 * `mov $N,%rax`, `xor %eax,%eax`, following each way into a branch target in between (a set of
 * constants when they differ). It gives up (unresolved, with the reason) on anything else that
 * may write eax, on a call, and on an unconditional jump.
 * Jumps into the function from elsewhere (other than its start) and indirect jumps are not seen.
 */
import { Buffer } from 'node:buffer';
import type { ElfExecRegion, SiteIsa, SiteKind, SyscallSite } from '../types.ts';
import { Bits, JOIN, MAX_JOINS, MAX_PATHS, mergePaths, type Recovered, type ScanContext, WINDOW } from './common.ts';
import { doubled } from '../../util/typed-grow.ts';

/** Bytes of a trap site: `syscall` (0f 05), `int $0x80` (cd 80) and `sysenter` (0f 34) alike. */
export const X86_TRAP_LENGTH = 2;
/** Bytes of glibc's i386 `call *%gs:0x10` (65 ff 15 10 00 00 00). */
export const X86_VSYSCALL_LENGTH = 7;

// One-byte opcode map: bit 0x80 = has ModRM, low bits = immediate kind.
// 0: no immediate
const I_B = 1; // imm8
const I_W = 2; // imm16
const I_Z = 3; // imm16/32 by operand size
const I_V = 4; // imm16/32/64 (B8-BF)
const I_MOFFS = 5; // address-sized offset
const I_ENTER = 6; // imm16 + imm8
const I_FAR = 7; // ptr16:16/32
const I_REL = 8; // rel32 (rel16 with 66 in 32-bit code)
const I_GRP3 = 9; // F6/F7: imm only for /0 and /1
const M = 0x80;
const BAD = 0x40; // invalid in 64-bit mode (valid in 32-bit)

const ONE = new Uint8Array(256);
const TWO = new Uint8Array(256); // 0F map: bit 0x80 = ModRM, low bits = immediate kind
(() => {
  for (let r = 0; r < 8; r++) {
    const b = r * 8;
    ONE[b] = ONE[b + 1] = ONE[b + 2] = ONE[b + 3] = M;
    ONE[b + 4] = I_B;
    ONE[b + 5] = I_Z;
  }
  for (const o of [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0xce, 0xd6]) ONE[o] = BAD;
  ONE[0x62] = M | BAD; // bound (EVEX is handled before the table)
  ONE[0x63] = M;
  ONE[0x68] = I_Z;
  ONE[0x69] = M | I_Z;
  ONE[0x6a] = I_B;
  ONE[0x6b] = M | I_B;
  for (let o = 0x70; o <= 0x7f; o++) ONE[o] = I_B;
  ONE[0x80] = M | I_B;
  ONE[0x81] = M | I_Z;
  ONE[0x82] = M | I_B | BAD;
  ONE[0x83] = M | I_B;
  for (let o = 0x84; o <= 0x8f; o++) ONE[o] = M;
  ONE[0x9a] = I_FAR | BAD;
  for (let o = 0xa0; o <= 0xa3; o++) ONE[o] = I_MOFFS;
  ONE[0xa8] = I_B;
  ONE[0xa9] = I_Z;
  for (let o = 0xb0; o <= 0xb7; o++) ONE[o] = I_B;
  for (let o = 0xb8; o <= 0xbf; o++) ONE[o] = I_V;
  ONE[0xc0] = M | I_B;
  ONE[0xc1] = M | I_B;
  ONE[0xc2] = I_W;
  ONE[0xc4] = M | BAD; // les/lds in 32-bit code (VEX handled before the table)
  ONE[0xc5] = M | BAD;
  ONE[0xc6] = M | I_B;
  ONE[0xc7] = M | I_Z;
  ONE[0xc8] = I_ENTER;
  ONE[0xca] = I_W;
  ONE[0xcd] = I_B;
  for (let o = 0xd0; o <= 0xd3; o++) ONE[o] = M;
  ONE[0xd4] = I_B | BAD;
  ONE[0xd5] = I_B | BAD;
  for (let o = 0xd8; o <= 0xdf; o++) ONE[o] = M;
  for (let o = 0xe0; o <= 0xe7; o++) ONE[o] = I_B;
  ONE[0xe8] = I_REL;
  ONE[0xe9] = I_REL;
  ONE[0xea] = I_FAR | BAD;
  ONE[0xeb] = I_B;
  ONE[0xf6] = M | I_GRP3;
  ONE[0xf7] = M | I_GRP3;
  ONE[0xfe] = M;
  ONE[0xff] = M;

  TWO.fill(M);
  for (const o of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa]) TWO[o] = 0;
  for (let o = 0xc8; o <= 0xcf; o++) TWO[o] = 0;
  for (let o = 0x80; o <= 0x8f; o++) TWO[o] = I_REL;
  for (const o of [0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6, 0x0f]) TWO[o] = M | I_B;
})();

/** One decoded instruction; reused to avoid allocation. */
export class Insn {
  len = 0;
  /** 0 one-byte, 1 = 0F, 2 = 0F38, 3 = 0F3A; VEX/EVEX/XOP set `vex`. */
  map = 0;
  op = 0;
  modrm = -1;
  rexW = false;
  rexR = 0;
  rexB = 0;
  hasRex = false;
  o16 = false;
  vex = false;
  vvvv = 0;
  seg = 0;
  immOff = 0;
  immSize = 0;
  /** Offset (from the next instruction) of a direct branch, or NaN. */
  rel = NaN;
}

/** Decodes the instruction at `p`; returns false when it is not a valid instruction. */
export function decode(b: Uint8Array, p: number, end: number, x64: boolean, d: Insn): boolean {
  const limit = Math.min(end, p + 15);
  let i = p;
  let rex = 0;
  let o16 = false;
  let a16 = false;
  let seg = 0;
  for (;;) {
    if (i >= limit) return false;
    const c = b[i]!;
    if (c === 0x66) o16 = true;
    else if (c === 0x67) a16 = true;
    else if (c === 0xf2 || c === 0xf3 || c === 0xf0) {
      /* rep/lock */
    } else if (c === 0x26 || c === 0x2e || c === 0x36 || c === 0x3e || c === 0x64 || c === 0x65) seg = c;
    else if (x64 && (c & 0xf0) === 0x40) {
      rex = c;
      i++;
      if (i < limit && isLegacyPrefix(b[i]!)) rex = 0; // REX must come last
      continue;
    } else break;
    rex = 0;
    i++;
  }
  d.rexW = (rex & 8) !== 0;
  d.rexR = (rex >> 2) & 1;
  d.rexB = rex & 1;
  d.hasRex = rex !== 0;
  d.o16 = o16;
  d.seg = seg;
  d.vex = false;
  d.vvvv = 0;
  d.rel = NaN;
  d.modrm = -1;
  d.immSize = 0;
  let op = b[i++]!;
  let map = 0;
  let flags: number;
  const next = i < limit ? b[i]! : -1;
  if (op === 0x0f) {
    if (i >= limit) return false;
    op = b[i++]!;
    map = 1;
    if (op === 0x38 || op === 0x3a) {
      map = op === 0x38 ? 2 : 3;
      if (i >= limit) return false;
      op = b[i++]!;
      flags = map === 3 ? M | I_B : M;
    } else flags = TWO[op]!;
  } else if ((op === 0xc4 || op === 0xc5) && next >= 0 && (x64 || next >= 0xc0)) {
    // VEX
    d.vex = true;
    if (op === 0xc5) {
      if (i + 1 >= limit) return false;
      const p1 = b[i]!;
      d.rexR = ((p1 >> 7) & 1) ^ 1;
      d.vvvv = (~p1 >> 3) & 0xf;
      map = 1;
      i += 1;
    } else {
      if (i + 2 >= limit) return false;
      const p1 = b[i]!;
      const p2 = b[i + 1]!;
      d.rexR = ((p1 >> 7) & 1) ^ 1;
      d.rexB = x64 ? ((p1 >> 5) & 1) ^ 1 : 0;
      d.rexW = (p2 & 0x80) !== 0;
      d.vvvv = (~p2 >> 3) & 0xf;
      map = p1 & 0x1f;
      if (map < 1 || map > 3) return false;
      i += 2;
    }
    op = b[i++]!;
    flags = vexFlags(map, op);
  } else if (op === 0x62 && next >= 0 && (x64 || next >= 0xc0)) {
    // EVEX
    if (i + 3 >= limit) return false;
    const p0 = b[i]!;
    const p1 = b[i + 1]!;
    d.vex = true;
    d.rexR = ((p0 >> 7) & 1) ^ 1;
    d.rexB = ((p0 >> 5) & 1) ^ 1;
    d.rexW = (p1 & 0x80) !== 0;
    d.vvvv = (~p1 >> 3) & 0xf;
    map = p0 & 7;
    if (map === 0 || map === 4 || map === 7) return false;
    i += 3;
    op = b[i++]!;
    flags = map === 3 ? M | I_B : map === 1 ? vexFlags(1, op) | M : M;
  } else if (op === 0x8f && next >= 0 && (next & 0x38) !== 0) {
    // XOP (AMD)
    if (i + 2 >= limit) return false;
    const p1 = b[i]!;
    const p2 = b[i + 1]!;
    d.vex = true;
    d.rexR = ((p1 >> 7) & 1) ^ 1;
    d.rexB = x64 ? ((p1 >> 5) & 1) ^ 1 : 0;
    d.vvvv = (~p2 >> 3) & 0xf;
    map = p1 & 0x1f;
    if (map < 8 || map > 10) return false;
    i += 2;
    op = b[i++]!;
    flags = map === 8 ? M | I_B : map === 10 ? M | I_Z : M;
  } else {
    flags = ONE[op]!;
    if (x64 && flags & BAD) return false;
  }
  d.map = map;
  d.op = op;
  if (flags & M) {
    if (i >= limit) return false;
    const modrm = b[i++]!;
    d.modrm = modrm;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    if (mod !== 3) {
      if (!x64 && a16) {
        if (mod === 0 && rm === 6) i += 2;
        else if (mod === 1) i += 1;
        else if (mod === 2) i += 2;
      } else {
        if (rm === 4) {
          if (i >= limit) return false;
          const sib = b[i++]!;
          if (mod === 0 && (sib & 7) === 5) i += 4;
        } else if (mod === 0 && rm === 5) i += 4;
        if (mod === 1) i += 1;
        else if (mod === 2) i += 4;
      }
    }
  }
  let imm = 0;
  switch (flags & 0x0f) {
    case I_B:
      imm = 1;
      break;
    case I_W:
      imm = 2;
      break;
    case I_Z:
      imm = o16 && !d.rexW ? 2 : 4;
      break;
    case I_V:
      imm = d.rexW ? 8 : o16 ? 2 : 4;
      break;
    case I_MOFFS:
      imm = x64 ? (a16 ? 4 : 8) : a16 ? 2 : 4;
      break;
    case I_ENTER:
      imm = 3;
      break;
    case I_FAR:
      imm = o16 ? 4 : 6;
      break;
    case I_REL:
      imm = !x64 && o16 ? 2 : 4;
      break;
    case I_GRP3:
      imm = ((d.modrm >> 3) & 7) < 2 ? (op === 0xf6 ? 1 : o16 && !d.rexW ? 2 : 4) : 0;
      break;
  }
  d.immOff = i - p;
  d.immSize = imm;
  i += imm;
  if (i > limit) return false;
  d.len = i - p;
  // Direct branches.
  if (map === 0 && !d.vex) {
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op === 0xeb) d.rel = (b[p + d.immOff]! << 24) >> 24;
    else if (op === 0xe9) d.rel = readImm(b, p + d.immOff, imm, true);
  } else if (map === 1 && !d.vex && op >= 0x80 && op <= 0x8f) d.rel = readImm(b, p + d.immOff, imm, true);
  return true;
}

function isLegacyPrefix(c: number): boolean {
  return c === 0x66 || c === 0x67 || c === 0xf2 || c === 0xf3 || c === 0xf0 || c === 0x26 || c === 0x2e || c === 0x36 || c === 0x3e || c === 0x64 || c === 0x65;
}

function vexFlags(map: number, op: number): number {
  if (map === 3) return M | I_B;
  if (map === 1) {
    if (op === 0x77) return 0; // vzeroupper/vzeroall
    if ((op >= 0x70 && op <= 0x73) || op === 0xc2 || op === 0xc4 || op === 0xc5 || op === 0xc6) return M | I_B;
  }
  return M;
}

export function readImm(b: Uint8Array, o: number, size: number, signed: boolean): number {
  if (size === 1) return signed ? (b[o]! << 24) >> 24 : b[o]!;
  if (size === 2) {
    const v = b[o]! | (b[o + 1]! << 8);
    return signed ? (v << 16) >> 16 : v;
  }
  const v = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
  if (size === 4) return signed ? v : v >>> 0;
  const hi = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
  return hi * 0x100000000 + (v >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Effect of an instruction on the tracked register t (0 = eax, 1 = ecx, 2 = edx, ..., 7 = edi, 8-15 = r8-r15)

type Effect = 'none' | 'unknown' | 'call' | 'stop' | 'syscall' | { v: number } | { copy: number };

export const EAX = 0;
const ECX = 1;
const EDX = 2;
const EBX = 3;
const ESP = 4;
const EBP = 5;
const ESI = 6;
export const EDI = 7;
const R11 = 11;
/** Registers the kernel's syscall return clobbers on x86-64 (rax, rcx, r11) / int 0x80 (eax). */
const SYSCALL_CLOBBERS = (1 << EAX) | (1 << ECX) | (1 << R11);
const bit = (r: number): number => 1 << r;
const CALLER_SAVED_64 = bit(EAX) | bit(ECX) | bit(EDX) | bit(ESI) | bit(EDI) | bit(8) | bit(9) | bit(10) | bit(R11);
const CALLER_SAVED_32 = bit(EAX) | bit(ECX) | bit(EDX);

/** Registers written implicitly (not through ModRM/opcode register fields), as a bit mask. */
function implicitWrites(d: Insn): number {
  const op = d.op;
  if (d.vex) return 0;
  if (d.map === 1) {
    switch (op) {
      case 0xa2:
        return bit(EAX) | bit(EBX) | bit(ECX) | bit(EDX); // cpuid
      case 0x31:
      case 0x32:
      case 0x33:
        return bit(EAX) | bit(EDX); // rdtsc, rdmsr, rdpmc
      case 0x01:
      case 0x00:
        return 0xffff; // system group (xgetbv, rdtscp, rdpkru...)
      case 0xb0:
      case 0xb1:
        return bit(EAX); // cmpxchg
      case 0xc7:
        return bit(EAX) | bit(EDX); // cmpxchg8b/16b
      case 0xa0:
      case 0xa8:
        return bit(ESP); // push fs/gs
      case 0xa1:
      case 0xa9:
        return bit(ESP);
    }
    return 0;
  }
  if (d.map !== 0) return 0;
  if (op >= 0x50 && op <= 0x5f) return bit(ESP);
  switch (op) {
    case 0x98:
    case 0x9f:
    case 0xd7:
    case 0xe4:
    case 0xe5:
    case 0xec:
    case 0xed:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0x27:
    case 0x2f:
    case 0x37:
    case 0x3f:
      return bit(EAX);
    case 0x99:
      return bit(EDX);
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa7:
      return bit(ESI) | bit(EDI) | bit(ECX);
    case 0xaa:
    case 0xab:
    case 0xae:
    case 0xaf:
      return bit(EDI) | bit(ECX);
    case 0xac:
    case 0xad:
      return bit(ESI) | bit(EAX) | bit(ECX);
    case 0x6c:
    case 0x6d:
      return bit(EDI) | bit(ECX);
    case 0x6e:
    case 0x6f:
      return bit(ESI) | bit(ECX);
    case 0xe0:
    case 0xe1:
    case 0xe2:
      return bit(ECX);
    case 0x61:
      return 0xff;
    case 0x60:
    case 0x68:
    case 0x6a:
    case 0x9c:
    case 0x9d:
    case 0x06:
    case 0x07:
    case 0x0e:
    case 0x16:
    case 0x17:
    case 0x1e:
    case 0x1f:
      return bit(ESP);
    case 0xc8:
    case 0xc9:
      return bit(ESP) | bit(EBP);
    case 0xf6:
    case 0xf7:
      return ((d.modrm >> 3) & 7) >= 4 ? bit(EAX) | bit(EDX) : 0;
    case 0xdf:
      return d.modrm === 0xe0 ? bit(EAX) : 0;
    case 0x8f:
      return bit(ESP);
    case 0xff:
      return ((d.modrm >> 3) & 7) === 6 ? bit(ESP) : 0;
  }
  return 0;
}

function regEffect(b: Uint8Array, p: number, d: Insn, t: number): Effect {
  const modrm = d.modrm;
  const mod = modrm >> 6;
  const reg = ((modrm >> 3) & 7) | (d.rexR << 3);
  const rm = (modrm & 7) | (d.rexB << 3);
  const op = d.op;
  /** Register number r (byte register when byteOp) is t or a part of it. */
  const isT = (r: number, byteOp: boolean): boolean => r === t || (byteOp && !d.hasRex && t < 4 && r === t + 4);
  const rmT = (byteOp: boolean): boolean => mod === 3 && isT(rm, byteOp);
  if (d.vex) {
    // Only a few VEX/EVEX/XOP instructions write general registers; the rest write vector registers.
    if (d.map === 1 && !VEX1_GPR.has(op)) return 'none';
    if (d.map === 2 && !(op >= 0xf0 && op <= 0xf7)) return 'none';
    if (d.map === 3 && !((op >= 0x14 && op <= 0x17) || op === 0xf0)) return 'none';
    return reg === t || (mod === 3 && rm === t) || d.vvvv === t ? 'unknown' : 'none';
  }
  if (implicitWrites(d) & bit(t)) return 'unknown';
  if (d.map === 1) {
    switch (op) {
      case 0x05:
      case 0x34:
      case 0x07:
        return SYSCALL_CLOBBERS & bit(t) ? (t === EAX ? 'syscall' : 'unknown') : 'none';
      case 0x0b:
        return 'stop';
      case 0x31:
      case 0x32:
      case 0x33:
      case 0xa2:
      case 0x01:
      case 0x00:
      case 0xa0:
      case 0xa8:
      case 0xa1:
      case 0xa9:
      case 0xc7:
        return 'none'; // implicit writes handled above; no register operand written
      case 0xb0:
      case 0xb1:
        return rmT(op === 0xb0) ? 'unknown' : 'none';
    }
    if (op >= 0x80 && op <= 0x8f) return 'none';
    if (op >= 0x18 && op <= 0x1f) return 'none'; // hint nops, endbr
    if (op >= 0x90 && op <= 0x9f) return rmT(true) ? 'unknown' : 'none'; // setcc
    if (op >= 0xc8 && op <= 0xcf) return ((op & 7) | (d.rexB << 3)) === t ? 'unknown' : 'none'; // bswap
    if (op === 0xa3 || op === 0xab || op === 0xb3 || op === 0xbb || op === 0xa4 || op === 0xa5 || op === 0xac || op === 0xad || op === 0xba) {
      return rmT(false) ? 'unknown' : 'none';
    }
    if (modrm < 0) return 'unknown';
    if (TWO_REG_DEST.has(op) && reg === t) return 'unknown';
    if (TWO_RM_DEST.has(op) && mod === 3 && rm === t) return 'unknown';
    return 'none'; // SSE/MMX and friends write vector registers or memory
  }
  if (d.map === 2) return (op === 0xf0 || op === 0xf1 || op === 0xf6) && reg === t ? 'unknown' : 'none'; // movbe, crc32, adcx/adox
  if (d.map === 3) return op >= 0x14 && op <= 0x17 && mod === 3 && rm === t ? 'unknown' : 'none'; // pextr*, extractps

  if (op < 0x40 && (op & 7) < 6) {
    const row = op >> 3;
    const k = op & 7;
    if (row === 7) return 'none'; // cmp
    if ((op === 0x31 || op === 0x33 || op === 0x29 || op === 0x2b) && mod === 3 && reg === t && rm === t) {
      return d.o16 ? 'unknown' : { v: 0 };
    }
    if (k <= 1) return rmT(k === 0) ? 'unknown' : 'none';
    if (k <= 3) return isT(reg, k === 2) ? 'unknown' : 'none';
    return t === EAX ? 'unknown' : 'none'; // op al/eax, imm
  }
  if (op < 0x40) return 'none'; // push/pop segment; daa & co. are implicit writes
  if (op >= 0x40 && op <= 0x4f) return (op & 7) === t ? 'unknown' : 'none'; // inc/dec r32 (32-bit code)
  if (op >= 0x50 && op <= 0x57) return 'none';
  if (op >= 0x58 && op <= 0x5f) return ((op & 7) | (d.rexB << 3)) === t ? 'unknown' : 'none';
  if (op >= 0x70 && op <= 0x7f) return 'none';
  if (op >= 0xb0 && op <= 0xb7) return isT((op & 7) | (d.rexB << 3), true) ? 'unknown' : 'none';
  if (op >= 0xb8 && op <= 0xbf) {
    if (((op & 7) | (d.rexB << 3)) !== t) return 'none';
    if (d.o16) return 'unknown';
    return { v: readImm(b, p + d.immOff, d.immSize, false) };
  }
  if (op >= 0x91 && op <= 0x97) return t === EAX || ((op & 7) | (d.rexB << 3)) === t ? 'unknown' : 'none';
  if (op >= 0xd8 && op <= 0xdf) return 'none'; // x87 (fnstsw %ax is an implicit write)
  if (op >= 0xe0 && op <= 0xe3) return 'none';
  switch (op) {
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x68:
    case 0x6a:
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
      return 'none';
    case 0x63:
    case 0x69:
    case 0x6b:
    case 0x8d:
      return reg === t ? 'unknown' : 'none';
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
      if (((modrm >> 3) & 7) === 7) return 'none';
      return rmT(op === 0x80 || op === 0x82) ? 'unknown' : 'none';
    case 0x84:
    case 0x85:
      return 'none';
    case 0x86:
    case 0x87:
      return isT(reg, op === 0x86) || rmT(op === 0x86) ? 'unknown' : 'none';
    case 0x88:
      return rmT(true) ? 'unknown' : 'none';
    case 0x89:
      if (!rmT(false)) return 'none';
      return d.o16 ? 'unknown' : { copy: reg };
    case 0x8a:
      return isT(reg, true) ? 'unknown' : 'none';
    case 0x8b:
      if (reg !== t) return 'none';
      return mod === 3 && !d.o16 ? { copy: rm } : 'unknown';
    case 0x8c:
    case 0x8f:
      return rmT(false) ? 'unknown' : 'none';
    case 0x8e:
      return 'none';
    case 0x90:
      return d.rexB && (t === EAX || t === 8) ? 'unknown' : 'none';
    case 0x9a:
      return 'call';
    case 0x98:
    case 0x99:
    case 0x9b:
    case 0x9c:
    case 0x9d:
    case 0x9e:
    case 0x9f:
    case 0xa2:
    case 0xa3:
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa7:
    case 0xa8:
    case 0xa9:
    case 0xaa:
    case 0xab:
    case 0xac:
    case 0xad:
    case 0xae:
    case 0xaf:
    case 0xc8:
    case 0xc9:
    case 0xce:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xe4:
    case 0xe5:
    case 0xec:
    case 0xed:
    case 0xe6:
    case 0xe7:
    case 0xee:
    case 0xef:
    case 0xf5:
    case 0xf8:
    case 0xf9:
    case 0xfa:
    case 0xfb:
    case 0xfc:
    case 0xfd:
      return 'none'; // implicit writes handled above
    case 0xa0:
    case 0xa1:
      return t === EAX ? 'unknown' : 'none';
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return rmT(op === 0xc0 || op === 0xd0 || op === 0xd2) ? 'unknown' : 'none';
    case 0xc2:
    case 0xc3:
    case 0xca:
    case 0xcb:
    case 0xcf:
    case 0xcc:
    case 0xf1:
    case 0xf4:
    case 0xe9:
    case 0xeb:
    case 0xea:
      return 'stop';
    case 0xc6:
      if (((modrm >> 3) & 7) !== 0) return 'unknown';
      return rmT(true) ? 'unknown' : 'none';
    case 0xc7: {
      if (((modrm >> 3) & 7) !== 0) return 'unknown';
      if (!rmT(false)) return 'none';
      if (d.o16) return 'unknown';
      return { v: readImm(b, p + d.immOff, 4, d.rexW) };
    }
    case 0xcd:
      return b[p + d.immOff] === 0x80 ? (t === EAX ? 'syscall' : 'none') : 'unknown';
    case 0xe8:
      return 'call';
    case 0xf6:
    case 0xf7: {
      const sub = (modrm >> 3) & 7;
      if (sub < 2) return 'none';
      if (sub < 4) return rmT(op === 0xf6) ? 'unknown' : 'none';
      return 'none'; // mul/div: implicit writes handled above
    }
    case 0xfe:
    case 0xff: {
      const sub = (modrm >> 3) & 7;
      if (sub < 2) return rmT(op === 0xfe) ? 'unknown' : 'none';
      if (op === 0xfe) return 'unknown';
      if (sub === 2 || sub === 3) return 'call';
      if (sub === 4 || sub === 5) return 'stop';
      return 'none';
    }
  }
  return 'unknown';
}

/** 0F opcodes whose ModRM.reg is a general register they write. */
const TWO_REG_DEST = new Set([
  0x02, 0x03, 0x2c, 0x2d, 0x50, 0xaf, 0xb2, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc5, 0xd7, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
  0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
]);
/** 0F opcodes that may write the general register in ModRM.rm (mod = 3). */
const TWO_RM_DEST = new Set([0x00, 0x01, 0x20, 0x21, 0x78, 0x7e, 0xae, 0xc0, 0xc1, 0xc7]);
/** VEX map 1 opcodes with a general-register destination. */
const VEX1_GPR = new Set([0x2c, 0x2d, 0x50, 0x7e, 0x90, 0x91, 0x92, 0x93, 0x98, 0x99, 0xc5, 0xd7]);

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

// ---------------------------------------------------------------------------------------------
// Scanner

const KINDS: readonly SiteKind[] = ['syscall', 'int80', 'vsyscall'];
const VSYSCALL = Buffer.from([0x65, 0xff, 0x15, 0x10, 0, 0, 0]);

/** Region-relative offsets of the candidate byte sequences, ascending, as `offset * 4 + kind index`. */
function findCandidates(b: Uint8Array, base: number, size: number, x64: boolean): Float64Array {
  const buf = Buffer.from(b.buffer, b.byteOffset + base, size);
  const found: number[] = [];
  // memchr for one byte, then a look at its neighbour: 0x0f is too common in code for a fast
  // two-byte search, 0x05 and 0xcd are rarer.
  for (let i = buf.indexOf(0x05, 1); i >= 0; i = buf.indexOf(0x05, i + 1)) if (buf[i - 1] === 0x0f) found.push((i - 1) * 4);
  for (let i = buf.indexOf(0xcd); i >= 0; i = buf.indexOf(0xcd, i + 1)) if (i + 1 < size && buf[i + 1] === 0x80) found.push(i * 4 + 1);
  if (!x64) for (let i = buf.indexOf(VSYSCALL); i >= 0; i = buf.indexOf(VSYSCALL, i + 1)) found.push(i * 4 + 2);
  return Float64Array.from(found).sort();
}

/** What the forward sweep of an interval makes of a candidate. */
const C_INSIDE = 0; // inside another instruction: not a site
const C_BAD = 1; // not an instruction start, and decoding failed within 16 bytes before it
const C_START = 2; // an instruction start: a site, to be validated and resolved by the full sweep

/** Scratch for `classify`: next instruction start per offset of the window, and the reference path. */
let memo = new Int32Array(0);
let mark = new Uint8Array(0);

/**
 * Where the sweep of the whole interval [lo, hi) (from lo, one instruction at a time, one byte on
 * an undecodable one) would stand around candidate c, without decoding the whole interval.
 *
 * An instruction is at most 15 bytes, so the sweep from lo lands somewhere in [s, s + 15) for any
 * s in (lo, c]. The paths from all 15 of those offsets are followed; when they all run into the
 * path from s before c - 15, the sweep from lo is that path over [c - 15, c], whatever its entry
 * point. Otherwise the window grows, and in the end the sweep starts at lo itself. Exact either way.
 */
function classify(b: Uint8Array, base: number, lo: number, hi: number, c: number, x64: boolean, d: Insn): number {
  const end = base + hi;
  for (let w = 64; ; w *= 4) {
    const s = w > 16384 || c - w <= lo ? lo : c - w;
    const window = s !== lo;
    const n = c - s + 1;
    if (window) {
      if (memo.length < n) {
        memo = new Int32Array(Math.max(n, 2 * memo.length));
        mark = new Uint8Array(memo.length);
      }
      memo.fill(-1, 0, n);
      mark.fill(0, 0, n);
    }
    // The path from s, up to c.
    let atC = false;
    let badNear = false;
    for (let p = s; p <= c; ) {
      if (window) mark[p - s] = 1;
      const ok = decode(b, base + p, end, x64, d);
      if (p === c) atC = ok;
      if (!ok && p >= c - 15) badNear = true;
      p = ok ? p + d.len : p + 1;
    }
    let merged = true;
    if (window) {
      // Every other entry point must join that path by c - 15.
      for (let e = s + 1; e < s + 15 && merged; e++) {
        let p = e;
        while (p <= c - 15 && mark[p - s] === 0) {
          let q = memo[p - s]!;
          if (q < 0) {
            q = decode(b, base + p, end, x64, d) ? p + d.len : p + 1;
            memo[p - s] = q;
          }
          p = q;
        }
        if (p > c - 15) merged = false;
      }
    }
    if (merged) return atC ? C_START : badNear ? C_BAD : C_INSIDE;
  }
}

export function scanX86(ctx: ScanContext, region: ElfExecRegion, x64: boolean, out: SyscallSite[]): void {
  const b = ctx.bytes;
  const base = region.offset;
  const size = region.size;
  const isa: SiteIsa = x64 ? 'x86_64' : 'i386';
  // 1. Candidates by byte search.
  const cands = findCandidates(b, base, size, x64);
  const nc = cands.length;
  if (nc === 0) return;
  const offOf = (i: number): number => Math.floor(cands[i]! / 4);
  const kindOf = (i: number): SiteKind => KINDS[cands[i]! % 4]!;

  // 2. Sweep intervals: the function around each candidate, or the code between symbols.
  const ivLo: number[] = [];
  const ivHi: number[] = [];
  for (let i = 0; i < nc; i++) {
    const [lo, hi] = sweepInterval(ctx, region, offOf(i));
    const last = ivLo.length - 1;
    if (last >= 0 && lo < ivHi[last]!) {
      ivLo[last] = Math.min(ivLo[last]!, lo);
      ivHi[last] = Math.max(ivHi[last]!, hi);
      continue;
    }
    ivLo.push(lo);
    ivHi.push(hi);
  }
  // Candidates [ivFirst[j], ivEnd[j]) belong to interval j.
  const ni = ivLo.length;
  const ivFirst = new Int32Array(ni);
  const ivEnd = new Int32Array(ni);
  for (let j = 0, ci = 0; j < ni; j++) {
    while (ci < nc && offOf(ci) < ivLo[j]!) ci++;
    ivFirst[j] = ci;
    while (ci < nc && offOf(ci) < ivHi[j]!) ci++;
    ivEnd[j] = ci;
  }

  // 3. Most candidates are byte pairs inside other instructions. Classify each from a short
  // window of code before it; only intervals holding real sites are swept whole (their sites are
  // resolved against the branch targets of the intervals swept so far, as before).
  const d = new Insn();
  const cls = new Uint8Array(nc);
  let lastFull = -1;
  for (let j = ni - 1; j >= 0 && lastFull < 0; j--) {
    for (let i = ivFirst[j]!; i < ivEnd[j]!; i++) {
      cls[i] = classify(b, base, ivLo[j]!, ivHi[j]!, offOf(i), x64, d);
      if (cls[i] === C_START) {
        lastFull = j;
        break;
      }
    }
  }

  const targets = lastFull >= 0 ? new Bits(size, 0) : undefined;
  // Branches to a target over every interval swept so far (asked only at joins).
  const swept: X86Sweep[] = [];
  const counts = (at: number): number => {
    let c = 0;
    for (const x of swept) c += x.sources(at).length;
    return c;
  };
  for (let j = 0; j < ni; j++) {
    const lo = ivLo[j]!;
    const hi = ivHi[j]!;
    if (j > lastFull) {
      for (let i = ivFirst[j]!; i < ivEnd[j]!; i++) {
        if (cls[i] === C_BAD) out.push(...ctx.sites(region, region.addr + offOf(i), isa, kindOf(i), UNDECODABLE));
      }
      continue;
    }
    // 4. Forward sweep.
    const sw = sweepX86(ctx, region, lo, hi, x64, targets!, d);
    swept.push(sw);
    // 5. Sites in this interval.
    for (let i = ivFirst[j]!; i < ivEnd[j]!; i++) {
      const off = offOf(i);
      const kind = kindOf(i);
      const k = instructionAt(sw, off);
      const addr = region.addr + off;
      if (k < 0) {
        // Inside another instruction: not a site, unless decoding failed just before it.
        const x = sw.bad[lowerBoundArr(sw.bad, off - 15)];
        if (x !== undefined && x <= off) out.push(...ctx.sites(region, addr, isa, kind, UNDECODABLE));
        continue;
      }
      // Validate the instruction: int must be cd 80 itself, syscall 0f 05 without VEX.
      if (!decode(b, base + off, base + hi, x64, d)) continue;
      if (kind === 'vsyscall' && (d.map !== 0 || d.op !== 0xff || d.seg !== 0x65)) continue;
      out.push(...ctx.sites(region, addr, isa, kind, valueBefore(b, base, sw, k, EAX, targets!, x64, d, counts)));
    }
  }
}

/**
 * The stretch a sweep decodes around region offset `off` (region-relative [lo, hi)): the
 * enclosing function, or the code between symbols, bounded.
 */
export function sweepInterval(ctx: ScanContext, region: ElfExecRegion, off: number): [lo: number, hi: number] {
  const key = ctx.key(region);
  const addr = region.addr + off;
  let lo: number;
  let hi: number;
  const f = ctx.funcs.at(addr, key);
  if (f) {
    lo = f.start;
    hi = f.end;
  } else {
    // No symbol says where this code starts: sweep from the previous symbol's end, but never
    // more than UNNAMED_BEFORE bytes back (x86 decoding falls into step within a few
    // instructions), nor UNNAMED_AFTER past it. Without the bound, a file whose executable
    // segment also maps its data (a 108 MB one: 54 MB of .rodata and tables) was decoded end
    // to end for a few byte pairs that look like syscalls.
    lo = Math.max(ctx.funcs.prevEnd(addr, key) ?? region.addr, addr - UNNAMED_BEFORE);
    hi = Math.min(ctx.funcs.nextStart(addr, key) ?? region.addr + region.size, addr + UNNAMED_AFTER);
  }
  return [Math.max(lo, region.addr) - region.addr, Math.min(hi, region.addr + region.size) - region.addr];
}

/** One forward sweep of a stretch [lo, hi) of a region (region-relative offsets). */
export interface X86Sweep {
  lo: number;
  hi: number;
  /** Instruction starts, ascending: the first `n` entries. */
  starts: Int32Array;
  n: number;
  /** Offsets where decoding failed (the sweep stepped one byte on). */
  bad: number[];
  /** Whether lo is a function's first byte (so nothing before it sets a register). */
  funcStart: boolean;
  /**
   * Indexes in `starts` of this sweep's direct branches to a region offset (made on the first
   * join asked about: most sweeps never walk back through one).
   */
  sources(at: number): readonly number[];
}

/** A sweep's direct branches as (instruction index, target) pairs; `sources` indexes them by target when first asked. */
function branchIndex(from: Int32Array, to: Float64Array, n: number): (at: number) => readonly number[] {
  let byTarget: Map<number, number[]> | undefined;
  return (at) => {
    if (!byTarget) {
      byTarget = new Map();
      for (let k = 0; k < n; k++) {
        const list = byTarget.get(to[k]!);
        if (list) list.push(from[k]!);
        else byTarget.set(to[k]!, [from[k]!]);
      }
    }
    return byTarget.get(at) ?? NONE;
  };
}

const NONE: readonly number[] = [];

/** Decodes [lo, hi) from lo, one instruction at a time; every direct branch target is set in `targets`. */
export function sweepX86(ctx: ScanContext, region: ElfExecRegion, lo: number, hi: number, x64: boolean, targets: Bits, d: Insn): X86Sweep {
  const b = ctx.bytes;
  const base = region.offset;
  let starts = new Int32Array(64);
  let n = 0;
  const bad: number[] = [];
  let brFrom = new Int32Array(16);
  let brTo = new Float64Array(16);
  let nb = 0;
  for (let o = lo; o < hi; ) {
    if (n === starts.length) starts = doubled(starts);
    // A run of zero bytes decodes as `add %al,(%rax)` pairs: no branch, no syscall. Jump over
    // long runs (a sparse file's hole, a code segment stretched over it) keeping the last
    // pairs for look-back, so a 1 GiB hole costs a byte search, not half a billion decodes.
    if (b[base + o] === 0 && b[base + o + 1] === 0 && o + ZERO_RUN < hi) {
      let e = o;
      while (e < hi && e - o < ZERO_RUN && b[base + e] === 0) e++;
      if (e - o === ZERO_RUN) {
        const nz = firstNonZero(b, base + e, base + hi) - base;
        const pairs = Math.floor((nz - o) / 2);
        const keep = Math.min(pairs, WINDOW + 1);
        o += 2 * (pairs - keep);
      }
    }
    if (!decode(b, base + o, base + hi, x64, d)) {
      bad.push(o);
      o++;
      continue;
    }
    if (!Number.isNaN(d.rel)) {
      const to = o + d.len + d.rel;
      targets.set(to);
      if (nb === brFrom.length) {
        brFrom = doubled(brFrom);
        brTo = doubled(brTo);
      }
      brFrom[nb] = n;
      brTo[nb++] = to;
    }
    starts[n++] = o;
    o += d.len;
  }
  const funcStart = ctx.funcs.at(region.addr + lo, ctx.key(region))?.start === region.addr + lo;
  return { lo, hi, starts, n, bad, funcStart, sources: branchIndex(brFrom, brTo, nb) };
}

/** Index in `sw.starts` of the instruction starting at region offset `off`, or -1 when none starts there. */
export function instructionAt(sw: X86Sweep, off: number): number {
  const k = lowerBound(sw.starts, sw.n, off);
  return k < sw.n && sw.starts[k] === off ? k : -1;
}

/** How far a sweep reaches around a site no symbol encloses. */
const UNNAMED_BEFORE = 1 << 16;
const UNNAMED_AFTER = 1 << 12;

/** Zero bytes in a row before the sweep skips the rest of the run. */
const ZERO_RUN = 4096;

const ZEROS = new Uint8Array(1 << 16);

/** Index of the first non-zero byte in b[from, to), or `to` (64 KiB at a time by memcmp: holes are long). */
function firstNonZero(b: Uint8Array, from: number, to: number): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let i = from;
  while (i < to) {
    const n = Math.min(ZEROS.length, to - i);
    if (buf.compare(ZEROS, 0, n, i, i + n) !== 0) {
      while (b[i] === 0) i++;
      return i;
    }
    i += n;
  }
  return to;
}

const UNDECODABLE: Recovered = { k: 'unknown', why: 'the code before this byte sequence could not be decoded' };

function lowerBoundArr(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(a: Int32Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The one backwards register tracker of x86: the constant register `reg` (EAX for a site's
 * number, EDI for syscall()'s first argument) holds when control reaches instruction `k` of the
 * sweep, walking back over the decoded instructions within the window and the swept stretch.
 * A copy from another register is followed to that register; a call is stepped over when it
 * preserves the register. At a branch target (a join point) every way into it is walked back:
 * the sweep's branches to it and the fall-through; all must give constants (one, or a set), and
 * a branch from another stretch leaves it unknown. Anything else that may write the register,
 * and a jump or return before it, end the walk with the reason. Reaching the function's first byte while tracking the first argument (EDI, 64-bit)
 * is `arg`: the caller chose the value.
 */
export function valueBefore(
  b: Uint8Array,
  base: number,
  sw: X86Sweep,
  k: number,
  reg: number,
  targets: Bits,
  x64: boolean,
  d: Insn,
  /** Branches to each target over every stretch swept so far (the site scanner's), when not only this sweep's. */
  counts?: (at: number) => number,
): Recovered {
  return walk({ b, base, sw, targets, counts, x64, d, reg, budget: { joins: MAX_JOINS, paths: MAX_PATHS } }, k, true, reg);
}

interface Walk {
  b: Uint8Array;
  base: number;
  sw: X86Sweep;
  targets: Bits;
  counts: ((at: number) => number) | undefined;
  x64: boolean;
  d: Insn;
  /** The register tracked from the site, for the reasons. */
  reg: number;
  budget: { joins: number; paths: number };
}

/** Walks back from instruction `from` (control stands there; `joinAtStart`: it may be a join point) tracking register t0. */
function walk(w: Walk, from: number, joinAtStart: boolean, t0: number): Recovered {
  const { b, base, sw, targets, x64, d, reg } = w;
  const { starts, lo, funcStart } = sw;
  let t = t0;
  const name = (): string => (t === reg ? REG_NAMES[reg]! : `${REG_NAMES[reg]} (copied from ${REG_NAMES[t]})`);
  for (let cur = from; ; cur--) {
    const j = cur - 1;
    if (j < 0 || j < from - WINDOW) {
      if (j < 0 && starts[0] === lo && funcStart) {
        if (x64 && t === EDI) return { k: 'arg', why: `${name()}: the number comes from the caller (first argument)` };
        return { k: 'unknown', why: `${name()} not set in the function before the site` };
      }
      return { k: 'unknown', why: `${name()} not set within the scanned window` };
    }
    if ((cur !== from || joinAtStart) && targets.has(starts[cur]!)) return join(w, cur, t);
    const o = starts[j]!;
    decode(b, base + o, base + starts[cur]!, x64, d);
    const e = regEffect(b, base + o, d, t);
    if (e === 'none') continue;
    if (typeof e === 'object') {
      if ('v' in e) return { k: 'const', v: e.v };
      if (e.copy === ESP) return { k: 'unknown', why: `${name()} copied from esp` };
      t = e.copy;
      continue;
    }
    switch (e) {
      case 'call':
        if ((x64 ? CALLER_SAVED_64 : CALLER_SAVED_32) & bit(t)) return { k: 'unknown', why: `${name()} clobbered by a call before the site` };
        continue;
      case 'stop':
        return { k: 'unknown', why: 'no straight-line path to the site (jump or return before it)' };
      case 'syscall':
        return { k: 'unknown', why: 'eax holds the result of an earlier syscall' };
      default:
        return { k: 'unknown', why: `${name()} written by an instruction that is not a constant move` };
    }
  }
}

/**
 * The value of register t at instruction `cur`, a branch target: every way into it (each direct
 * branch of the sweep to it, and the fall-through from the instruction before, unless that one
 * never falls through) is walked back, and the answers merged. A branch from another stretch of
 * code, or from at or after the site (a loop through it), leaves it unknown.
 */
function join(w: Walk, cur: number, t: number): Recovered {
  const { b, base, sw, x64, d } = w;
  const at = sw.starts[cur]!;
  const preds = sw.sources(at);
  if (--w.budget.joins < 0 || (w.counts?.(at) ?? preds.length) !== preds.length) return { k: 'unknown', why: JOIN };
  const paths: Recovered[] = [];
  for (const p of preds) {
    // A branch placed after the site is walked back like any other: a path that runs through the
    // site itself (a loop) meets its call or syscall there, which ends it unresolved.
    if (--w.budget.paths < 0) return { k: 'unknown', why: JOIN };
    // The branch writes no register, but loop/loope/loopne count down ecx.
    decode(b, base + sw.starts[p]!, base + sw.hi, x64, d);
    if (t === ECX && d.map === 0 && d.op >= 0xe0 && d.op <= 0xe2) return { k: 'unknown', why: 'ecx counted down by a loop instruction before the site' };
    paths.push(walk(w, p, true, t));
  }
  // Alignment padding after a jump is reached only when branched to: the instruction before the padding decides.
  let q = cur - 1;
  while (q >= 0 && !w.targets.has(sw.starts[q]!) && decode(b, base + sw.starts[q]!, base + sw.hi, x64, d) && isNop(d)) q--;
  if (q >= 0 && decode(b, base + sw.starts[q]!, base + sw.hi, x64, d) && regEffect(b, base + sw.starts[q]!, d, t) !== 'stop')
    paths.push(walk(w, cur, false, t));
  return mergePaths(paths);
}

/** nop, xchg %ax,%ax and nopw/nopl (0f 1f /0): what assemblers pad with. */
function isNop(d: Insn): boolean {
  if (d.vex) return false;
  if (d.map === 0) return d.op === 0x90 && d.rexB === 0;
  return d.map === 1 && d.op === 0x1f && ((d.modrm >> 3) & 7) === 0;
}
