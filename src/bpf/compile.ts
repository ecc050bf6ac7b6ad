/**
 * Lowering: Policy -> BPF program.
 *
 *   ld [arch]; jeq #AUDIT_ARCH_a ...; (other arch -> foreignArchAction)
 *   per arch:  ld [nr]; decision tree over number ranges; argument checks at the leaves
 *   shared ret instructions at the end
 *
 * The numbers 0..2^32-1 are cut into ranges that share one outcome (adjacent numbers with the
 * same unconditional action merge, gaps in the table and everything past tableMax take the
 * default action; on x86_64 the x32 numbers take the foreign-arch action, except 0xFFFFFFFF).
 * A dynamic program over those ranges picks the comparison tree with the smallest worst-case
 * path (then the smallest average over the table's numbers): `jge` splits, plus a `jeq` that
 * takes a single number out from between two ranges with the same outcome, which removes
 * two ranges with one comparison.
 */
import { InputError } from '../errors.ts';
import { clausesBySeverity } from '../policy/evaluate.ts';
import type { ArgCondition, Policy, Rule } from '../policy/types.ts';
import { X32_SYSCALL_BIT, type ArchInfo } from '../syscalls/arches.ts';
import { explore, longestPath } from './analyze.ts';
import { AsmBuilder, assemble, type Label } from './assemble.ts';
import { runFilter } from './emulate.ts';
import {
  OP_AND_K,
  OP_JEQ_K,
  OP_JGE_K,
  OP_JGT_K,
  OP_LD_ABS,
  OP_RET_K,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  actionToRet,
  argOffset,
  retName,
  type Endian,
  type Insn,
} from './types.ts';

export interface ArchStats {
  arch: string;
  /** Ranges of numbers the tree tells apart (whole u32 space, x32 pieces included). */
  ranges: number;
  /** Longest path for this arch (instructions, ret included, argument checks included). */
  worstPath: number;
  /** Mean instructions executed for the numbers the policy has rules for, all arguments zero. */
  averagePath: number;
}

export interface FilterStats {
  length: number;
  ranges: number;
  worstPath: number;
  averagePath: number;
  trampolines: number;
  perArch: ArchStats[];
}

export interface CompiledFilter {
  insns: Insn[];
  /** One per instruction: what it tests or returns, with syscall and action names. */
  comments: string[];
  endian: Endian;
  arches: ArchInfo[];
  stats: FilterStats;
}

type Outcome = { kind: 'ret'; key: string; ret: number } | { kind: 'cond'; key: string; rule: Rule; ret: number };

interface Segment {
  lo: number;
  hi: number;
  out: Outcome;
  /** Rules in the segment (the average path is taken over the policy's rules). */
  weight: number;
  /** Worst path of the leaf (1 for a ret). */
  cost: number;
  /** Instructions of the leaf's own code (0 for a ret: rets are shared). */
  size: number;
}

const U32_MAX = 0xffffffff;

