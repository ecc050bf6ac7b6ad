/**
 * Where calls to an imported function land: the PLT stubs that jump through the GOT slots the
 * dynamic relocations bind to it, per ISA, and the 64-bit PowerPC facts they need (the TOC
 * pointer, a function's entry points, 32-bit PowerPC's .got2 pointers).
 */
import { Buffer } from 'node:buffer';
import { EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from '../../syscalls/elf-machines.ts';
import { armExpandImm } from '../sites/arm.ts';
import { nextPair } from './byte-pair.ts';
import type { ElfExecRegion, ElfInfo } from '../types.ts';

// ---------------------------------------------------------------------------------------------
// PLT stubs: which stub jumps through one of the slots.

export function findStubs(
  elf: ElfInfo,
  dv: DataView,
  le: boolean,
  r: ElfExecRegion,
  slots: Set<number>,
  targets: Set<number>,
  /** Filled with the slots a stub was found for. */
  stubbed: Set<number>,
): void {
  const end = r.offset + r.size;
  switch (elf.machine) {
    case EM_PPC64: {
      // ld r12,D(r2) or addis r11/r12,r2,H; ld r12,L(r11/r12), then mtctr r12, optionally
      // std r2,40(r1) (ELFv1) or std r2,24(r1) (ELFv2) first: the slot is TOC + H<<16 + D.
      const toc = ppc64Toc(elf, dv);
      if (toc === undefined) break;
      const MTCTR12 = 0x7d8903a6;
      for (let o = r.offset; o + 8 <= end; o += 4) {
        const w = dv.getUint32(o, le);
        let slot: number | undefined;
        let first = o;
        if ((w & 0xffff0003) >>> 0 === 0xe9820000 && dv.getUint32(o + 4, le) === MTCTR12) {
          slot = toc + ((w << 16) >> 16);
        } else if (((w & 0xffff0000) >>> 0 === 0x3d620000 || (w & 0xffff0000) >>> 0 === 0x3d820000) && o + 12 <= end) {
          const l = dv.getUint32(o + 4, le);
          const base = (w >>> 21) & 31;
          if ((l & 0xffe00003) >>> 0 === 0xe9800000 && ((l >>> 16) & 31) === base && dv.getUint32(o + 8, le) === MTCTR12) {
            slot = toc + ((w << 16) >> 16) * 0x10000 + ((l << 16) >> 16);
          }
        }
        if (slot === undefined || !slots.has(slot)) continue;
        if (o - 4 >= r.offset && [0xf8410028, 0xf8410018].includes(dv.getUint32(o - 4, le))) first = o - 4;
        targets.add(r.addr + (first - r.offset));
        stubbed.add(slot);
      }
      break;
    }
    case EM_X86_64: {
      // jmp *disp32(%rip) (ff 25), optionally bnd (f2) and endbr64 (f3 0f 1e fa) before it.
      const buf = Buffer.from(dv.buffer, dv.byteOffset, dv.byteLength);
      for (let o = nextPair(buf, 0xff, 0x25, r.offset); o >= 0 && o + 6 <= end; o = nextPair(buf, 0xff, 0x25, o + 1)) {
        const at = r.addr + (o - r.offset);
        if (!slots.has(at + 6 + dv.getInt32(o + 2, true))) continue;
        let start = o;
        if (start > r.offset && dv.getUint8(start - 1) === 0xf2) start--;
        if (start - 4 >= r.offset && dv.getUint32(start - 4, true) === 0xfa1e0ff3) start -= 4;
        targets.add(r.addr + (start - r.offset));
      }
      break;
    }
    case EM_AARCH64: {
      // adrp x16, page; ldr x17, [x16, #off]; (add x16, x16, #off; br x17), optionally bti c first.
      for (let o = r.offset; o + 8 <= end; o += 4) {
        const w = dv.getUint32(o, le);
        if ((w & 0x9f00001f) >>> 0 !== 0x90000010) continue;
        const l = dv.getUint32(o + 4, le);
        if ((l & 0xffc003ff) >>> 0 !== 0xf9400211) continue;
        const at = r.addr + (o - r.offset);
        const imm = (((w >>> 29) & 3) | (((w >>> 5) & 0x7ffff) << 2)) << 0;
        const signed = imm >= 0x100000 ? imm - 0x200000 : imm;
        const page = Math.floor(at / 4096) * 4096 + signed * 4096;
        if (!slots.has(page + ((l >>> 10) & 0xfff) * 8)) continue;
        const bti = o - 4 >= r.offset && dv.getUint32(o - 4, le) === 0xd503245f;
        targets.add(bti ? at - 4 : at);
      }
      break;
    }
    case EM_ARM: {
      // add ip, pc, #A; add ip, ip, #B; ldr pc, [ip, #C]!  (A32, 12-byte entries).
      for (let o = r.offset; o + 12 <= end; o += 4) {
        const a = dv.getUint32(o, le);
        if ((a & 0xfffff000) >>> 0 !== 0xe28fc000) continue;
        const b = dv.getUint32(o + 4, le);
        const c = dv.getUint32(o + 8, le);
        if ((b & 0xfffff000) >>> 0 !== 0xe28cc000 || (c & 0xfffff000) >>> 0 !== 0xe5bcf000) continue;
        const at = r.addr + (o - r.offset);
        const slot = at + 8 + armExpandImm(a & 0xfff) + armExpandImm(b & 0xfff) + (c & 0xfff);
        if (!slots.has(slot >>> 0)) continue;
        targets.add(at);
        // Thumb entry: bx pc; nop just before.
        if (o - 4 >= r.offset && dv.getUint16(o - 4, le) === 0x4778) targets.add(at - 4);
      }
      break;
    }
    case EM_PPC: {
      // Non-PIC: lis r11,hi; lwz r11,lo(r11); mtctr r11; bctr.
      // PIC (pic32 stubs): lwz r11,off(r30); mtctr r11; bctr -- r30 is the caller's .got2 pointer.
      const pic: { at: number; off: number }[] = [];
      const MTCTR = 0x7d6903a6;
      const BCTR = 0x4e800420;
      for (let o = r.offset; o + 12 <= end; o += 4) {
        const w = dv.getUint32(o, false);
        const at = r.addr + (o - r.offset);
        if ((w & 0xffff0000) >>> 0 === 0x817e0000 && dv.getUint32(o + 4, false) === MTCTR && dv.getUint32(o + 8, false) === BCTR) {
          pic.push({ at, off: (w << 16) >> 16 });
        } else if ((w & 0xffff0000) >>> 0 === 0x3d600000 && o + 16 <= end) {
          const l = dv.getUint32(o + 4, false);
          if ((l & 0xffff0000) >>> 0 === 0x816b0000 && dv.getUint32(o + 8, false) === MTCTR && dv.getUint32(o + 12, false) === BCTR) {
            const slot = (((w & 0xffff) << 16) + ((l << 16) >> 16)) >>> 0;
            if (slots.has(slot)) {
              targets.add(at);
              stubbed.add(slot);
            }
          }
        }
      }
      if (pic.length) {
        for (const base of ppcGotBases(dv, r)) {
          for (const p of pic) {
            if (!slots.has((base + p.off) >>> 0)) continue;
            targets.add(p.at);
            stubbed.add((base + p.off) >>> 0);
          }
        }
      }
      break;
    }
  }
}

/** The doubleword the loader maps at virtual address `va` (big- or little-endian as the file), or undefined. */
function loaded64(elf: ElfInfo, dv: DataView, va: number): number | undefined {
  for (const l of elf.loads) {
    if (va < l.vaddr || va + 8 > l.vaddr + l.filesz) continue;
    const o = l.offset + (va - l.vaddr);
    if (o + 8 > dv.byteLength) return undefined;
    const v = dv.getBigUint64(o, elf.endian === 'little');
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  return undefined;
}

const inExec = (elf: ElfInfo, a: number): boolean => elf.exec.some((r) => a >= r.addr && a < r.addr + r.size);

/** ELFv1 (e_flags' ABI bits not 2): function symbols and e_entry name descriptors, not code. */
const ppc64V1 = (elf: ElfInfo): boolean => (elf.flags & 3) !== 2;

/**
 * Where calls to the 64-bit PowerPC function whose symbol value is `v` land. ELFv1: `v`, which
 * the reader already took from the function's descriptor. ELFv2: the global entry, and the
 * local entry 8 bytes on when the function starts `addis r2,r12,H; addi r2,r2,L` (PIC) or
 * `lis r2,H; addi r2,r2,L`.
 */
export function ppc64Entries(elf: ElfInfo, dv: DataView, v: number): number[] {
  if (ppc64V1(elf)) return [v];
  const le = elf.endian === 'little';
  for (const r of elf.exec) {
    if (v < r.addr || v + 8 > r.addr + r.size) continue;
    const o = r.offset + (v - r.addr);
    const a = dv.getUint32(o, le);
    const b = dv.getUint32(o + 4, le);
    const ra = (a >>> 16) & 31;
    if ((a & 0xffe00000) >>> 0 === 0x3c400000 && (ra === 12 || ra === 0) && (b & 0xffff0000) >>> 0 === 0x38420000) return [v, v + 8];
  }
  return [v];
}

/**
 * The TOC pointer (r2) of a 64-bit PowerPC program, when the file says it: ELFv1, the second
 * doubleword of the entry point's descriptor. ELFv2 has no descriptor: the `.TOC.` symbol.
 * Undefined otherwise (the PLT stubs are then not located, and the slots reported as such).
 */
function ppc64Toc(elf: ElfInfo, dv: DataView): number | undefined {
  if (ppc64V1(elf)) {
    // ElfInfo.entry is the code entry the reader took from the descriptor; the descriptor's own
    // address is the header's e_entry (offset 24 in ELF64).
    if (dv.byteLength < 32) return undefined;
    const raw = dv.getBigUint64(24, elf.endian === 'little');
    if (raw > BigInt(Number.MAX_SAFE_INTEGER) || inExec(elf, Number(raw))) return undefined;
    return loaded64(elf, dv, Number(raw) + 8);
  }
  return elf.symbols.find((s) => s.name === '.TOC.')?.value;
}

/**
 * The values PIC functions load into r30 (their .got2 pointer): `bcl 20,31,1f; 1: mflr r30;
 * addis r30,r30,hi; addi r30,r30,lo` gives 1f + hi<<16 + lo.
 */
function ppcGotBases(dv: DataView, r: ElfExecRegion): Set<number> {
  const out = new Set<number>();
  const end = r.offset + r.size;
  for (let o = r.offset; o + 4 <= end; o += 4) {
    if (dv.getUint32(o, false) !== 0x429f0005) continue;
    let base: number | undefined;
    let hi: number | undefined;
    for (let k = 1; k <= 10 && o + 4 * k + 4 <= end; k++) {
      const w = dv.getUint32(o + 4 * k, false);
      if (w === 0x7fc802a6) base = r.addr + (o - r.offset) + 4;
      else if (base !== undefined && (w & 0xffff0000) >>> 0 === 0x3fde0000) hi = (w << 16) >> 16;
      else if (base !== undefined && hi !== undefined && (w & 0xffff0000) >>> 0 === 0x3bde0000) {
        out.add((base + hi * 0x10000 + ((w << 16) >> 16)) >>> 0);
        break;
      }
    }
  }
  return out;
}
