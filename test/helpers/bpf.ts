/**
 * Helpers for the seccomp-BPF tests: hand-made policies, a seeded PRNG, random policies, the
 * intended action computed straight from a Policy (never from a program), and the kernel
 * harness (test/native/verdicts.c).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Action, ArgCondition, Clause, CompareOp, Policy, Rule } from '../../src/policy/types.ts';
import { ARCHES, X32_SYSCALL_BIT, type ArchInfo } from '../../src/syscalls/arches.ts';
import { encodeFilter } from '../../src/bpf/encode.ts';
import { retToAction, type Insn } from '../../src/bpf/types.ts';
import { ROOT } from './paths.ts';
import { requireTool } from './tools.ts';
import { evaluatePolicies } from '../../src/policy/call.ts';

export const ALLOW: Action = { kind: 'allow' };
export const errno = (e: number): Action => ({ kind: 'errno', errno: e });

/** A rule with one action: one clause per AND-list (OR), or one unconditional clause. */
export function rule(nr: number, action: Action = ALLOW, conditions: ArgCondition[][] = [], name = `sys${nr}`): Rule {
  const clauses = conditions.length ? conditions.map((list) => ({ action, conditions: list })) : [{ action, conditions: [] }];
  return { name, nr, clauses, provenance: { kind: 'target' } };
}

/** A rule from clauses, each with its own action (as repeated target entries give). */
export function clauseRule(nr: number, clauses: Clause[], name = `sys${nr}`): Rule {
  return { name, nr, clauses, provenance: { kind: 'target' } };
}

export function makePolicy(opts: { arch?: ArchInfo; rules: Rule[]; defaultAction?: Action; foreignArchAction?: Action; tableMax?: number }): Policy {
  return {
    target: { id: 'test', title: 'test', file: 'test.json' },
    firmware: null,
    arch: opts.arch ?? ARCHES.x86_64,
    defaultAction: opts.defaultAction ?? errno(1),
    foreignArchAction: opts.foreignArchAction ?? { kind: 'kill-process' },
    rules: [...opts.rules].sort((a, b) => a.nr - b.nr),
    absent: [],
    denied: [],
    listed: [],
    history: [],
    tableMax: opts.tableMax ?? 460,
  };
}

export { prng } from './prng.ts';

export type Rng = () => number;
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const u32 = (rng: Rng): bigint => BigInt(Math.floor(rng() * 2 ** 32));
const u64 = (rng: Rng): bigint => (u32(rng) << 32n) | u32(rng);

/** Values near the edges that argument checks get wrong: word boundaries, all-ones, zero. */
export function interestingValue(rng: Rng, width: 32 | 64): bigint {
  const v = pick(rng, [
    0n,
    1n,
    2n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    0x1ffffffffn,
    0xffffffff00000000n,
    0xffffffffffffffffn,
    u32(rng),
    u64(rng),
    u64(rng) & 0xffffn,
  ]);
  return width === 32 ? v & 0xffffffffn : v;
}

const OPS: CompareOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked-eq'];

export function randomCondition(rng: Rng): ArgCondition {
  const width = rng() < 0.3 ? 32 : 64;
  const op = pick(rng, OPS);
  const c: ArgCondition = { index: Math.floor(rng() * 6), op, value: interestingValue(rng, width), width };
  if (op === 'masked-eq') {
    c.mask = interestingValue(rng, width);
    if (rng() < 0.8) c.value &= c.mask;
  }
  return c;
}

export interface RandomPolicyOptions {
  arch?: ArchInfo;
  tableMax?: number;
  /** Numbers never given a rule (e.g. 335/336 on x86_64, which the kernel test cannot probe). */
  avoid?: number[];
  /** Allow kill-process at most this many times (each costs a process in the kernel test). */
  maxKillProcess?: number;
  defaults?: Action[];
  foreign?: Action[];
}

export function randomPolicy(rng: Rng, o: RandomPolicyOptions = {}): Policy {
  const tableMax = o.tableMax ?? 460;
  const density = 0.2 + rng() * 0.7;
  const rules: Rule[] = [];
  let killProcess = o.maxKillProcess ?? 2;
  const randomAction = (): Action => {
    const x = rng();
    if (x < 0.55) return ALLOW;
    if (x < 0.75) return errno(pick(rng, [1, 2, 13, 38, 95, 4095, 1 + Math.floor(rng() * 200)]));
    if (x < 0.82) return { kind: 'trap' };
    if (x < 0.86) return { kind: 'kill-thread' };
    if (x < 0.9 && killProcess > 0) {
      killProcess--;
      return { kind: 'kill-process' };
    }
    if (x < 0.94) return { kind: 'log' };
    if (x < 0.97) return { kind: 'trace', data: Math.floor(rng() * 100) };
    return { kind: 'user-notif' };
  };
  // Runs of equal actions, as real policies have.
  let current = randomAction();
  for (let nr = 0; nr <= tableMax; nr++) {
    if (o.avoid?.includes(nr)) continue;
    if (rng() > density) continue;
    if (rng() < 0.3) current = randomAction();
    const conds: ArgCondition[][] = [];
    if (rng() < 0.08) {
      const lists = 1 + Math.floor(rng() * 2);
      for (let l = 0; l < lists; l++) {
        const n = 1 + Math.floor(rng() * 3);
        conds.push(Array.from({ length: n }, () => randomCondition(rng)));
      }
    }
    rules.push(rule(nr, conds.length ? pick(rng, [ALLOW, errno(7), { kind: 'trap' }]) : current, conds));
  }
  return makePolicy({
    arch: o.arch,
    rules,
    tableMax,
    defaultAction: pick(rng, o.defaults ?? [errno(1), errno(38), { kind: 'trap' }, { kind: 'kill-thread' }]),
    foreignArchAction: pick(rng, o.foreign ?? [errno(22), { kind: 'trap' }, { kind: 'kill-thread' }]),
  });
}