export function compileFilter(policies: readonly Policy[]): CompiledFilter {
  if (policies.length === 0) throw new InputError('compileFilter needs at least one policy');
  const first = policies[0]!;
  const foreignRet = actionToRet(first.foreignArchAction);
  const seen = new Set<number>();
  for (const p of policies) {
    if (actionToRet(p.foreignArchAction) !== foreignRet) {
      throw new InputError(`policies for ${first.arch.name} and ${p.arch.name} disagree on the foreign-arch action`);
    }
    if (p.arch.endian !== first.arch.endian) {
      throw new InputError(`arches ${first.arch.name} and ${p.arch.name} differ in byte order; they cannot share one filter`);
    }
    if (seen.has(p.arch.auditArch)) throw new InputError(`arch ${p.arch.name} appears twice`);
    seen.add(p.arch.auditArch);
  }
  if (first.foreignArchAction.kind === 'allow' || first.foreignArchAction.kind === 'log') {
    throw new InputError('the foreign-arch action must not allow the call');
  }
  const endian = first.arch.endian;

  const b = new AsmBuilder();
  const rets = new Map<number, Label>();
  const retLabel = (ret: number): Label => {
    let l = rets.get(ret >>> 0);
    if (!l) {
      l = `ret.${(ret >>> 0).toString(16)}`;
      rets.set(ret >>> 0, l);
    }
    return l;
  };

  b.insn(OP_LD_ABS, SECCOMP_DATA_ARCH, 'A = arch');
  const archLabels = policies.map((p) => `arch.${p.arch.name}`);
  policies.forEach((p, i) => {
    const last = i === policies.length - 1;
    b.jump(OP_JEQ_K, p.arch.auditArch, archLabels[i]!, last ? retLabel(foreignRet) : null, `arch == ${p.arch.name}`);
  });

  const built = policies.map((p, i) => {
    b.label(archLabels[i]!);
    b.insn(OP_LD_ABS, SECCOMP_DATA_NR, 'A = nr');
    const segs = segments(p, foreignRet);
    const names = new Map(p.rules.map((r) => [r.nr, r.name]));
    emitTree(b, segs, p, endian, retLabel, names);
    return segs;
  });

  // Shared rets, sorted by value, with the (first policy's) default action last.
  const defaultRet = actionToRet(first.defaultAction) >>> 0;
  retLabel(defaultRet); // always present, and last: listings name it as the default action
  const order = [...rets].sort((x, y) => (x[0] === defaultRet ? 1 : 0) - (y[0] === defaultRet ? 1 : 0) || x[0] - y[0]);
  for (const [ret, l] of order) {
    b.label(l);
    b.insn(OP_RET_K, ret, retName(ret));
  }

  const asm = assemble(b.items);
  const { insns, comments } = asm;
  const perArch = policies.map((p, i): ArchStats => {
    const segs = built[i]!;
    let total = 0;
    let count = 0;
    for (const s of segs) {
      if (s.weight === 0) continue;
      total += s.weight * runFilter(insns, { nr: s.lo, arch: p.arch.auditArch }, endian).steps;
      count += s.weight;
    }
    if (count === 0) {
      total = runFilter(insns, { nr: 0, arch: p.arch.auditArch }, endian).steps;
      count = 1;
    }
    return {
      arch: p.arch.name,
      ranges: segs.length,
      worstPath: explore(insns, { arch: p.arch.auditArch }).longest,
      averagePath: total / count,
    };
  });
  const ruleCount = (p: Policy): number => Math.max(p.rules.length, 1);
  const stats: FilterStats = {
    length: insns.length,
    ranges: perArch.reduce((s, a) => s + a.ranges, 0),
    worstPath: longestPath(insns),
    averagePath: perArch.reduce((s, a, i) => s + a.averagePath * ruleCount(policies[i]!), 0) / policies.reduce((s, p) => s + ruleCount(p), 0),
    trampolines: asm.trampolines,
    perArch,
  };
  return { insns, comments, endian, arches: policies.map((p) => p.arch), stats };
}

// ---------------------------------------------------------------------------------------------
// Ranges

function segments(p: Policy, foreignRet: number): Segment[] {
  const { tableMax } = p;
  if (!Number.isInteger(tableMax) || tableMax < 0 || tableMax >= X32_SYSCALL_BIT) {
    throw new InputError(`${p.arch.name}: tableMax ${tableMax} is out of range`);
  }
  const defRet = actionToRet(p.defaultAction);
  const rules = [...p.rules].sort((a, b) => a.nr - b.nr);
  const raw: { lo: number; hi: number; out: Outcome }[] = [];
  const retOut = (ret: number): Outcome => ({ kind: 'ret', key: `r${ret >>> 0}`, ret: ret >>> 0 });
  let next = 0;
  for (const r of rules) {
    if (!Number.isInteger(r.nr) || r.nr < 0 || r.nr > tableMax) {
      throw new InputError(`${p.arch.name}: rule ${r.name} has number ${r.nr}, outside 0..${tableMax}`);
    }
    if (r.nr < next) throw new InputError(`${p.arch.name}: two rules for number ${r.nr}`);
    if (r.nr > next) raw.push({ lo: next, hi: r.nr - 1, out: retOut(defRet) });
    raw.push({ lo: r.nr, hi: r.nr, out: ruleOutcome(r, defRet, p.arch) });
    next = r.nr + 1;
  }
  if (p.arch.x32) {
    // x32 numbers carry bit 30; 0xFFFFFFFF (a tracer's "skip") is a plain unknown number.
    if (next <= 0x3fffffff) raw.push({ lo: next, hi: 0x3fffffff, out: retOut(defRet) });
    raw.push({ lo: 0x40000000, hi: 0x7fffffff, out: retOut(foreignRet) });
    raw.push({ lo: 0x80000000, hi: 0xbfffffff, out: retOut(defRet) });
    raw.push({ lo: 0xc0000000, hi: 0xfffffffe, out: retOut(foreignRet) });
    raw.push({ lo: U32_MAX, hi: U32_MAX, out: retOut(defRet) });
  } else {
    raw.push({ lo: next, hi: U32_MAX, out: retOut(defRet) });
  }
  const merged: Segment[] = [];
  for (const r of raw) {
    const prev = merged[merged.length - 1];
    if (prev && prev.out.key === r.out.key) {
      prev.hi = r.hi;
    } else {
      merged.push({ lo: r.lo, hi: r.hi, out: r.out, weight: 0, cost: 1, size: 0 });
    }
  }
  let si = 0;
  for (const r of rules) {
    while (merged[si]!.hi < r.nr) si++;
    merged[si]!.weight++;
  }
  for (const s of merged) {
    if (s.out.kind === 'cond') {
      const c = condBlockCost(s.out.rule, defRet, p.arch.endian);
      s.cost = c.worst;
      s.size = c.size;
    }
  }
  return merged;
}

