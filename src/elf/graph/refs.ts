/**
 * What the call graph (src/elf/callgraph.ts) asks of an ISA: the references of one stretch of
 * code, and whether its decoding sees every instruction. One implementation per ISA
 * (x86-64: src/elf/sites/x86-refs.ts; AArch64: a64-refs.ts), chosen by e_machine here.
 */
import { EM_AARCH64, EM_X86_64 } from '../../syscalls/elf-machines.ts';
import { RefSweep } from '../sites/x86-refs.ts';
import type { ElfExecRegion, ElfInfo } from '../types.ts';
import { a64Refs } from './a64-refs.ts';
import { type CodeRefs, type GraphIsa, type RefKind, type RegionCode, STRETCH_FALLS, STRETCH_PADDING, STRETCH_STUB } from './types.ts';

export type { CodeRefs, GraphIsa } from './types.ts';

/**
 * The reference extraction for a file's ISA, or undefined when there is none (no graph: all of
 * the file counts). x86-64 covers libraries and static programs; AArch64 only shared libraries
 * (ET_DYN, not static): the data words and absolute immediates a fixed-address program's graph
 * reads are x86 forms, so a static AArch64 program keeps counting whole.
 */
export function graphIsa(elf: ElfInfo, bytes: Uint8Array): GraphIsa | undefined {
  if (elf.type === 'rel' || elf.class !== 64) return undefined;
  if (elf.machine === EM_X86_64)
    return { region: (r, cuts) => new RefSweep(bytes, r.offset, r.offset + r.size, r.addr - r.offset, cuts), exact: false, code: elf.exec };
  if (elf.machine === EM_AARCH64 && elf.type === 'dyn' && !elf.static) {
    const code = codeOnly(elf);
    const leaves = leavesCode(elf, code);
    const refs = (from: number, to: number, delta: number): CodeRefs => {
      const r = a64Refs(bytes, from, to, delta);
      if (r.calls.some((t, k) => leaves(r.callsFrom![k]!, t)) || r.jumps.some((t, k) => leaves(r.jumpsFrom[k]!, t))) r.leaves = true;
      return r;
    };
    return { region: (r, cuts) => new StretchByStretch(refs, r, cuts), exact: true, code };
  }
  return undefined;
}

/**
 * A region whose stretches are decoded each on its own (a fixed-width ISA: decoding from any
 * instruction gives the same instructions, so there is nothing to share).
 */
class StretchByStretch implements RegionCode {
  private readonly delta: number;

  constructor(
    private readonly refs: (from: number, to: number, delta: number) => CodeRefs,
    private readonly r: ElfExecRegion,
    private readonly cuts: readonly number[],
  ) {
    this.delta = r.addr - r.offset;
  }

  forEachRef(onRef: (kind: RefKind, target: number, from: number) => void): boolean {
    let from = this.r.offset;
    for (const c of [...this.cuts, this.r.offset + this.r.size]) {
      if (c > from) {
        const refs = this.refs(from, c, this.delta);
        // Code that branches where the graph does not decode: its edges would be lost (fail closed).
        if (refs.leaves) return false;
        refs.calls.forEach((t, k) => onRef('call', t, refs.callsFrom?.[k] ?? Number.NaN));
        refs.jumps.forEach((t, k) => onRef('jump', t, refs.jumpsFrom[k]!));
        for (const t of refs.mems) onRef('mem', t, Number.NaN);
      }
      from = Math.max(from, c);
    }
    return true;
  }

  visit(from: number, to: number, onTarget: (t: number) => void, onPage: (page: number) => void): number {
    const refs = this.refs(from, to, this.delta);
    refs.calls.forEach(onTarget);
    refs.jumps.forEach(onTarget);
    refs.mems.forEach(onTarget);
    refs.pages?.forEach(onPage);
    return (refs.fallsThrough ? STRETCH_FALLS : 0) | (refs.padding ? STRETCH_PADDING : 0) | (refs.stubLike ? STRETCH_STUB : 0);
  }
}

/**
 * Whether a branch from `from` to `to` leaves the decoded code for the rest of an executable
 * segment, from code a function symbol or an FDE says is a function's. A branch decoded from a
 * word outside every known function may be data (crypto libraries keep their tables in .text)
 * and is not taken to mean anything; a real one there lands where no node is, so nothing of it
 * is lost that the graph had.
 */
function leavesCode(elf: ElfInfo, code: readonly ElfExecRegion[]): (from: number, to: number) => boolean {
  const inside = (rs: readonly { addr: number; size: number }[], a: number): boolean => rs.some((r) => a >= r.addr && a < r.addr + r.size);
  let known: [number, number][] | undefined;
  const isFunction = (a: number): boolean => {
    if (!known) {
      known = [];
      for (const s of elf.symbols) if (s.type === 'func' && s.size > 0) known.push([s.value, s.value + s.size]);
      const f = elf.frames;
      for (let i = 0; i < (f?.length ?? 0); i++) known.push([f!.start[i]!, f!.end[i]!]);
    }
    return known.some(([lo, hi]) => a >= lo && a < hi);
  };
  return (from, to) => inside(elf.exec, to) && !inside(code, to) && isFunction(from);
}

/**
 * The executable regions cut to the code sections (ElfInfo.codeSections) when the file has
 * them: on AArch64 and ARM the linker puts the symbol tables, relocations, .rodata and
 * .eh_frame in the executable segment too, and decoded as instructions they would give the
 * graph branches and references nothing makes (false FAILs). Without section headers, all of
 * each region is decoded (a data word can only add references).
 */
function codeOnly(elf: ElfInfo): ElfExecRegion[] {
  if (!elf.codeSections) return elf.exec;
  const out: ElfExecRegion[] = [];
  for (const r of elf.exec)
    for (const s of elf.codeSections) {
      const lo = Math.max(r.addr, s.addr);
      const hi = Math.min(r.addr + r.size, s.addr + s.size);
      if (hi > lo) out.push({ ...r, addr: lo, offset: r.offset + (lo - r.addr), size: hi - lo });
    }
  return out;
}
