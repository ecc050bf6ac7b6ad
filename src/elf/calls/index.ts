/**
 * Calls to the C library's generic `syscall()` wrapper, and the number each passes.
 *
 * The wrapper itself is a site whose number comes from the caller (`syscall_wrapper` in the
 * site scanner), so the numbers live at the call sites: `mov $N,%edi; call syscall@plt`,
 * `mov.w r0,#N; blx syscall@plt`, `mov x0,#N; bl syscall@plt`, `li r3,N; bl syscall@plt`.
 *
 * 1. Targets: the `syscall` function symbol (static binaries), or the PLT stubs that jump
 *    through a GOT slot the dynamic relocations bind to `syscall` (dynamic binaries; 64-bit
 *    PowerPC: the call stubs that load the slot through the TOC pointer r2, `bl stub; ld r2,..`).
 *    i386 passes the number on the stack, which is not tracked: its calls are reported as not
 *    located (fail closed), as are 64-bit PowerPC slots no stub was found for.
 * 2. Calls: direct calls to a target (x86-64 also `call *slot(%rip)` for -fno-plt).
 * 3. The first argument register is tracked backwards over instructions positively known not to
 *    write it, to a constant move. Anything else (a register copy, a load, an unknown
 *    instruction, a jump) leaves the call unresolved, with the reason: never guessed.
 *    Backward tracking cannot see join points; a branch into the straight-line run before a
 *    call is the known gap (compilers place the constant right before the call in practice).
 */
import { EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from '../../syscalls/elf-machines.ts';
import { ScanContext } from '../sites/common.ts';
import type { ElfExecRegion, ElfInfo } from '../types.ts';
import { armExpandImm } from '../sites/arm.ts';
import { pushCall, TAIL, type WrapperCall } from './call.ts';
import { findStubs, ppc64Entries } from './plt.ts';
import { callsX86, X86Calls } from './x86.ts';
import { callsA64 } from './aarch64.ts';

export type { WrapperCall } from './call.ts';

type Rec = { k: 'const'; v: number } | { k: 'unknown'; why: string };

/** How many instructions before a call are looked at. */
const BACK = 10;

/**
 * Calls to syscall() and to any other function found to pass its first argument to the number
 * register (`wrappers`: their start addresses, e.g. musl's __syscall_cp_c, which getrandom,
 * write and the other cancellable calls reach with the number as the first argument), with the
 * number each call passes when the instructions before it say so.
 */
export function findSyscallCalls(
  elf: ElfInfo,
  bytes: Uint8Array,
  /** The site scan's context for the same elf and bytes (its function index and decoded code are shared). */
  scan?: ScanContext,
  wrappers: readonly number[] = [],
  /** Filled with the wrappers (start addresses) that have a located caller, directly or through a forwarder. */
  called?: Set<number>,
): WrapperCall[] {
  const imported = elf.imports.some((i) => i.name === 'syscall');
  const sym = elf.symbols.find((s) => s.name === 'syscall' && s.type === 'func' && s.value !== 0);
  if (elf.machine === EM_386) {
    // The site scanners know i386, so its syscall() can be in the file; its arguments go on the
    // stack, which this scan does not track. Say that the calls are not located rather than
    // return none (fail closed): one entry for the import (each GOT slot) or the function.
    const why = 'syscall() is present; its call sites on i386 (number passed on the stack) are not located (the number of every call is unknown)';
    const at = imported ? (elf.relocations ?? []).filter((r) => r.symbol === 'syscall').map((r) => r.offset) : [];
    if (!at.length && (imported || sym)) at.push(sym?.value ?? 0);
    return at.map((address) => ({ address, number: null, reason: why }));
  }
  if (![EM_X86_64, EM_ARM, EM_AARCH64, EM_PPC, EM_PPC64].includes(elf.machine) || (elf.machine === EM_X86_64 && elf.class !== 64)) return [];
  if (!imported && !sym && !wrappers.length) return [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.endian === 'little';
  const targets = new Set<number>();
  // The GOT slots the dynamic relocations bind to syscall. The reader reads them with the code:
  // an ElfInfo without them was read for its imports only, and has no code to scan either.
  const slots = new Set<number>();
  if (imported) {
    if (!elf.relocations) throw new Error(`${elf.file}: findSyscallCalls needs an ElfInfo read with its code`);
    for (const r of elf.relocations) if (r.symbol === 'syscall') slots.add(r.offset);
  }
  // 64-bit PowerPC ELFv1: a function symbol names its descriptor in .opd; calls go to the code
  // entry the descriptor's first doubleword holds. ELFv2: calls from the same TOC go to the
  // local entry, past the two-instruction r2 set-up at the global one.
  const entries = (v: number): number[] => (elf.machine === EM_PPC64 ? ppc64Entries(elf, dv, v) : [v]);
  if (sym) for (const e of entries(sym.value)) targets.add(e);
  for (const w of wrappers) for (const e of entries(w)) targets.add(e);
  const stubbed = new Set<number>();
  if (slots.size) {
    // PLT stubs live in .plt/.plt.sec (ppc and ppc64: .text and .init too); without sections, anywhere.
    const inPlt = (r: ElfExecRegion) => r.shndx < 0 || r.name.startsWith('.plt') || r.name === '.iplt' || elf.machine === EM_PPC || elf.machine === EM_PPC64;
    for (const r of elf.exec) if (r.offset + r.size <= bytes.byteLength && inPlt(r)) findStubs(elf, dv, le, r, slots, targets, stubbed);
  }
  if (targets.size === 0 && slots.size === 0) return [];
  const out: WrapperCall[] = [];
  if (elf.machine === EM_PPC64 && imported) {
    // 64-bit PowerPC call stubs reach the PLT through the TOC (r2). A slot no stub was found
    // for (no TOC pointer known, an unfamiliar stub) has calls that cannot be located: say so
    // rather than report none (fail closed).
    for (const slot of slots) {
      if (stubbed.has(slot)) continue;
      out.push({
        address: slot,
        number: null,
        reason: 'syscall() is imported; its call sites through 64-bit PowerPC PLT stubs are not located (the number of every call is unknown)',
      });
    }
  }
  const slotEntries = out.length;
  const ctx = scan ?? new ScanContext(elf, bytes);
  let x86: X86Calls | undefined;
  const scanAll = () => {
    out.length = slotEntries;
    for (const r of elf.exec) {
      if (r.offset + r.size > bytes.byteLength) continue;
      switch (elf.machine) {
        case EM_X86_64:
          callsX86((x86 ??= new X86Calls(ctx)), r, targets, slots, out);
          break;
        case EM_AARCH64:
          callsA64(ctx, r, targets, out);
          break;
        case EM_ARM:
          callsArm(dv, le, r, targets, out);
          break;
        case EM_PPC:
        case EM_PPC64:
          callsPpc(dv, le, elf.class === 64, r, targets, out);
          break;
      }
    }
  };
  const funcIndex = () => ctx.funcs;
  // A function that jumps into a wrapper forwards its own first argument: it is a wrapper too,
  // and its callers say the number (musl: __syscall_cp -> __syscall_cp_c). A few rounds reach
  // every such chain in real C libraries; what is still a tail call after them stays unresolved.
  for (let round = 0; ; round++) {
    scanAll();
    if (round === 4) break;
    let grew = false;
    for (const c of out) {
      if (!c.tail) continue;
      const f = funcIndex().at(c.address);
      if (f && !targets.has(f.start)) {
        targets.add(f.start);
        grew = true;
      }
    }
    if (!grew) break;
  }
  if (!out.length) return [];
  const kept: WrapperCall[] = [];
  const forwards: [from: number, to: number][] = [];
  const reached = new Set<number>();
  for (const c of out) {
    if (c.number === null && elf.machine === EM_PPC64 && slots.has(c.address)) {
      kept.push(c);
      continue;
    } // a PLT slot, not code
    const f = funcIndex().at(c.address);
    // The forwarding jump of a wrapper is answered at that wrapper's callers.
    if (c.tail && f && targets.has(f.start)) {
      forwards.push([f.start, c.target!]);
      continue;
    }
    if (f && f.start !== sym?.value) c.function = f.name;
    if (c.target !== undefined) reached.add(c.target);
    kept.push(c);
  }
  // A wrapper reached only through a forwarder is called when the forwarder is.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [from, to] of forwards) if (reached.has(from) && !reached.has(to)) grew = !!reached.add(to);
  }
  if (called) for (const t of reached) called.add(t);
  // The wrapper's own body (a tail call into it from a same-named alias) is not a caller. (On
  // ppc64 ELFv1 the symbol names the descriptor, which holds no code: nothing is filtered.)
  return kept.filter((c) => !(sym && c.address >= sym.value && c.address < sym.value + Math.max(sym.size, 1)));
}

// ---------------------------------------------------------------------------------------------
// ARM (A32 and Thumb-2)

function callsArm(dv: DataView, le: boolean, r: ElfExecRegion, targets: Set<number>, out: WrapperCall[]): void {
  const end = r.offset + r.size;
  // Thumb bl/blx (32-bit), at any halfword.
  for (let o = r.offset; o + 4 <= end; o += 2) {
    const h1 = dv.getUint16(o, le);
    if ((h1 & 0xf800) !== 0xf000) continue;
    const h2 = dv.getUint16(o + 2, le);
    const isBl = (h2 & 0xd000) === 0xd000;
    const isBlx = (h2 & 0xd001) === 0xc000;
    if (!isBl && !isBlx) continue;
    const at = r.addr + (o - r.offset);
    const s = (h1 >>> 10) & 1;
    const j1 = (h2 >>> 13) & 1;
    const j2 = (h2 >>> 11) & 1;
    const i1 = ~(j1 ^ s) & 1;
    const i2 = ~(j2 ^ s) & 1;
    let off = (s << 24) | (i1 << 23) | (i2 << 22) | ((h1 & 0x3ff) << 12) | ((h2 & 0x7ff) << 1);
    if (s) off -= 1 << 25;
    const t = isBlx ? ((at + 4) & ~3) + off : at + 4 + off;
    if (!targets.has(t)) continue;
    pushCall(out, at, recoverThumb(dv, le, r.offset, o), t);
  }
  // A32 bl / blx imm, word-aligned.
  for (let o = r.offset + ((4 - (r.addr & 3)) & 3); o + 4 <= end; o += 4) {
    const w = dv.getUint32(o, le);
    const at = r.addr + (o - r.offset);
    let t: number | undefined;
    if ((w & 0xff000000) >>> 0 === 0xeb000000) t = at + 8 + ((w << 8) >> 6);
    else if ((w & 0xfe000000) >>> 0 === 0xfa000000) t = at + 8 + ((w << 8) >> 6) + ((w >>> 23) & 2);
    if (t === undefined || !targets.has(t)) continue;
    pushCall(out, at, recoverA32(dv, le, r.offset, o), t);
  }
}

function thumbExpandImm(imm12: number): number | undefined {
  if ((imm12 & 0xc00) === 0) {
    const v = imm12 & 0xff;
    switch ((imm12 >>> 8) & 3) {
      case 0:
        return v;
      case 1:
        return (v << 16) | v;
      case 2:
        return ((v << 24) | (v << 8)) >>> 0;
      default:
        return ((v << 24) | (v << 16) | (v << 8) | v) >>> 0;
    }
  }
  const rot = (imm12 >>> 7) & 0x1f;
  const v = 0x80 | (imm12 & 0x7f);
  return ((v >>> rot) | (v << (32 - rot))) >>> 0;
}

function recoverThumb(dv: DataView, le: boolean, lo: number, call: number): Rec {
  const rec = recoverThumbRaw(dv, le, lo, call);
  if (rec.k !== 'const') return rec;
  // An IT instruction (bf x[1-f]) up to four instructions back makes the move conditional.
  for (let p = call - 2; p >= Math.max(lo, call - 2 * 14); p -= 2) {
    const h = dv.getUint16(p, le);
    if ((h & 0xff00) === 0xbf00 && (h & 0xf) !== 0) return { k: 'unknown', why: 'r0 set conditionally (IT block) before the call' };
  }
  return rec;
}

function recoverThumbRaw(dv: DataView, le: boolean, lo: number, call: number): Rec {
  let q = call;
  for (let n = 0; n < BACK && q - 2 >= lo; n++) {
    const wide = q - 4 >= lo && (dv.getUint16(q - 4, le) & 0xe000) === 0xe000 && (dv.getUint16(q - 4, le) & 0x1800) !== 0;
    if (wide) {
      const h1 = dv.getUint16(q - 4, le);
      const h2 = dv.getUint16(q - 2, le);
      const rd = (h2 >>> 8) & 0xf;
      // mov.w rd, #const / movw rd, #imm16
      if ((h1 & 0xfbef) === 0xf04f && (h2 & 0x8000) === 0) {
        if (rd === 0) {
          const v = thumbExpandImm((((h1 >>> 10) & 1) << 11) | (((h2 >>> 12) & 7) << 8) | (h2 & 0xff));
          return v === undefined ? { k: 'unknown', why: 'r0 set by an unusual immediate' } : { k: 'const', v };
        }
        q -= 4;
        continue;
      }
      if ((h1 & 0xfbf0) === 0xf240 && (h2 & 0x8000) === 0) {
        if (rd === 0) return { k: 'const', v: ((h1 & 0xf) << 12) | (((h1 >>> 10) & 1) << 11) | (((h2 >>> 12) & 7) << 8) | (h2 & 0xff) };
        q -= 4;
        continue;
      }
      // Data processing (modified immediate / plain binary immediate / shifted register): rd in h2[11:8].
      if (((h1 & 0xfa00) === 0xf000 || (h1 & 0xfe00) === 0xea00 || (h1 & 0xfe00) === 0xeb00) && (h2 & 0x8000) === 0) {
        if (rd === 0) return { k: 'unknown', why: 'r0 computed before the call' };
        if (rd === 15) return { k: 'unknown', why: 'unrecognised instruction before the call' };
        q -= 4;
        continue;
      }
      // ldr.w / str.w family: Rt in h2[15:12].
      if ((h1 & 0xfe00) === 0xf800) {
        const load = (h1 & 0x10) !== 0;
        const rt = h2 >>> 12;
        if (load && (rt === 0 || rt === 15)) return { k: 'unknown', why: 'r0 loaded from memory' };
        q -= 4;
        continue;
      }
      return { k: 'unknown', why: 'unrecognised instruction before the call' };
    }
    const h = dv.getUint16(q - 2, le);
    // movs rd, #imm8
    if ((h & 0xf800) === 0x2000) {
      if (((h >>> 8) & 7) === 0) return { k: 'const', v: h & 0xff };
      q -= 2;
      continue;
    }
    // mov/add rd, rm (high registers)
    if ((h & 0xfc00) === 0x4400 && (h & 0x0300) !== 0x0300) {
      const rd = (h & 7) | ((h >>> 4) & 8);
      if ((h & 0x0300) === 0x0100) {
        q -= 2;
        continue;
      } // cmp
      if (rd === 0) return { k: 'unknown', why: 'r0 copied from another register before the call' };
      if (rd === 15) return { k: 'unknown', why: 'branch before the call' };
      q -= 2;
      continue;
    }
    // 16-bit data processing with rd in [2:0]: shifts, add/sub (reg, imm3), adds rd,#imm8 (rd [10:8]), ALU ops.
    if ((h & 0xc000) === 0x0000 || (h & 0xfc00) === 0x4000) {
      const rd = (h & 0xe000) === 0x2000 ? (h >>> 8) & 7 : h & 7;
      const cmp = (h & 0xf800) === 0x2800 || (h & 0xffc0) === 0x4280 || (h & 0xffc0) === 0x42c0 || (h & 0xffc0) === 0x4200;
      if (!cmp && rd === 0) return { k: 'unknown', why: 'r0 computed before the call' };
      q -= 2;
      continue;
    }
    // add rd, sp/pc, #imm; ldr rd, [sp/pc, #imm]; ldr/str with register/immediate offsets.
    if ((h & 0xf000) === 0xa000 || (h & 0xf800) === 0x9800 || (h & 0xf800) === 0x4800) {
      if (((h >>> 8) & 7) === 0) return { k: 'unknown', why: 'r0 set from memory or an address before the call' };
      q -= 2;
      continue;
    }
    if ((h & 0xf800) === 0x9000 || (h & 0xf000) === 0x5000 || (h & 0xe000) === 0x6000 || (h & 0xf000) === 0x8000) {
      const load = (h & 0xf000) === 0x5000 ? (h & 0x0e00) >= 0x0600 : (h & 0x0800) !== 0;
      if (load && (h & 7) === 0) return { k: 'unknown', why: 'r0 loaded from memory' };
      q -= 2;
      continue;
    }
    if (h === 0xbf00) {
      q -= 2;
      continue;
    } // nop
    return { k: 'unknown', why: 'control flow or an unrecognised instruction before the call' };
  }
  return { k: 'unknown', why: `no constant move into r0 within ${BACK} instructions before the call` };
}

function recoverA32(dv: DataView, le: boolean, lo: number, call: number): Rec {
  for (let n = 1, o = call - 4; n <= BACK && o >= lo; n++, o -= 4) {
    const w = dv.getUint32(o, le);
    if (w >>> 28 !== 0xe) return { k: 'unknown', why: 'conditional instruction before the call' };
    const rd = (w >>> 12) & 0xf;
    if ((w & 0x0fef0000) >>> 0 === 0x03a00000) {
      if (rd === 0) return { k: 'const', v: armExpandImm(w & 0xfff) };
      continue;
    }
    if ((w & 0x0ff00000) >>> 0 === 0x03000000) {
      if (rd === 0) return { k: 'const', v: ((w >>> 4) & 0xf000) | (w & 0xfff) };
      continue;
    }
    const top = (w >>> 25) & 7;
    if (top === 0 && (w & 0x90) === 0x90) {
      // Multiplies, extra loads/stores: either register field may be written.
      if (rd === 0 || ((w >>> 16) & 0xf) === 0 || rd === 15) return { k: 'unknown', why: 'r0 may be written before the call' };
      continue;
    }
    if (top === 0 || top === 1) {
      if ((w & 0x0ff000f0) >>> 0 === 0x01200010 || (w & 0x0ff000f0) >>> 0 === 0x01200030) return { k: 'unknown', why: 'branch before the call' };
      const opc = (w >>> 21) & 0xf;
      if (opc >= 8 && opc <= 11 && w & 0x00100000) continue; // tst/teq/cmp/cmn
      if (rd === 0) return { k: 'unknown', why: 'r0 computed before the call' };
      if (rd === 15) return { k: 'unknown', why: 'branch before the call' };
      continue;
    }
    if (top === 2 || top === 3) {
      const load = (w & 0x00100000) !== 0;
      if (load && (rd === 0 || rd === 15)) return { k: 'unknown', why: 'r0 loaded from memory' };
      continue;
    }
    return { k: 'unknown', why: 'control flow or an unrecognised instruction before the call' };
  }
  return { k: 'unknown', why: `no constant move into r0 within ${BACK} instructions before the call` };
}

// ---------------------------------------------------------------------------------------------
// PowerPC (32-bit, big-endian)

function callsPpc(dv: DataView, le: boolean, wide: boolean, r: ElfExecRegion, targets: Set<number>, out: WrapperCall[]): void {
  const end = r.offset + r.size;
  for (let o = r.offset; o + 4 <= end; o += 4) {
    const w = dv.getUint32(o, le);
    if ((w & 0xfc000003) >>> 0 !== 0x48000001 && (w & 0xfc000003) >>> 0 !== 0x48000000) continue;
    const at = r.addr + (o - r.offset);
    // 32-bit addresses wrap; 64-bit ones do not (code may sit above 4 GiB).
    const sum = at + (((w << 6) >> 6) & ~3);
    const t = wide ? sum : sum >>> 0;
    if (!targets.has(t)) continue;
    if ((w & 1) === 0) pushCall(out, at, TAIL, t, true);
    else pushCall(out, at, recoverPpc(dv, le, r.offset, o), t);
  }
}

function recoverPpc(dv: DataView, le: boolean, lo: number, call: number): Rec {
  for (let n = 1, o = call - 4; n <= BACK && o >= lo; n++, o -= 4) {
    const w = dv.getUint32(o, le);
    const op = w >>> 26;
    const rD = (w >>> 21) & 31;
    const rA = (w >>> 16) & 31;
    if (op === 14 || op === 15) {
      // addi/li, addis/lis
      if (rD !== 3) continue;
      if (op === 14 && rA === 0) return { k: 'const', v: ((w << 16) >> 16) >>> 0 };
      return { k: 'unknown', why: 'r3 computed before the call' };
    }
    if (op === 19 && ((w >>> 1) & 0x3ff) !== 16 && ((w >>> 1) & 0x3ff) !== 528) continue; // CR logic (crclr), not bclr/bcctr
    if (op === 31) {
      const xo = (w >>> 1) & 0x3ff;
      const writesA = [444, 28, 316, 124, 60, 24, 536, 792, 824, 26, 922, 954, 986].includes(xo); // 986: extsw
      const writesD = [266, 40, 235, 104, 8, 136, 10, 138, 491, 459, 23, 87, 279, 311].includes(xo);
      if (!writesA && !writesD && (xo === 151 || xo === 183 || xo === 215 || xo === 247 || xo === 407)) continue; // stores
      if (!writesA && !writesD) return { k: 'unknown', why: 'unrecognised instruction before the call' };
      if ((writesA ? rA : rD) === 3) return { k: 'unknown', why: 'r3 copied or computed before the call' };
      continue;
    }
    if (op === 58 || op === 62) {
      // ld/ldu/lwa, std/stdu (DS-form, 64-bit); the update forms (low bits 01) write rA
      if (op === 58 && rD === 3) return { k: 'unknown', why: 'r3 loaded from memory' };
      if ((w & 3) === 1 && rA === 3) return { k: 'unknown', why: 'r3 computed before the call' };
      continue;
    }
    if (op === 24 || op === 25 || op === 21 || op === 28 || op === 30) {
      // ori, oris, rlwinm, andi., rld* (64-bit rotates)
      if (rA === 3) return { k: 'unknown', why: 'r3 computed before the call' };
      continue;
    }
    if (op >= 36 && op <= 47 && op !== 46) {
      // stores (36-39, 44-45, 47 stmw) ... loads at 32-35, 40-43
      continue;
    }
    if ((op >= 32 && op <= 35) || (op >= 40 && op <= 43)) {
      if (rD === 3) return { k: 'unknown', why: 'r3 loaded from memory' };
      continue;
    }
    return { k: 'unknown', why: 'control flow or an unrecognised instruction before the call' };
  }
  return { k: 'unknown', why: `no constant move into r3 within ${BACK} instructions before the call` };
}
