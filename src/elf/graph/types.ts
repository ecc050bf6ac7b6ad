/** The call graph's view of an ISA (src/elf/graph/refs.ts chooses one per file). */
import type { ElfExecRegion } from '../types.ts';

/** The references of one stretch of code. */
export interface CodeRefs {
  /** Direct call targets: function entries. */
  calls: number[];
  /** Direct jump targets (unconditional and conditional). */
  jumps: number[];
  /** Address of each jump of `jumps`. */
  jumpsFrom: number[];
  /** Addresses the code forms or reads: GOT slots, data, taken function addresses. */
  mems: number[];
  /**
   * Starts of 4 KiB pages an address may have been formed in without the decoder seeing which
   * (an AArch64 `adrp` whose low 12 bits it did not find): every node and GOT slot in the page
   * counts as referenced (fail closed). Absent: none.
   */
  pages?: number[];
  /**
   * Address of each call of `calls`, where the ISA's extraction gives it (AArch64): to tell a
   * function's branch from a data word's decoding (refs.ts, `leaves`).
   */
  callsFrom?: number[];
  /**
   * Whether code a symbol or an FDE says is a function branches where the graph does not decode
   * (out of the code sections into the rest of an executable segment): the caller gives up the
   * graph, since what runs there is not in it.
   */
  leaves?: boolean;
  /** Whether the last instruction decoded can fall through into the byte after the stretch. */
  fallsThrough: boolean;
  /** Whether the stretch is only what a PLT (or a linker's veneer) holds: never a function of its own. */
  stubLike: boolean;
  /** Whether the stretch is only alignment padding. */
  padding: boolean;
}

/** What a reference is: a direct call, a direct jump, or an address the code forms or reads. */
export type RefKind = 'call' | 'jump' | 'mem';

/** RegionCode.visit's result bits: CodeRefs' fallsThrough, padding and stubLike. */
export const STRETCH_FALLS = 1;
export const STRETCH_PADDING = 2;
export const STRETCH_STUB = 4;

/**
 * One executable region's code as the call graph reads it: decoded from the region's start and
 * from each cut (a function symbol's start), once for all (x86-64: sites/x86-refs.ts RefSweep)
 * or stretch by stretch (AArch64).
 */
export interface RegionCode {
  /**
   * Every reference of the region, decoded segment by segment between the cuts (`from`: the
   * address of the instruction). False: code a function's symbol or FDE covers branches where
   * the graph does not decode, so the caller gives the graph up (CodeRefs.leaves).
   */
  forEachRef(onRef: (kind: RefKind, target: number, from: number) => void): boolean;
  /**
   * The references of file offsets [from, to), each target handed to `onTarget` and each page
   * of CodeRefs.pages to `onPage`; returns STRETCH_* bits.
   */
  visit(from: number, to: number, onTarget: (t: number) => void, onPage: (page: number) => void): number;
}

/** An ISA's reference extraction. */
export interface GraphIsa {
  /** Region `r`'s code, resynchronised at `cuts` (file offsets, ascending). */
  region(r: ElfExecRegion, cuts: readonly number[]): RegionCode;
  /**
   * Whether `refs` decodes every instruction exactly (fixed width, nothing to resynchronise):
   * then the byte-wise search for rel32 words that an x86 sweep needs is not made.
   */
  exact: boolean;
  /** The parts of the executable regions that are decoded as code (x86-64: all of them). */
  code: ElfExecRegion[];
}
