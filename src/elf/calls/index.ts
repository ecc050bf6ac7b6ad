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
 * 3. The first argument register at each call is what the ISA's one backwards register tracker
 *    says, the same walk the site scanner makes for the number register (sites/<isa>.ts, over
 *    the scan's shared decoding of the region): a constant move, through register copies and
 *    instructions known not to write it. Anything else leaves the call unresolved, with the
 *    reason: never guessed. A branch target between the call and the move is a join point:
 *    every way into it is followed, and a call reached with different constants is reported
 *    once per number.
 * 4. A jump into a wrapper makes its function a wrapper too (its callers say the number).
 */
import { EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from '../../syscalls/elf-machines.ts';
import { ScanContext } from '../sites/common.ts';
import type { ElfExecRegion, ElfInfo } from '../types.ts';
import type { WrapperCall } from './call.ts';
import { findStubs, ppc64Entries } from './plt.ts';
import { callsA64 } from './aarch64.ts';
import { callsArm } from './arm.ts';
import { callsPpc } from './ppc.ts';
import { callsX86, X86Calls } from './x86.ts';

export type { WrapperCall } from './call.ts';

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
          callsArm(ctx, r, targets, out);
          break;
        case EM_PPC:
        case EM_PPC64:
          callsPpc(ctx, elf.class === 64, r, targets, out);
          break;
      }
    }
  };
  const funcIndex = () => ctx.funcs;
  // A function that jumps into a wrapper, passing no constant, forwards its own first argument: it is a wrapper too,
  // and its callers say the number (musl: __syscall_cp -> __syscall_cp_c). A few rounds reach
  // every such chain in real C libraries; what is still a tail call after them stays unresolved.
  for (let round = 0; ; round++) {
    scanAll();
    if (round === 4) break;
    let grew = false;
    for (const c of out) {
      if (!c.tail || c.number !== null) continue; // a jump with a constant number is a call of it
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
    if (c.tail && c.number === null && f && targets.has(f.start)) {
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
