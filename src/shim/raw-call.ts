/**
 * The shim's raw system call (sg_raw6) as C, from the arch records: the convention's registers,
 * trap and clobbers (ArchInfo.syscall) and the C-only facts (ArchInfo.shim). Every shim carries
 * the branch of each shim arch under its `#if`, so one file compiles (or refuses to, through the
 * prelude's arch check) wherever it is taken; templates/shim/raw.c.tmpl holds the C text.
 */
import { cComment } from '../util/c-syntax.ts';
import { ARCH_NAMES, ARCHES, type ArchInfo, type ShimFacts, type SyscallConvention } from '../syscalls/arches.ts';
import { fill, requireSection, template } from './template.ts';

export type ShimArch = ArchInfo & { shim: ShimFacts };

/** Whether the shim has a raw system call for the arch (its record has ShimFacts). */
export function isShimArch(a: ArchInfo): a is ShimArch {
  return a.shim !== undefined;
}

/** The arches the shim has a raw system call for, in the shim's own order (ShimFacts.order). */
export function shimArches(): ShimArch[] {
  return ARCH_NAMES.map((n) => ARCHES[n])
    .filter(isShimArch)
    .sort((a, b) => a.shim.order - b.shim.order);
}

/** sg_raw6's parameters: the number, then the six arguments. */
const NR_PARAM = 'n';
const ARG_PARAMS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

interface Operand {
  /** The register variable's declaration; undefined when a constraint letter names the register. */
  decl?: string;
  /** GCC constraint letter ('r' for a register variable). */
  letter: string;
  /** The C expression bound to it. */
  expr: string;
  reg: string;
}

function operand(reg: string, value: string, constraints: Readonly<Record<string, string>>): Operand {
  const letter = constraints[reg];
  if (letter !== undefined) return { letter, expr: value, reg };
  return { decl: `  register long ${reg} __asm__("${reg}") = ${value};`, letter: 'r', expr: reg, reg };
}

/** sg_raw6 for one convention. */
export function rawCall(conv: SyscallConvention, shim: ShimFacts): string {
  const t = template('raw');
  const carrier = shim.nrCarrier;
  // The number's operand: its own register, or the carrier the trap sequence moves it from.
  const nrOp = operand(carrier ? carrier.via : conv.nr, NR_PARAM, shim.constraints);
  const argOps = conv.args.map((r, i) => operand(r, ARG_PARAMS[i]!, shim.constraints));
  // Declared and listed in this order: the number first, unless it travels in a carrier (last).
  const ops = carrier ? [...argOps, nrOp] : [nrOp, ...argOps];
  const retOp = ops.find((o) => o.reg === conv.ret && o.decl !== undefined);
  const decls = ops.flatMap((o) => (o.decl ? [o.decl] : []));
  let outputs: Operand[];
  let inputs: Operand[];
  let retExpr: string;
  let outText: string[];
  if (conv.argsClobbered) {
    // None of the registers keeps its value: each is an in-out operand.
    outputs = ops;
    inputs = [];
    outText = ops.map((o) => `"+${o.letter}"(${o.expr})`);
    if (!retOp) throw new Error(`shim: result register ${conv.ret} of ${conv.instruction} is no operand`);
    retExpr = retOp.expr;
  } else if (retOp) {
    // The result overwrites an argument register: that argument is in-out.
    outputs = [retOp];
    inputs = ops.filter((o) => o !== retOp);
    outText = [`"+${retOp.letter}"(${retOp.expr})`];
    retExpr = retOp.expr;
  } else {
    // The result register has a constraint letter: an output of its own.
    const letter = shim.constraints[conv.ret];
    if (letter === undefined) throw new Error(`shim: result register ${conv.ret} of ${conv.instruction} is no operand`);
    decls.push('  long ret;');
    outputs = [];
    inputs = ops;
    outText = [`"=${letter}"(ret)`];
    retExpr = 'ret';
  }
  const retIndex = conv.argsClobbered ? outputs.findIndex((o) => o.reg === conv.ret) : 0;
  const trap = carrier
    ? fill(requireSection(t, 'text', 'carrier'), { save: carrier.save, nr: conv.nr, via: carrier.via, instruction: conv.instruction })
    : conv.instruction;
  const asm = conv.error === 'summary-overflow' ? `${trap}\\n\\t${fill(requireSection(t, 'text', 'summary-overflow'), { ret: String(retIndex) })}` : trap;
  const clobbers = [...conv.clobbers, ...(carrier ? [carrier.save] : []), 'memory'];
  return fill(requireSection(t, 'text', 'raw6'), {
    registers: decls.join('\n'),
    asm: `"${asm}"`,
    outputs: outText.join(', '),
    inputs: inputs.length ? ` ${inputs.map((o) => `"${o.letter}"(${o.expr})`).join(', ')}` : '',
    clobbers: clobbers.map((c) => `"${c}"`).join(', '),
    ret: retExpr,
  });
}

/** What a raw-call branch is made of: arches that agree on it may share one. */
function conventionKey(a: ShimArch): string {
  const { rawNote, constraints, nrCarrier } = a.shim;
  return JSON.stringify({ syscall: a.syscall, rawNote, constraints, nrCarrier });
}

/**
 * Every shim arch's sg_raw6 under its guard, in the shim's order; arches of one convention
 * (one rawGuard) share a branch, and a guard given two different conventions is a bug.
 */
export function rawCalls(): string {
  const branches = new Map<string, { arch: ShimArch; text: string }>();
  for (const a of shimArches()) {
    const prev = branches.get(a.shim.rawGuard);
    if (prev) {
      if (conventionKey(prev.arch) !== conventionKey(a)) {
        throw new Error(`shim: ${prev.arch.name} and ${a.name} share the raw-call guard ${a.shim.rawGuard} but not the convention`);
      }
      continue;
    }
    const note = a.shim.rawNote ? `/* ${a.shim.rawNote.split('\n').map(cComment).join('\n * ')} */\n` : '';
    branches.set(a.shim.rawGuard, { arch: a, text: `${note}${rawCall(a.syscall, a.shim)}` });
  }
  const parts = [...branches].map(([guard, b], i) => `${i === 0 ? '#if' : '#elif'} ${guard}\n${b.text}`);
  return `${parts.join('\n')}\n#else\n${requireSection(template('raw'), 'text', 'none')}\n#endif`;
}