export interface Probe {
  /** The arch the call is made with (i386 for int $0x80 on x86_64). */
  arch: ArchInfo;
  nr: number;
  args: bigint[];
}

/** What the policies mean for a call: the reference meaning, src/policy/evaluate.ts. */
export function intent(policies: readonly Policy[], probe: Probe): Action {
  return evaluatePolicies(policies, probe.arch.auditArch, probe.nr, probe.args);
}

/** What the kernel harness reports for an action (see verdicts.c for why). */
export function observed(a: Action, trapData = 0): string {
  switch (a.kind) {
    case 'allow':
    case 'log':
    case 'trace':
      return 'allow';
    case 'user-notif':
      return 'errno 38';
    case 'errno':
      return `errno ${Math.min(a.errno, 4095)}`;
    case 'trap':
      return `trap ${trapData}`;
    case 'kill-thread':
      return 'kill-thread';
    case 'kill-process':
      return 'kill-process';
  }
}

export const observedRet = (ret: number): string => observed(retToAction(ret), ret & 0xffff);

// ---------------------------------------------------------------------------------------------
// Kernel harness

export const TMP = join(ROOT, 'test/.tmp');
let harness: string | undefined;

/** Compiles test/native/verdicts.c once (gcc -O2); returns the binary's path. */
export function buildHarness(): string {
  if (harness) return harness;
  mkdirSync(TMP, { recursive: true });
  const src = join(ROOT, 'test/native/verdicts.c');
  const out = join(TMP, 'verdicts');
  let fresh = false;
  try {
    fresh = statSync(out).mtimeMs > statSync(src).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) {
    const r = spawnSync('gcc', ['-O2', '-Wall', '-pthread', '-o', out, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
  }
  harness = out;
  return out;
}

/**
 * Compiles test/native/lsc-export.c against libseccomp; undefined when libseccomp-dev is missing.
 * The program prints libseccomp's BPF for an x86_64 allow list.
 */
export function buildLibseccompExporter(): string | undefined {
  mkdirSync(TMP, { recursive: true });
  const out = join(TMP, 'lsc-export');
  const r = spawnSync('gcc', ['-O2', '-o', out, join(ROOT, 'test/native/lsc-export.c'), '-lseccomp'], { encoding: 'utf8' });
  return r.status === 0 ? out : undefined;
}

/** libseccomp's filter for an x86_64 allow list (default ERRNO(EPERM), bad arch KILL_PROCESS). */
export function libseccompFilter(bin: string, optimize: 1 | 2, nrs: readonly number[]): Uint8Array {
  const r = spawnSync(bin, [String(optimize), ...nrs.map(String)]);
  if (r.status !== 0) throw new Error(`lsc-export failed (${r.status}): ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/** Can this machine run the harness (x86_64 Linux with seccomp user notification)? */
export function kernelHarnessSupported(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'needs x86_64 Linux';
  return undefined;
}

let fileSeq = 0;

/** Runs the harness: one verdict string per probe, in order. */
/** In a mocha hook: skip locally, fail in CI, when the kernel harness cannot run here. */
export function requireKernelHarness(ctx: Mocha.Context): void {
  const why = kernelHarnessSupported();
  if (why) {
    if (process.env.CI) throw new Error(`kernel tests: ${why}`);
    ctx.skip();
  }
  requireTool(ctx, 'gcc', 'gcc');
}

export function kernelVerdicts(insns: readonly Insn[], probes: readonly Probe[]): string[] {
  const bin = buildHarness();
  const id = `${process.pid}-${fileSeq++}`;
  const filterFile = join(TMP, `filter-${id}.bpf`);
  const probeFile = join(TMP, `probes-${id}.txt`);
  writeFileSync(filterFile, encodeFilter(insns, 'little'));
  writeFileSync(
    probeFile,
    probes
      .map((p) => {
        const abi = p.arch.name === 'i386' ? 'i386' : 'x86_64';
        const args = Array.from({ length: 6 }, (_, i) => `0x${BigInt.asUintN(64, p.args[i] ?? 0n).toString(16)}`);
        return `${abi} 0x${(p.nr >>> 0).toString(16)} ${args.join(' ')}\n`;
      })
      .join(''),
  );
  const r = spawnSync(bin, [filterFile, probeFile], { encoding: 'utf8', timeout: 60_000 });
  rmSync(filterFile, { force: true });
  rmSync(probeFile, { force: true });
  if (r.status === 3) return [r.stdout.trim()];
  if (r.status !== 0) throw new Error(`harness failed (${r.status ?? r.signal}): ${r.stderr}`);
  const lines = r.stdout.trimEnd().split('\n');
  if (lines.length !== probes.length) throw new Error(`harness gave ${lines.length} lines for ${probes.length} probes`);
  return lines.map((l) => l.split(' ').slice(2).join(' '));
}

/** Runs a raw program through the harness only to see whether the kernel loads it. */
export function kernelAccepts(insns: readonly Insn[]): boolean {
  const out = kernelVerdicts(insns, [{ arch: ARCHES.x86_64, nr: 39, args: [] }]);
  return !out[0]!.startsWith('rejected');
}

/** Argument values that make one condition hold (when it can hold at all). */
function satisfying(c: ArgCondition, rng: Rng): bigint {
  const max = c.width === 32 ? 0xffffffffn : 0xffffffffffffffffn;
  let v: bigint;
  switch (c.op) {
    case 'eq':
    case 'le':
    case 'ge':
      v = c.value;
      break;
    case 'ne':
      v = c.value ^ 1n;
      break;
    case 'lt':
      v = c.value > 0n ? c.value - 1n : 0n;
      break;
    case 'gt':
      v = c.value < max ? c.value + 1n : c.value;
      break;
    case 'masked-eq':
      v = c.value | (u64(rng) & ~(c.mask ?? 0n) & max);
      break;
  }
  // A 32-bit check must ignore the high word: put garbage there.
  return c.width === 32 ? (v & 0xffffffffn) | (u32(rng) << 32n) : v;
}

/** Values next to a condition's constant, where off-by-one and half-word mistakes show. */
function nearby(c: ArgCondition, rng: Rng): bigint {
  const v = c.value;
  const choices = [
    v,
    v + 1n,
    v - 1n,
    v ^ 0x100000000n,
    v ^ 0x80000000n,
    v ^ 1n,
    (v & 0xffffffffn) | (u32(rng) << 32n),
    (u32(rng) << 32n) | (v >> 32n),
    0n,
    0xffffffffffffffffn,
    u64(rng),
  ];
  return BigInt.asUintN(64, pick(rng, choices));
}

export interface ProbeOptions {
  /** Leave out what the kernel harness cannot probe (x86_64 335/336). */
  forKernel?: boolean;
  /** Numbers probed for each arch: 0..limit (default tableMax + 20, at most 1100). */
  limit?: number;
  x32Samples?: number;
  /** Arches not in the filter to probe, with how many numbers each. */
  foreign?: { arch: ArchInfo; count: number }[];
  /** Argument vectors per conditional rule. */
  argVectors?: number;
}

export function probeSet(policies: readonly Policy[], rng: Rng, o: ProbeOptions = {}): Probe[] {
  const out: Probe[] = [];
  const skip = (arch: ArchInfo, nr: number): boolean => !!o.forKernel && arch.name === 'x86_64' && (nr === 335 || nr === 336);
  const randomArgs = (): bigint[] => Array.from({ length: 6 }, () => interestingValue(rng, 64));
  for (const p of policies) {
    const limit = o.limit ?? Math.min(p.tableMax + 20, 1100);
    const nrs = new Set<number>();
    for (let nr = 0; nr <= limit; nr++) nrs.add(nr);
    for (const r of p.rules) for (const d of [-1, 0, 1]) if (r.nr + d >= 0) nrs.add(r.nr + d);
    for (const nr of [p.tableMax, p.tableMax + 1, 0x3fffffff, 0x80000000, 0xbfffffff, 0xffffffff]) nrs.add(nr);
    for (const nr of [...nrs].sort((a, b) => a - b)) {
      if (!skip(p.arch, nr)) out.push({ arch: p.arch, nr, args: rng() < 0.5 ? [] : randomArgs() });
    }
    if (p.arch.name === 'x86_64') {
      const xs = [0x40000000, 0x7fffffff, 0xc0000000, 0xfffffffe];
      for (let i = 0; i < (o.x32Samples ?? 40); i++) xs.push((X32_SYSCALL_BIT | Math.floor(rng() * 600)) >>> 0);
      for (const nr of xs) out.push({ arch: p.arch, nr, args: [] });
    }
    for (const r of p.rules) {
      const lists = r.clauses.map((c) => c.conditions).filter((l) => l.length);
      if (lists.length === 0 || skip(p.arch, r.nr)) continue;
      for (let v = 0; v < (o.argVectors ?? 12); v++) {
        const args = randomArgs();
        const list = pick(rng, lists);
        if (v % 2 === 0) {
          for (const c of list) args[c.index] = satisfying(c, rng);
        } else {
          const c = pick(rng, list);
          args[c.index] = nearby(c, rng);
        }
        out.push({ arch: p.arch, nr: r.nr, args });
      }
    }
  }
  for (const f of o.foreign ?? []) {
    for (let i = 0; i < f.count; i++) out.push({ arch: f.arch, nr: Math.floor(rng() * 500), args: [] });
  }
  return out;
}
