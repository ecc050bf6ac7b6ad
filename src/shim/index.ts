/**
 * The libc shim: C source, for one resolved policy (target + firmware + arch), that an
 * application links so that library code keeps working where the target denies a call.
 *
 * Link strategy: symbol interposition. The shim defines the libc symbols themselves
 * (getrandom, pipe2, ..., syscall) in the executable, exported with
 * -Wl,--export-dynamic-symbol. That catches calls from the application's objects, from every
 * shared library it loads (libcrypto's weak getentropy import, libuv's syscall(SYS_getrandom)),
 * and in static musl links the C library's own calls by public name (musl's getentropy ->
 * getrandom). -Wl,--wrap would catch the application's own objects only. Neither catches
 * glibc-internal calls (hidden aliases and inline syscalls: malloc's getrandom, pthread_create's
 * clone3, stat's statx): at firmware >= 13.7 those get ENOSYS and glibc falls back itself; before
 * it, the optional SIGSYS handler serves them.
 */
import { cComment, cIdent, cString } from '../util/c-syntax.ts';
import { SHIM_MANIFEST_MAGIC, SHIM_MANIFEST_SYMBOL } from './manifest.ts';
import { InputError } from '../errors.ts';
import { formatAction, isAllow } from '../policy/action.ts';
import { showFirmware } from '../policy/firmware.ts';
import { callOutcome } from '../policy/call.ts';
import { unconditionalAction } from '../policy/evaluate.ts';
import type { ArgCondition, Clause, Policy } from '../policy/types.ts';
import { compareVersions, type Libc } from '../libc/index.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { syscallNumber } from '../syscalls/table.ts';
import { generatedBy } from '../version.ts';
import { FALLBACKS, type FallbackEntry, type FallbackVariant, type ShimSymbol } from './fallbacks.ts';
import { kstatBufferOf, kstatStructs } from './kstat.ts';
import { isShimArch, rawCalls, type ShimArch, shimArches } from './raw-call.ts';
import { sigsysHelpers, sigsysRegisters } from './sigsys-regs.ts';
import { fill, requireSection, template } from './template.ts';

export { FALLBACKS } from './fallbacks.ts';
export type { FallbackEntry, FallbackVariant, FlagEmulation, ShimSymbol } from './fallbacks.ts';

export interface ShimOptions {
  /** Add a SIGSYS handler that turns a seccomp TRAP into the fallback or ENOSYS (default off). */
  sigsys?: boolean;
}

export interface ShimWrapper {
  /** A libc symbol, or `syscall(SYS_x)` for a number syscall() routes. */
  name: string;
  /** The calls used instead (`pipe + fcntl + close`); empty when there are none. */
  fallback: string;
  status: 'fallback' | 'enosys';
}

export interface ShimFlags {
  /** To compile the shim's .c file. */
  cflags: string[];
  /** To link the executable that contains it. */
  ldflags: string[];
}

export interface ShimResult {
  files: { name: string; content: string }[];
  flags: ShimFlags;
  wrappers: ShimWrapper[];
}

/** Arches the shim has a raw system call for (ArchInfo.shim), in the shim's order. */
export const SHIM_ARCHES: readonly ArchName[] = shimArches().map((a) => a.name);

/** Syscalls the prelude's helpers use whatever the entries need. */
const BASE_CALLS = ['close', 'fcntl', 'openat', 'read', 'write'];

export const SHIM_CFLAGS: readonly string[] = ['-std=gnu11', '-O2'];

type Verdict = 'allowed' | 'denied' | 'absent';

/** What the policy does with a name: absent on the arch counts as not callable. */
export function verdictOf(policy: Policy, name: string): Verdict {
  const nr = syscallNumber(policy.arch.name, name);
  if (nr === null) return 'absent';
  const { always } = callOutcome(policy, nr);
  return always && isAllow(always) ? 'allowed' : 'denied';
}

export interface EntryPlan {
  entry: FallbackEntry;
  /** Symbols the shim defines: their libc implementation would enter a denied call. */
  symbols: ShimSymbol[];
  /** Denied numbers syscall() routes to the core. */
  routes: string[];
  /** The variant emitted; undefined: the core (or the symbols) fail with ENOSYS. */
  variant?: FallbackVariant;
}

