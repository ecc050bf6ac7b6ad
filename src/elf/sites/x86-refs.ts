/**
 * x86-64 code references for the call graph (src/elf/callgraph.ts): the direct call and jump
 * targets and the rip-relative operands of one stretch of code, decoded with the site
 * scanner's instruction decoder (one decoder of x86).
 */
import { decode, Insn, readImm } from './x86.ts';

export interface X86Refs {
  /** Direct call targets (E8 rel32): function entries. */
  calls: number[];
  /** Direct jump targets (E9, EB, Jcc, loop/jrcxz). */
  jumps: number[];
  /** Address of each jump of `jumps`. */
  jumpsFrom: number[];
  /** Rip-relative memory operands and LEA targets: GOT slots, data, taken function addresses. */
  mems: number[];
  /** Whether the last instruction decoded can fall through into the byte after `to`. */
  fallsThrough: boolean;
  /**
   * Whether the stretch is only what a PLT holds (endbr64, indirect jmp/call/push through a
   * rip-relative slot, push imm, direct jmp, nop, int3): code the loader's tables lead into,
   * never a function of its own.
   */
  stubLike: boolean;
  /** Whether the stretch is only alignment padding (nop forms, int3). */
  padding: boolean;
}

const d = new Insn();

/**
 * Decodes [from, to) (file offsets of `b`; `addrOf(off)` = the address of a file offset) as one
 * linear sweep. A byte that does not decode is skipped: the sweep resynchronises, and the
 * caller's byte-wise rel32 search covers what a desynchronised stretch may hide.
 */
export function x86Refs(b: Uint8Array, from: number, to: number, delta: number): X86Refs {
  const out: X86Refs = { calls: [], jumps: [], jumpsFrom: [], mems: [], fallsThrough: true, stubLike: true, padding: true };
  let p = from;
  while (p < to) {
    if (!decode(b, p, to, true, d)) {
      out.stubLike = false;
      out.padding = false;
      out.fallsThrough = true;
      p++;
      continue;
    }
    const next = p + d.len + delta; // address of the next instruction
    const plain = d.map === 0 && !d.vex;
    if (plain && d.op === 0xe8) out.calls.push(next + readImm(b, p + d.immOff, d.immSize, true));
    else if (!Number.isNaN(d.rel)) {
      out.jumps.push(next + d.rel);
      out.jumpsFrom.push(p + delta);
    }
    // ModRM mod 00 r/m 101 without SIB is rip-relative in 64-bit code; the disp32 sits just
    // before the immediate.
    const ripRel = d.modrm >= 0 && (d.modrm & 0xc7) === 0x05;
    if (ripRel) out.mems.push(next + readImm(b, p + d.immOff - 4, 4, true));
    const reg = (d.modrm >> 3) & 7;
    // ret, jmp rel, jmp indirect, ud2, hlt: nothing runs after them in sequence.
    out.fallsThrough =
      !(plain && (d.op === 0xc3 || d.op === 0xc2 || d.op === 0xe9 || d.op === 0xeb || d.op === 0xf4 || (d.op === 0xff && reg === 4))) &&
      !(d.map === 1 && !d.vex && d.op === 0x0b);
    const nop = plain && (d.op === 0x90 || d.op === 0xcc);
    const nopLong = d.map === 1 && !d.vex && (d.op === 0x1f || d.op === 0x1e); // nopl, endbr64
    if (!(nop || (nopLong && d.op === 0x1f))) out.padding = false;
    if (out.stubLike) {
      const viaSlot = plain && d.op === 0xff && ripRel && (reg === 2 || reg === 4 || reg === 6);
      const push = plain && (d.op === 0x68 || d.op === 0x6a);
      const jmp = plain && (d.op === 0xe9 || d.op === 0xeb);
      if (!(nop || nopLong || viaSlot || push || jmp)) out.stubLike = false;
    }
    p += d.len;
  }
  return out;
}
