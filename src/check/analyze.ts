/**
 * `checkElf`: which syscalls a binary reaches and what the target does with each.
 *
 * What the binary calls, collected per object (the file, then each --sysroot library):
 * - imports, mapped through the libc knowledge base (fallback chains, also, conditional);
 * - the C library's own start-up (and the loader's, for dynamic binaries);
 * - syscall sites (static code, libraries), named by enclosing function; a site inside a
 *   function the knowledge base models inherits that function's fallback chain;
 * - calls to syscall() with a constant number;
 * - the calls of linked libraries whose behaviour on failure is recorded by SONAME
 *   (src/libc/libraries.json: OpenSSL 3, CPython, GnuTLS, Node).
 * Then each way of reaching a call is judged against the resolved policy by what the program
 * experiences (dies, breaks, depends, degrades, falls-back, allowed): the worst way decides the
 * call's verdict. Pure apart from reading --sysroot libraries.
 */
import { withProps } from '../util/same-shape.ts';
import { abiNote } from '../policy/describe.ts';
import { readElf } from '../elf/index.ts';
import { type ElfBytes, inMemory } from '../elf/source.ts';
import { InputError } from '../errors.ts';
import { formatAction, isAllow } from '../policy/action.ts';
import { callOutcome, deniedName } from '../policy/call.ts';
import { KNOWN_FIXES } from '../policy/fixes.ts';
import { asPolicySet, policyFor, type PolicySet } from '../policy/settings.ts';
import type { Policy } from '../policy/types.ts';
import type { ElfInfo } from '../elf/types.ts';
import type { ArchName } from '../syscalls/arches.ts';
import type { TargetDef } from '../policy/types.ts';
import { libcFix } from '../policy/libc-fixes.ts';
import { startupCalls } from '../libc/index.ts';
import { librariesLinked } from '../libc/libraries.ts';
import { collectObject, nrOf } from './collect.ts';
import { judge, outcomeText } from './judge.ts';
import { detectLibc, libcVersion } from './libc-detect.ts';
import { collectLibraries } from './libraries.ts';
import { boundVias, type RankedVia } from './via-bound.ts';
import {
  judgementRank,
  severityOf,
  type CheckOptions,
  type CheckReport,
  type Ctx,
  type Finding,
  type Handling,
  type LibraryReport,
  type Reach,
  type Unresolved,
  type Via,
} from './types.ts';

/** By UTF-16 code unit (bytes, for the ASCII names here): never a collator, whose order follows LANG. */
const collate = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A judged way of reaching a call, kept on its Reach under a symbol of this module (structured
 * clone drops symbol keys, so it never travels): a --sysroot library's reaches are the same
 * objects for every program that loads it (libraries.ts), so each is judged (and its keys for
 * via-bound.ts written, when needed) once per policy and process, not once per program. (A
 * WeakMap per policy did the same at five times the cost of the judging it saved.)
 */
const JUDGED = Symbol('judged');
type Judged = Reach & { [JUDGED]?: RankedVia & { policy: Policy } };

function judged(policy: Policy, r: Judged): RankedVia {
  const memo = r[JUDGED];
  if (memo?.policy === policy) return memo;
  const j = judge(callOutcome(policy, r.nr).action, r.handling);
  const via = withProps(r.via, {
    verdict: j.verdict,
    ...(j.how ? { how: j.how } : {}),
    ...(r.handling.detail && j.verdict !== 'allowed' ? { detail: r.handling.detail } : {}),
  }) as Via;
  const w = { via, rank: judgementRank(j), policy };
  // Only a library's reaches are met again; the file's own are new objects every time.
  if (r.via.library !== null) r[JUDGED] = w;
  return w;
}

// ---------------------------------------------------------------------------------------------

/**
 * Checks one ELF against a target. Throws InputError for files that cannot be checked
 * (malformed, an arch the target lacks); returns the report otherwise.
 */
export function checkElf(input: Uint8Array | ElfBytes, file: string, target: TargetDef | PolicySet, opts: CheckOptions = {}): CheckReport {
  return checkElfWith(input, file, asPolicySet(target, opts.firmware), opts);
}

