/**
 * Assembler: programs are lists of instructions whose jumps name labels; the last pass turns
 * labels into offsets. A conditional jump can only skip 255 instructions, so a jump that is
 * too long goes through a trampoline placed right after it: a copy of the target when the
 * target is a `ret` (no extra step on the path), else an unconditional `ja` (32-bit offset).
 */
import { InputError } from '../errors.ts';
import { BPF_JMP, BPF_MAXINSNS, BPF_RET, MAX_COND_JUMP, OP_JA, bpfClass, bpfOp, type Insn } from './types.ts';

export type Label = string;

export type AsmItem =
  | { kind: 'label'; name: Label }
  /** Any instruction that is not a jump. */
  | { kind: 'insn'; code: number; k: number; comment?: string }
  /** A conditional jump; null means the next instruction. */
  | { kind: 'jump'; code: number; k: number; jt: Label | null; jf: Label | null; comment?: string }
  | { kind: 'ja'; target: Label; comment?: string };

export interface Assembled {
  insns: Insn[];
  /** One per instruction ('' when none). */
  comments: string[];
  /** Where each label ended up. */
  labels: Map<Label, number>;
  /** Trampolines the last pass added. */
  trampolines: number;
}

/** Small helper to build item lists with fresh labels. */
export class AsmBuilder {
  readonly items: AsmItem[] = [];
  private n = 0;

  fresh(prefix = 'L'): Label {
    return `${prefix}.${this.n++}`;
  }
  label(name: Label): this {
    this.items.push({ kind: 'label', name });
    return this;
  }
  insn(code: number, k: number, comment?: string): this {
    this.items.push({ kind: 'insn', code, k: k >>> 0, comment });
    return this;
  }
  jump(code: number, k: number, jt: Label | null, jf: Label | null, comment?: string): this {
    this.items.push({ kind: 'jump', code, k: k >>> 0, jt, jf, comment });
    return this;
  }
  ja(target: Label, comment?: string): this {
    this.items.push({ kind: 'ja', target, comment });
    return this;
  }
}

interface Node {
  item: Exclude<AsmItem, { kind: 'label' }>;
  /** Index of the node each side resolves to. */
  t: number;
  f: number;
  trT: boolean;
  trF: boolean;
}

export function assemble(items: readonly AsmItem[]): Assembled {
  // Resolve labels to node indexes.
  const nodes: Node[] = [];
  const labelNode = new Map<Label, number>();
  const pendingLabels: Label[] = [];
  for (const it of items) {
    if (it.kind === 'label') {
      if (labelNode.has(it.name) || pendingLabels.includes(it.name)) {
        throw new Error(`assemble: label ${it.name} defined twice`);
      }
      pendingLabels.push(it.name);
      continue;
    }
    for (const l of pendingLabels) labelNode.set(l, nodes.length);
    pendingLabels.length = 0;
    nodes.push({ item: it, t: -1, f: -1, trT: false, trF: false });
  }
  if (pendingLabels.length) throw new Error(`assemble: label ${pendingLabels[0]} has no instruction`);
  const target = (l: Label | null, self: number): number => {
    if (l === null) return self + 1;
    const i = labelNode.get(l);
    if (i === undefined) throw new Error(`assemble: undefined label ${l}`);
    return i;
  };
  nodes.forEach((n, i) => {
    const it = n.item;
    if (it.kind === 'jump') {
      n.t = target(it.jt, i);
      n.f = target(it.jf, i);
    } else if (it.kind === 'ja') {
      n.t = n.f = target(it.target, i);
    }
    if ((it.kind === 'jump' || it.kind === 'ja') && (n.t <= i || n.f <= i || n.t >= nodes.length || n.f >= nodes.length)) {
      throw new Error(`assemble: jump at item ${i} does not go forward to an instruction`);
    }
  });

  // Add trampolines until every conditional jump fits in 8 bits; lengths only grow, so this ends.
  const extra = (n: Node): number => (n.trT && n.trF && n.t === n.f ? 1 : (n.trT ? 1 : 0) + (n.trF ? 1 : 0));
  let pos: number[] = [];
  for (;;) {
    pos = [];
    let p = 0;
    for (const n of nodes) {
      pos.push(p);
      p += 1 + extra(n);
    }
    let changed = false;
    nodes.forEach((n, i) => {
      if (n.item.kind !== 'jump') return;
      const here = pos[i]!;
      if (!n.trT && pos[n.t]! - here - 1 > MAX_COND_JUMP) {
        n.trT = true;
        changed = true;
      }
      if (!n.trF && pos[n.f]! - here - 1 > MAX_COND_JUMP) {
        n.trF = true;
        changed = true;
      }
    });
    if (!changed) break;
  }

  const insns: Insn[] = [];
  const comments: string[] = [];
  let trampolines = 0;
  const nodeCode = (i: number): number => {
    const it = nodes[i]!.item;
    return it.kind === 'ja' ? OP_JA : it.code;
  };
  const trampoline = (to: number, at: number): void => {
    trampolines++;
    const it = nodes[to]!.item;
    if (bpfClass(nodeCode(to)) === BPF_RET && it.kind === 'insn') {
      insns.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      comments.push(it.comment ?? '');
    } else {
      insns.push({ code: OP_JA, jt: 0, jf: 0, k: pos[to]! - at - 1 });
      comments.push('trampoline');
    }
  };
  nodes.forEach((n, i) => {
    const it = n.item;
    const here = pos[i]!;
    if (it.kind === 'insn') {
      if (bpfClass(it.code) === BPF_JMP && bpfOp(it.code) !== 0) {
        // Conditional jumps must be given as 'jump' items; a raw one would be unresolved.
        throw new Error('assemble: conditional jump given as plain insn');
      }
      insns.push({ code: it.code, jt: 0, jf: 0, k: it.k >>> 0 });
      comments.push(it.comment ?? '');
    } else if (it.kind === 'ja') {
      insns.push({ code: OP_JA, jt: 0, jf: 0, k: pos[n.t]! - here - 1 });
      comments.push(it.comment ?? '');
    } else {
      const shared = n.trT && n.trF && n.t === n.f;
      const jt = n.trT ? 0 : pos[n.t]! - here - 1;
      const jf = n.trF ? (shared ? 0 : n.trT ? 1 : 0) : pos[n.f]! - here - 1;
      insns.push({ code: it.code, jt, jf, k: it.k >>> 0 });
      comments.push(it.comment ?? '');
      if (n.trT) trampoline(n.t, here + 1);
      if (n.trF && !shared) trampoline(n.f, here + 1 + (n.trT ? 1 : 0));
    }
  });

  if (insns.length > BPF_MAXINSNS) {
    throw new InputError(
      `filter has ${insns.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
      'split the policy or merge rules with equal actions',
    );
  }
  const labels = new Map<Label, number>();
  for (const [l, i] of labelNode) labels.set(l, pos[i]!);
  return { insns, comments, labels, trampolines };
}