/**
 * The clauses a leaf tests, in order: most severe first (evaluate.ts), the first that holds
 * returns its action, none -> the default. Clauses at the end with the default's action change
 * nothing and are left out.
 */
function leafClauses(r: Rule, defRet: number): { ret: number; lists: ArgCondition[][] }[] {
  const out = clausesBySeverity(r).map((c) => ({ ret: actionToRet(c.action), lists: [c.conditions] }));
  while (out.length && out[out.length - 1]!.ret === defRet) out.pop();
  // Neighbours with the same action are one OR of AND-lists.
  const merged: { ret: number; lists: ArgCondition[][] }[] = [];
  for (const c of out) {
    const prev = merged[merged.length - 1];
    if (prev && prev.ret === c.ret) prev.lists.push(...c.lists);
    else merged.push(c);
  }
  return merged;
}

function ruleOutcome(r: Rule, defRet: number, arch: ArchInfo): Outcome {
  for (const c of r.clauses) for (const x of c.conditions) checkCondition(x, r, arch);
  for (const c of r.clauses) actionToRet(c.action); // range-checks errno/trace data
  const leaf = leafClauses(r, defRet);
  if (leaf.length === 0) return { kind: 'ret', key: `r${defRet}`, ret: defRet };
  const first = leaf[0]!;
  if (first.lists.some((l) => l.length === 0)) {
    // The most severe clause always holds (or all that is left is an always-true list).
    return { kind: 'ret', key: `r${first.ret}`, ret: first.ret };
  }
  const key = `c:${JSON.stringify(leaf, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
  return { kind: 'cond', key, rule: r, ret: first.ret };
}

function checkCondition(c: ArgCondition, r: Rule, arch: ArchInfo): void {
  const where = `${arch.name}: rule ${r.name}`;
  if (!Number.isInteger(c.index) || c.index < 0 || c.index > 5) throw new InputError(`${where}: argument index ${c.index} is not 0..5`);
  const max = c.width === 32 ? 0xffffffffn : 0xffffffffffffffffn;
  const fits = (v: bigint): boolean => v >= 0n && v <= max;
  if (!fits(c.value)) throw new InputError(`${where}: value ${c.value} does not fit in ${c.width} bits`);
  if (c.op === 'masked-eq') {
    if (c.mask === undefined) throw new InputError(`${where}: masked-eq needs a mask`);
    if (!fits(c.mask)) throw new InputError(`${where}: mask ${c.mask} does not fit in ${c.width} bits`);
  }
}

// ---------------------------------------------------------------------------------------------
// Argument checks

/**
 * Emits the checks of one rule: clause by clause (leafClauses), each an OR of AND-lists; the
 * first that holds returns its action; when none holds, the default.
 */
function emitCondBlock(b: AsmBuilder, rule: Rule, defRet: number, endian: Endian, retLabel: (r: number) => Label): void {
  const leaf = leafClauses(rule, defRet);
  leaf.forEach((clause, ki) => {
    const lastClause = ki === leaf.length - 1;
    const lists = clause.lists;
    lists.forEach((list, li) => {
      const last = lastClause && li === lists.length - 1;
      if (list.length === 0) {
        b.ja(retLabel(clause.ret), `${rule.name}: always`);
        return;
      }
      const fail = last ? retLabel(defRet) : b.fresh('or');
      list.forEach((c, ci) => {
        const lastCond = ci === list.length - 1;
        const ok = lastCond ? retLabel(clause.ret) : b.fresh('and');
        emitCondition(b, c, endian, ok, fail, ci === 0 ? rule.name : undefined);
        if (!lastCond) b.label(ok);
      });
      if (!last) b.label(fail);
    });
  });
}

function emitCondition(b: AsmBuilder, c: ArgCondition, endian: Endian, ok: Label, fail: Label, name?: string): void {
  const lo = (v: bigint): number => Number(v & 0xffffffffn);
  const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
  const what = `args[${c.index}]`;
  const desc = `${name ? `${name}: ` : ''}${what} ${c.op === 'masked-eq' ? `& 0x${(c.mask ?? 0n).toString(16)} ==` : opSym(c.op)} 0x${c.value.toString(16)}`;
  const ldLo = (comment?: string): void => void b.insn(OP_LD_ABS, argOffset(c.index, 'lo', endian), comment ?? `A = ${what} lo`);
  const ldHi = (comment?: string): void => void b.insn(OP_LD_ABS, argOffset(c.index, 'hi', endian), comment ?? `A = ${what} hi`);
  const v = c.value;
  // Final comparison on the low word, given how it relates to the op.
  const lowCompare = (): void => {
    const k = lo(v);
    switch (c.op) {
      case 'eq':
        b.jump(OP_JEQ_K, k, ok, fail);
        break;
      case 'ne':
        b.jump(OP_JEQ_K, k, fail, ok);
        break;
      case 'gt':
        b.jump(OP_JGT_K, k, ok, fail);
        break;
      case 'ge':
        b.jump(OP_JGE_K, k, ok, fail);
        break;
      case 'lt':
        b.jump(OP_JGE_K, k, fail, ok);
        break;
      case 'le':
        b.jump(OP_JGT_K, k, fail, ok);
        break;
      case 'masked-eq':
        b.insn(OP_AND_K, lo(c.mask ?? 0n));
        b.jump(OP_JEQ_K, k, ok, fail);
        break;
    }
  };
  if (c.width === 32) {
    ldLo(`A = ${what} lo  ; ${desc} (32-bit)`);
    lowCompare();
    return;
  }
  const next = b.fresh('lo');
  const vh = hi(v);
  switch (c.op) {
    case 'eq':
      ldHi(`A = ${what} hi  ; ${desc}`);
      b.jump(OP_JEQ_K, vh, next, fail);
      break;
    case 'ne':
      ldHi(`A = ${what} hi  ; ${desc}`);
      b.jump(OP_JEQ_K, vh, next, ok);
      break;
    case 'gt':
    case 'ge': {
      ldHi(`A = ${what} hi  ; ${desc}`);
      const eq = b.fresh('hieq');
      b.jump(OP_JGT_K, vh, ok, eq);
      b.label(eq);
      b.jump(OP_JEQ_K, vh, next, fail);
      break;
    }
    case 'lt':
    case 'le': {
      ldHi(`A = ${what} hi  ; ${desc}`);
      const eq = b.fresh('hieq');
      b.jump(OP_JGT_K, vh, fail, eq);
      b.label(eq);
      b.jump(OP_JEQ_K, vh, next, ok);
      break;
    }
    case 'masked-eq': {
      const mh = hi(c.mask ?? 0n);
      if (mh === 0 && vh === 0) {
        // The high word cannot matter.
        ldLo(`A = ${what} lo  ; ${desc}`);
        lowCompare();
        return;
      }
      ldHi(`A = ${what} hi  ; ${desc}`);
      b.insn(OP_AND_K, mh);
      b.jump(OP_JEQ_K, vh, next, fail);
      break;
    }
  }
  b.label(next);
  ldLo();
  lowCompare();
}

function opSym(op: ArgCondition['op']): string {
  return { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', 'masked-eq': '&==' }[op];
}

function condBlockCost(rule: Rule, defRet: number, endian: Endian): { worst: number; size: number } {
  const b = new AsmBuilder();
  b.label('start');
  const rets = new Map<number, Label>();
  const rl = (r: number): Label => {
    let l = rets.get(r);
    if (!l) rets.set(r, (l = `ret${rets.size}`));
    return l;
  };
  rl(defRet);
  emitCondBlock(b, rule, defRet, endian, rl);
  for (const [r, l] of rets) b.label(l).insn(OP_RET_K, r);
  const asm = assemble(b.items);
  return { worst: longestPath(asm.insns, 0), size: asm.insns.length - rets.size };
}

// ---------------------------------------------------------------------------------------------
// Decision tree

type Tree =
  | { kind: 'leaf'; seg: number }
  | { kind: 'split'; k: number; lower: Tree; upper: Tree }
  /** jeq on a single number taken out from between two ranges with the same outcome. */
  | { kind: 'peel'; k: number; hit: Tree; rest: Tree };

const Choice = { Leaf: 0, Split: 1, PeelLeft: 2, PeelRight: 3 } as const;
/** Above this many ranges the exact search costs too much memory: plain halving instead. */
const DP_MAX_RANGES = 1200;
/** Split points tried on each side of the balanced one (for the average-path tie-break). */
const SPLIT_WINDOW = 24;

/**
 * The comparison tree with the smallest worst-case path, then the smallest total path over the
 * segment weights: dynamic programming over intervals of segments.
 */
function buildTree(segs: readonly Segment[]): Tree {
  const n = segs.length;
  if (n > DP_MAX_RANGES) return halve(segs, 0, n - 1);
  const cells = n * n;
  const worst = new Int16Array(cells);
  const sum = new Float64Array(cells);
  const lp = new Int16Array(cells);
  const rp = new Int16Array(cells);
  const choice = new Uint8Array(cells);
  const arg = new Int16Array(cells);
  const W = new Float64Array(n + 1);
  segs.forEach((s, i) => (W[i + 1] = W[i]! + s.weight));
  const at = (i: number, j: number): number => i * n + j;
  const single = (i: number): boolean => segs[i]!.lo === segs[i]!.hi;
  const sameKey = (i: number, j: number): boolean => segs[i]!.out.key === segs[j]!.out.key;

  for (let i = 0; i < n; i++) {
    const s = segs[i]!;
    const c = at(i, i);
    worst[c] = s.cost;
    sum[c] = s.weight * s.cost;
    lp[c] = rp[c] = s.cost;
    choice[c] = Choice.Leaf;
  }
  for (let len = 2; len <= n; len++) {
    for (let i = 0; i + len - 1 < n; i++) {
      const j = i + len - 1;
      const wij = W[j + 1]! - W[i]!;
      let bw = Infinity;
      let bs = Infinity;
      let bc: number = Choice.Split;
      let ba = i;
      const consider = (w: number, s: number, c: number, a: number): void => {
        if (w < bw || (w === bw && s < bs - 1e-9)) {
          bw = w;
          bs = s;
          bc = c;
          ba = a;
        }
      };
      // worst(i, m) grows with m and worst(m + 1, j) shrinks: the balanced split is where they
      // cross. Try a few split points around it.
      let lo = i;
      let hi = j - 1;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (worst[at(i, m)]! >= worst[at(m + 1, j)]!) hi = m;
        else lo = m + 1;
      }
      const from = Math.max(i, lo - SPLIT_WINDOW);
      const to = Math.min(j - 1, lo + SPLIT_WINDOW);
      for (let m = from; m <= to; m++) {
        const L = at(i, m);
        const R = at(m + 1, j);
        consider(1 + Math.max(worst[L]!, worst[R]!), wij + sum[L]! + sum[R]!, Choice.Split, m);
      }
      if (len >= 3 && single(i + 1) && sameKey(i, i + 2)) {
        const R = at(i + 2, j);
        const y = segs[i + 1]!;
        consider(1 + Math.max(y.cost, worst[R]!), wij + y.weight * y.cost + sum[R]! + segs[i]!.weight * lp[R]!, Choice.PeelLeft, 0);
      }
      if (len >= 3 && single(j - 1) && sameKey(j - 2, j)) {
        const L = at(i, j - 2);
        const y = segs[j - 1]!;
        consider(1 + Math.max(y.cost, worst[L]!), wij + y.weight * y.cost + sum[L]! + segs[j]!.weight * rp[L]!, Choice.PeelRight, 0);
      }
      const c = at(i, j);
      worst[c] = bw;
      sum[c] = bs;
      choice[c] = bc;
      arg[c] = ba;
      const inner = bc === Choice.Split ? -1 : bc === Choice.PeelLeft ? at(i + 2, j) : at(i, j - 2);
      lp[c] = 1 + (inner < 0 ? lp[at(i, ba)]! : lp[inner]!);
      rp[c] = 1 + (inner < 0 ? rp[at(ba + 1, j)]! : rp[inner]!);
    }
  }
  const tree = (i: number, j: number): Tree => {
    const c = at(i, j);
    switch (choice[c]) {
      case Choice.Leaf:
        return { kind: 'leaf', seg: i };
      case Choice.Split: {
        const m = arg[c]!;
        return { kind: 'split', k: segs[m + 1]!.lo, lower: tree(i, m), upper: tree(m + 1, j) };
      }
      case Choice.PeelLeft:
        return { kind: 'peel', k: segs[i + 1]!.lo, hit: { kind: 'leaf', seg: i + 1 }, rest: tree(i + 2, j) };
      default:
        return { kind: 'peel', k: segs[j - 1]!.lo, hit: { kind: 'leaf', seg: j - 1 }, rest: tree(i, j - 2) };
    }
  };
  return tree(0, n - 1);
}

function halve(segs: readonly Segment[], i: number, j: number): Tree {
  if (i === j) return { kind: 'leaf', seg: i };
  const m = (i + j) >> 1;
  return { kind: 'split', k: segs[m + 1]!.lo, lower: halve(segs, i, m), upper: halve(segs, m + 1, j) };
}

/** Subtrees up to this many instructions get their own ret instructions right after them. */
const POOL_SUBTREE = 200;

function emitTree(b: AsmBuilder, segs: Segment[], p: Policy, endian: Endian, globalRet: (r: number) => Label, names: Map<number, string>): void {
  const defRet = actionToRet(p.defaultAction);
  const nrText = (nr: number): string => {
    const name = names.get(nr);
    return name ? `${nr} (${name})` : nr > 0xffff ? `0x${nr.toString(16)}` : `${nr}`;
  };
  const sizes = new Map<Tree, number>();
  const size = (t: Tree): number => {
    let v = sizes.get(t);
    if (v === undefined) {
      v = t.kind === 'leaf' ? segs[t.seg]!.size : t.kind === 'split' ? 1 + size(t.lower) + size(t.upper) : 1 + size(t.hit) + size(t.rest);
      sizes.set(t, v);
    }
    return v;
  };
  // Ret pools: a small subtree jumps to rets placed right after it, so its jumps stay short.
  type Scope = { ret: (r: number) => Label; pool?: Map<number, Label> };
  const globalScope: Scope = { ret: globalRet };
  const newScope = (): Scope => {
    const pool = new Map<number, Label>();
    const tag = b.fresh('pool');
    return {
      pool,
      ret: (r: number) => {
        let l = pool.get(r >>> 0);
        if (!l) {
          l = `${tag}.${(r >>> 0).toString(16)}`;
          pool.set(r >>> 0, l);
        }
        return l;
      },
    };
  };
  const flush = (scope: Scope): void => {
    for (const [r, l] of [...scope.pool!].sort((x, y) => x[0] - y[0])) b.label(l).insn(OP_RET_K, r, retName(r));
  };

  type Child = { label: Label; emit?: () => void };
  const childOf = (t: Tree, scope: Scope): Child => {
    if (t.kind === 'leaf') {
      const s = segs[t.seg]!;
      if (s.out.kind === 'ret') return { label: scope.ret(s.out.ret) };
    }
    const label = b.fresh(t.kind === 'leaf' ? 'args' : 't');
    return {
      label,
      emit: () => {
        b.label(label);
        emitIn(t, scope);
      },
    };
  };
  const emitIn = (t: Tree, scope: Scope): void => {
    if (scope === globalScope && size(t) <= POOL_SUBTREE) {
      const local = newScope();
      emitNode(t, local);
      flush(local);
    } else {
      emitNode(t, scope);
    }
  };
  const emitNode = (t: Tree, scope: Scope): void => {
    if (t.kind === 'leaf') {
      const s = segs[t.seg]!;
      if (s.out.kind === 'cond') emitCondBlock(b, s.out.rule, defRet, endian, scope.ret);
      else b.ja(scope.ret(s.out.ret), 'every number');
      return;
    }
    let f: Child;
    let tt: Child;
    if (t.kind === 'split') {
      tt = childOf(t.upper, scope);
      f = childOf(t.lower, scope);
      b.jump(OP_JGE_K, t.k, tt.label, f.label, `nr >= ${nrText(t.k)}`);
    } else {
      tt = childOf(t.hit, scope);
      f = childOf(t.rest, scope);
      b.jump(OP_JEQ_K, t.k, tt.label, f.label, `nr == ${nrText(t.k)}`);
    }
    // Lower side first (it falls through), then the upper; ret leaves have no code here.
    f.emit?.();
    tt.emit?.();
  };
  // A small tree uses the shared rets at the end directly: no pool needed.
  const root = buildTree(segs);
  if (size(root) <= POOL_SUBTREE) emitNode(root, { ret: globalRet });
  else emitIn(root, globalScope);
}