/** checkElf on resolved policies: `opts.firmware` is the set's business, not read here. */
function checkElfWith(input: Uint8Array | ElfBytes, file: string, set: PolicySet, opts: CheckOptions): CheckReport {
  const src = input instanceof Uint8Array ? inMemory(input) : input;
  const elf = readElf(src, file);
  // A file the kernel refuses to execute makes no syscalls: never a PASS.
  if (elf.cannotRun) throw new InputError(`${file}: cannot run: ${elf.cannotRun}`);
  if (!elf.arch) throw new InputError(`${file}: e_machine ${elf.machine} (${elf.class}-bit) is not an arch sysgate knows`);
  const arch = elf.arch;
  const policy = policyFor(set, arch);
  if (!policy) throw new InputError(`${file}: ${arch} binary, but target ${set.target.id} is defined for ${set.target.arches.join(', ')} only`);
  const libc = detectLibc(elf, src);
  const isLibrary = elf.type === 'dyn' && !elf.pie && !elf.interp;
  const libcInfo = libcVersion(elf, libc, opts, isLibrary);
  const version = libcInfo.version ?? '0';
  const startup = libc && !isLibrary ? startupCalls(libc, arch, { version, dynamic: !elf.static }) : [];
  const startupMap = new Map<string, Handling>();
  for (const s of startup) {
    if (!startupMap.has(s.syscall)) startupMap.set(s.syscall, { k: 'startup', onEnosys: s.onEnosys, ...(s.fallback ? { next: s.fallback } : {}) });
  }
  const ctx: Ctx = { arch, libc, version, startup: startupMap };

  // Each phase is a function of its own, so that V8 re-optimises only the phase that meets a
  // new shape, not all of checkElfWith (issue 13: its re-compiles were about 1.2 s of a
  // directory check's compiler time).
  const reaches = startupReaches(startup, arch);
  const unresolved: Unresolved[] = [];
  const unknownImports = new Set<string>();
  const own = collectObject(elf, src, ctx, null);
  for (const r of own.reaches) reaches.push(r);
  for (const u of own.unresolved) unresolved.push(u);
  const pendingUnknown: { name: string; from?: string; in?: string }[] = own.unknownImports.slice();

  // Libraries from the sysroot, breadth first, counted where reached.
  const { libraries, exported } =
    opts.sysroot && !elf.static
      ? collectLibraries(elf, ctx, opts.sysroot, reaches, unresolved, pendingUnknown)
      : { libraries: [], exported: new Set<string>() as { has(name: string): boolean } };

  // An import versioned to a library --sysroot analysed, or unversioned and defined by one, is
  // that library's code, whose own imports and sites were counted: not a finding of its own.
  // Any other stays one (a symbol versioned to the C library is the knowledge base's to model).
  const analysed = new Set<string>();
  for (const l of libraries) if (l.status === 'analysed') analysed.add(l.name);
  const covered = (n: { name: string; from?: string }): boolean => (n.from ? analysed.has(n.from) : exported.has(n.name));
  for (const n of pendingUnknown) if (!covered(n)) unknownImports.add(n.in ? `${n.name} (${n.in})` : n.name);

  const kept = withRecordedLibraries(elf, libraries, reaches, arch);
  const syscalls = findings(policy, kept);
  syscalls.sort((a, b) => judgementRank(a) - judgementRank(b) || collate(a.name, b.name));
  const fatal = syscalls.filter((f) => f.severity === 'fatal').length;
  return {
    file,
    arch,
    target: policy.target.id,
    firmware: policy.firmware,
    defaultAction: formatAction(policy.defaultAction),
    static: elf.static,
    type: elf.type,
    library: isLibrary,
    libc: libcInfo,
    ...(own.shim ? { shim: own.shim } : {}),
    // A 32-bit program meeting a 64-bit ABI's numbers as they are: say why it fails and what to build.
    ...(policy.abi?.here === 'same-table' ? { abiNote: abiNote(policy)! } : {}),
    syscalls,
    unresolved,
    unknownImports: [...unknownImports].sort(),
    libraries,
    ...(elf.warnings.length ? { warnings: elf.warnings } : {}),
    summary: {
      syscalls: syscalls.length,
      denied: syscalls.filter((f) => f.verdict !== 'allowed').length,
      fatal,
      // Each import the knowledge base does not model is a `depends` finding of its own.
      warnings: syscalls.filter((f) => f.severity === 'warning').length + unknownImports.size,
      unresolved: unresolved.length,
      unmodelled: unknownImports.size,
    },
    fatal: fatal > 0,
  };
}

/** The C library's (and the loader's) start-up calls as reaches. */
function startupReaches(startup: ReturnType<typeof startupCalls>, arch: ArchName): Reach[] {
  const reaches: Reach[] = [];
  for (const s of startup) {
    const nr = nrOf(arch, s.syscall);
    if (nr === null) continue;
    reaches.push({
      name: s.syscall,
      nr,
      via: { kind: 'startup', library: null, when: s.when, onEnosys: s.onEnosys, source: s.source, ...(s.fallback ? { next: s.fallback } : {}) },
      handling: { k: 'startup', onEnosys: s.onEnosys, ...(s.fallback ? { next: s.fallback } : {}), ...(s.note ? { detail: s.note } : {}) },
    });
  }
  return reaches;
}