/** Which entries the policy needs, and how each is served. Pure. */
/** The shim's view of each C library's calls for a symbol (fallbacks.ts, `libcCalls`). */
export function libcEntries(s: ShimSymbol, entry: FallbackEntry): (readonly string[])[] {
  const views = Object.values(s.libcCalls).flatMap((vs) => vs.map((x) => x.calls));
  return views.length ? views : [[entry.denied]];
}

/**
 * The call `libc`'s implementation of `s` enters first on `arch` at `version`, in the shim's
 * view: undefined when the view has no such libc (or release), null when none of its calls
 * exists on the arch.
 */
export function shimLibcCall(s: ShimSymbol, libc: Libc, arch: ArchName, version: string): string | null | undefined {
  const view = s.libcCalls[libc]?.find(
    (x) => (x.since === undefined || compareVersions(version, x.since) >= 0) && (x.before === undefined || compareVersions(version, x.before) < 0),
  );
  if (!view) return undefined;
  return view.calls.find((c) => syscallNumber(arch, c) !== null) ?? null;
}

export function planShim(policy: Policy): EntryPlan[] {
  const v = (name: string) => verdictOf(policy, name);
  const plans: EntryPlan[] = [];
  for (const entry of FALLBACKS) {
    const symbols = entry.symbols.filter((s) => {
      if (s.only32 && policy.arch.bits !== 32) return false;
      // Defined when the call some C library's implementation enters is denied (or absent).
      return libcEntries(s, entry).some((calls) => {
        const used = calls.find((c) => v(c) !== 'absent');
        return used === undefined || v(used) === 'denied';
      });
    });
    const routes = entry.variants.length ? entry.routes.filter((r) => v(r) === 'denied') : [];
    if (!symbols.length && !routes.length) continue;
    const variant = entry.variants.find((x) => (!x.fullIds || !policy.arch.uid16) && x.calls.every((c) => v(c) === 'allowed'));
    plans.push({ entry, symbols, routes, ...(variant ? { variant } : {}) });
  }
  return plans;
}

export function shimBaseName(policy: Policy): string {
  return [policy.target.id, ...(policy.firmware ? [showFirmware(policy.firmware)] : []), policy.arch.name].join('-');
}

export function generateShim(policy: Policy, opts: ShimOptions = {}): ShimResult {
  return renderShim(policy, shimBaseName(policy), opts);
}

/**
 * Whether some denial of the policy is a catchable seccomp TRAP, the only case the SIGSYS
 * handler serves: kill-process ends the process before any handler could run.
 */
function deniesByTrap(policy: Policy): boolean {
  return policy.defaultAction.kind === 'trap' || policy.rules.some((r) => r.clauses.some((c) => c.action.kind === 'trap'));
}