/**
 * Libraries the process links whose behaviour on a call's failure is recorded: their way
 * of reaching the call is judged by the record (the library's own import of it, analysed
 * under --sysroot, says only that the error reaches the library). A library linked into the
 * file (recognised by the API the file exports) is the file's code: the file's own imports of
 * the recorded calls are that library's, judged by the record alone.
 */
function withRecordedLibraries(elf: ElfInfo, libraries: readonly LibraryReport[], reaches: readonly Reach[], arch: ArchName): Reach[] {
  const names = elf.needed.slice();
  for (const l of libraries) names.push(l.name);
  const linked = librariesLinked(names, new Set(elf.exports));
  const recorded = new Map<string | null, Set<string>>();
  for (const { record, linkedIn } of linked) {
    const key = linkedIn ? null : record.soname;
    const set = recorded.get(key) ?? new Set<string>();
    for (const c of record.calls) for (const n of c.syscalls) set.add(n);
    recorded.set(key, set);
  }
  const kept = reaches.filter((r) => !((r.via.library !== null || r.via.kind === 'import') && recorded.get(r.via.library)?.has(r.name)));
  for (const { record: l, linkedIn } of linked) {
    for (const c of l.calls) {
      for (const name of c.syscalls) {
        const nr = nrOf(arch, name);
        if (nr === null) continue;
        kept.push({
          name,
          nr,
          via: { kind: 'library', library: l.soname, ...(linkedIn ? { linkedIn: true } : {}), when: c.when, source: c.source },
          handling: { k: 'library', onError: c.onError, errors: c.errors, ...(c.fallback ? { next: c.fallback } : {}), detail: c.detail },
        });
      }
    }
  }
  return kept;
}

/** A fix an import of the call names (KNOWN_FIXES), from the first way that has one. */
function importFixOf(ways: readonly RankedVia[]): string | undefined {
  for (const { via: v } of ways) {
    const f = v.kind === 'import' ? KNOWN_FIXES[v.symbol] : undefined;
    if (f) return f;
  }
  return undefined;
}

/**
 * Judge every way of reaching every call: the worst decides the verdict; the finding lists
 * a bounded few of them (via-bound.ts). Unsorted.
 */
function findings(policy: Policy, kept: readonly Reach[]): Finding[] {
  const byName = new Map<string, { nr: number; ways: RankedVia[]; worst: number; handling: Handling }>();
  for (const r of kept) {
    const w = judged(policy, r);
    let e = byName.get(r.name);
    if (!e) byName.set(r.name, (e = { nr: r.nr, ways: [], worst: w.rank, handling: r.handling }));
    else if (w.rank < e.worst) {
      e.worst = w.rank;
      e.handling = r.handling;
    }
    e.ways.push(w);
  }
  const syscalls: Finding[] = [];
  for (const [name, e] of byName) syscalls.push(finding(policy, name, e));
  return syscalls;
}

function finding(policy: Policy, name: string, e: { nr: number; ways: RankedVia[]; worst: number; handling: Handling }): Finding {
  const { action, rule, conditional } = callOutcome(policy, e.nr);
  // The first way found with the worst judgement says what the program experiences.
  const worstVia = e.ways.find((w) => w.rank === e.worst)!.via;
  const j = { verdict: worstVia.verdict, ...(worstVia.how ? { how: worstVia.how } : {}) };
  const verdict = j.verdict;
  const denied = deniedName(policy, name);
  const fix = verdict === 'allowed' ? undefined : (denied?.fix ?? KNOWN_FIXES[name] ?? libcFix(name, policy.arch.name, action) ?? importFixOf(e.ways));
  const listed = boundVias(e.ways);
  return {
    name,
    nr: e.nr,
    verdict,
    ...(j.how ? { how: j.how } : {}),
    severity: severityOf(verdict),
    action: formatAction(action),
    outcome: outcomeText(j, action, worstVia, e.handling),
    ...(rule && isAllow(action) && (conditional || rule.limit) ? { condition: rule.limit ?? 'allowed only for some argument values' } : {}),
    ...(denied && verdict !== 'allowed' ? { reason: denied.reason } : {}),
    ...(fix ? { fix } : {}),
    via: listed.via,
    ...(listed.omitted ? { viasOmitted: listed.omitted } : {}),
  };
}