/** The shim for one policy, its file named `<baseName>.shim.c`. */
export function renderShim(policy: Policy, baseName: string, opts: ShimOptions = {}): ShimResult {
  const arch = policy.arch.name;
  const shimArch = policy.arch;
  if (!isShimArch(shimArch)) throw new InputError(`no libc shim for ${arch} (shim arches: ${SHIM_ARCHES.join(', ')})`);
  if (opts.sigsys && !deniesByTrap(policy)) {
    throw new InputError(
      `--sigsys cannot help ${policy.target.id}${policy.firmware ? ` at firmware ${showFirmware(policy.firmware)}` : ''}: ` +
        `a denied call there is ${formatAction(policy.defaultAction)}, not a trap; no signal handler runs before the process dies`,
    );
  }
  const plans = planShim(policy);

  const wrappers: ShimWrapper[] = [];
  const publicSymbols: { name: string; guard?: string }[] = [];
  const bodies: string[] = [];
  const calls = new Set<string>(BASE_CALLS);
  const routeCases: string[] = [];
  for (const p of plans) {
    const t = template(p.entry.template);
    const fallback = p.variant ? p.variant.calls.join(' + ') : '';
    const status = p.variant ? ('fallback' as const) : ('enosys' as const);
    const parts: string[] = [`/* ---- ${cComment(p.entry.id)}: ${p.variant ? `via ${cComment(fallback)}` : 'ENOSYS without entering the kernel'} ---- */`];
    if (p.entry.variants.length) parts.push(fill(requireSection(t, 'core', p.variant ? p.variant.id : 'enosys'), coreSlots(shimArch, p.variant)));
    for (const c of p.variant?.calls ?? []) calls.add(c);
    for (const s of p.symbols) {
      const code = requireSection(t, 'symbol', s.name);
      parts.push(s.guard ? `#if ${s.guard}\n${code}\n#endif` : code);
      publicSymbols.push({ name: s.name, ...(s.guard ? { guard: s.guard } : {}) });
      wrappers.push({ name: s.name, fallback, status });
    }
    for (const r of p.routes) {
      calls.add(r);
      routeCases.push(`  case ${nrMacro(r)}:\n    *ret = ${requireSection(t, 'route', r)};\n    return 1;`);
      wrappers.push({ name: `syscall(SYS_${r})`, fallback, status });
    }
    bodies.push(parts.join('\n\n'));
  }
  publicSymbols.push({ name: 'syscall' });

  const flags: ShimFlags = {
    cflags: [...SHIM_CFLAGS],
    // The manifest is exported too: `sysgate check` finds it in the dynamic symbols, as ld.so would.
    ldflags: [...publicSymbols.map((s) => s.name), SHIM_MANIFEST_SYMBOL].map((n) => `-Wl,--export-dynamic-symbol=${n}`),
  };
  const fileName = `${baseName}.shim.c`;
  const numbers = [...calls].sort().map((c) => {
    const nr = syscallNumber(arch, c);
    if (nr === null) throw new Error(`shim needs ${c}, which ${arch} does not have`);
    return `#define ${nrMacro(c)} ${nr}`;
  });
  const prelude = fill(requireSection(template('prelude'), 'text', 'main'), {
    header: header(policy, fileName, flags, wrappers, opts),
    arch,
    arch_check: shimArch.shim.cppTest,
    renames: publicSymbols.map((s) => `#define ${s.name} sysgate_libc_decl_${s.name}`).join('\n'),
    unrenames: publicSymbols.map((s) => `#undef ${s.name}`).join('\n'),
    numbers: numbers.join('\n'),
    kstat: kstatStructs(shimArch),
    raw_calls: rawCalls(),
  });
  const router = fill(requireSection(template('syscall'), 'text', 'main'), {
    routes: routeCases.length ? routeCases.join('\n') : '  /* no denied call with a fallback */',
    allowed: allowedCases(policy).join('\n'),
    allowed_default: allowedDefault(policy),
  });
  const sections = [prelude, ...bodies, router, manifestC(policy, plans)];
  if (opts.sigsys) sections.push(fill(requireSection(template('sigsys'), 'text', 'main'), { registers: sigsysRegisters(), helpers: sigsysHelpers() }));
  const content = `${sections.join('\n\n')}\n`;
  return { files: [{ name: fileName, content }], flags, wrappers };
}

/**
 * What the shim answers, as data in the binary (src/check/shim-manifest.ts reads it): a linked
 * shim defines the wrapped libc symbols itself, so without it a call the shim answers with ENOSYS
 * (signalfd at 13.7) would vanish from `sysgate check`'s report.
 */
function manifestC(policy: Policy, plans: ReturnType<typeof planShim>): string {
  const lines: string[] = [
    `  ${cString(`${SHIM_MANIFEST_MAGIC}\n`)}`,
    `  ${cString(`policy ${policy.target.id} ${policy.firmware ?? '-'} ${policy.arch.name}\n`)}`,
  ];
  for (const p of plans) {
    for (const s of p.symbols) {
      const line = `  ${cString(`${p.variant ? 'fallback' : 'enosys'} ${s.name} ${p.entry.denied}${p.variant ? ` ${p.variant.calls.join('+')}` : ''}\n`)}`;
      lines.push(s.guard ? `#if ${s.guard}\n${line}\n#endif` : line);
    }
  }
  return (
    `/* What this shim answers, for sysgate check (found through the exported symbol). */\n` +
    `__attribute__((used)) SG_PUBLIC const char ${SHIM_MANIFEST_SYMBOL}[] =\n${lines.join('\n')};`
  );
}

/** A core's placeholders: its variant's calls by their number macros, stat buffers by their struct on the arch. */
function coreSlots(arch: ShimArch, variant: FallbackVariant | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [slot, call] of Object.entries(variant?.callSlots ?? {})) values[slot] = nrMacro(call);
  for (const [slot, call] of Object.entries(variant?.statSlots ?? {})) values[slot] = kstatBufferOf(arch, call);
  return values;
}

function nrMacro(name: string): string {
  return cIdent('SG_NR', name);
}

function header(policy: Policy, fileName: string, flags: ShimFlags, wrappers: ShimWrapper[], opts: ShimOptions): string {
  const fw = policy.firmware ? `, firmware ${showFirmware(policy.firmware)}` : '';
  const obj = fileName.replace(/\.c$/, '.o');
  const width = Math.max(0, ...wrappers.map((w) => w.name.length));
  const lines = [
    `${generatedBy()}: do not edit.`,
    `libc shim for target ${policy.target.id} (${policy.target.title})${fw}, arch ${policy.arch.name}.`,
    '',
    'Symbol interposition: this file defines the libc symbols below in the executable, so',
    'calls from the program and from the shared libraries it loads reach them instead of the',
    "C library. Calls made inside the C library itself (glibc's malloc -> getrandom, ...) are",
    `not seen${opts.sigsys ? '; the SIGSYS handler at the end serves those where the denial is a TRAP.' : ' (see --sigsys).'}`,
    'Link it into the executable, not into a shared library:',
    `  cc ${flags.cflags.join(' ')} -c ${fileName} -o ${obj}`,
    `  cc <objects> ${obj} ${flags.ldflags.join(' ')} -o app`,
    '',
    'Wrappers (fallback: the calls used instead; enosys: -1/ENOSYS, no kernel call):',
    ...wrappers.map((w) => `  ${w.name.padEnd(width)}  ${w.status === 'fallback' ? `fallback: ${w.fallback}` : 'enosys'}`),
    'syscall(): any other number the target denies fails with ENOSYS without the kernel.',
  ];
  return `/*\n${lines.map((l) => (l ? ` * ${cComment(l)}` : ' *')).join('\n')}\n */`;
}

function argExpr(c: ArgCondition): string {
  const v = `(unsigned long long)(unsigned long)a[${c.index}]`;
  const val = c.width === 32 ? `(${v} & 0xffffffffULL)` : v;
  const k = (n: bigint) => `0x${n.toString(16)}ULL`;
  switch (c.op) {
    case 'eq':
      return `${val} == ${k(c.value)}`;
    case 'ne':
      return `${val} != ${k(c.value)}`;
    case 'lt':
      return `${val} < ${k(c.value)}`;
    case 'le':
      return `${val} <= ${k(c.value)}`;
    case 'gt':
      return `${val} > ${k(c.value)}`;
    case 'ge':
      return `${val} >= ${k(c.value)}`;
    case 'masked-eq':
      return `(${val} & ${k(c.mask ?? 0n)}) == ${k(c.value)}`;
  }
}

/** The case labels of sg_allowed(): what the filter lets through, as the policy states it. */
function allowedCases(policy: Policy): string[] {
  const defaultAllows = isAllow(policy.defaultAction);
  const flat: string[] = [];
  const conditional: string[] = [];
  for (const r of policy.rules) {
    const label = `  case ${r.nr}: /* ${cComment(r.name)} */`;
    const fixed = unconditionalAction(r);
    if (!fixed && r.clauses.length === 1) {
      const c = r.clauses[0]!;
      conditional.push(`${label}\n    return (${`(${c.conditions.map(argExpr).join(' && ')})`}) ? ${isAllow(c.action) ? 1 : 0} : ${defaultAllows ? 1 : 0};`);
    } else if (!fixed) {
      // evaluate.ts: the most severe matching clause wins, so any matching deny clause denies.
      const any = (cs: Clause[]) => cs.map((c) => (c.conditions.length ? `(${c.conditions.map(argExpr).join(' && ')})` : '1')).join(' || ') || '0';
      const deny = r.clauses.filter((c) => !isAllow(c.action));
      const allow = r.clauses.filter((c) => isAllow(c.action));
      conditional.push(`${label}\n    return (${any(deny)}) ? 0 : (${any(allow)}) ? 1 : ${defaultAllows ? 1 : 0};`);
    } else if (isAllow(fixed) !== defaultAllows) {
      flat.push(label);
    }
  }
  const out: string[] = [];
  if (flat.length) out.push(...flat, `    return ${defaultAllows ? 0 : 1};`);
  out.push(...conditional);
  return out;
}

function allowedDefault(policy: Policy): string {
  if (!isAllow(policy.defaultAction)) return '0';
  // x32 numbers share the x86_64 arch value: the filter treats them as a foreign arch.
  return policy.arch.x32 ? '((unsigned long)nr & 0x40000000UL) == 0' : '1';
}
