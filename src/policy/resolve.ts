/**
 * Resolving a target for one firmware version and one arch: a pure query over the target's
 * versioned entries and the syscall tables. The result (Policy) is what every backend reads.
 */
import { InputError } from '../errors.ts';
import { ARCHES, lookupArch, type ArchInfo, type ArchName, ARCH_NAMES } from '../syscalls/arches.ts';
import { replacementsOf, twinClosure, twinsOf } from '../syscalls/families.ts';
import { syscallNumber, tableMax } from '../syscalls/table.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { isAllow } from './action.ts';
import { compareFirmware, firmwareAtLeast, firmwareBefore, parseFirmware, satisfiesRange, showFirmware } from './firmware.ts';
import type { AbsentName, Clause, ListedName, Policy, Provenance, Rule, SyscallEntry, TargetDef } from './types.ts';

export interface ResolveOptions {
  /** Firmware as the user typed it (13.7, v13.7, 13.7.2); default: the newest the target knows. */
  firmware?: string;
  /** Arch name or alias; default: the target's default arch. */
  arch?: string;
}

/** Whether a target can be resolved for an arch: its own, and the jail's host arch always (ArchInfo.jailHost). */
export function targetRuns(target: TargetDef, arch: ArchName): boolean {
  return target.arches.includes(arch) || ARCHES[arch].jailHost;
}

/** Every arch the target can be resolved for (the target's own first, in its order). */
export function resolvableArches(target: TargetDef): ArchName[] {
  return [...target.arches, ...ARCH_NAMES.filter((a) => !target.arches.includes(a) && targetRuns(target, a))];
}

/** The error for an arch the target is not defined for. */
export function notDefinedFor(target: { id: string; arches: readonly ArchName[] }, arch: ArchName): InputError {
  return new InputError(
    `target ${target.id} is not defined for ${arch} (its arches: ${target.arches.join(', ')}; x86_64 is always available for host emulation)`,
  );
}

/** The arch a user asked for, checked against the target. x86_64 is always allowed: host emulation. */
export function resolveArch(target: TargetDef, arch: string | undefined): ArchInfo {
  if (arch === undefined) return ARCHES[target.defaultArch];
  const info = lookupArch(arch);
  if (!info) throw new InputError(`unknown arch '${excerpt(arch)}'${didYouMean(arch, ARCH_NAMES)}; known: ${ARCH_NAMES.join(', ')}`);
  if (!targetRuns(target, info.name)) throw notDefinedFor(target, info.name);
  return info;
}

/** The firmware to resolve at, normalised, or null for an unversioned target. */
export function resolveFirmware(target: TargetDef, firmware: string | undefined): string | null {
  if (target.firmwares.length === 0) {
    if (firmware !== undefined) parseFirmware(firmware); // still reject garbage
    return null;
  }
  if (firmware === undefined) return target.firmwares[target.firmwares.length - 1]!;
  const v = parseFirmware(firmware);
  const first = target.firmwares[0]!;
  if (compareFirmware(v, first) < 0) {
    throw new InputError(`firmware ${showFirmware(v)} is older than ${target.id}'s first known firmware ${showFirmware(first)}`);
  }
  return v;
}

/** The entries in force at a firmware version (all of them for unversioned targets). */
export function activeEntries(target: TargetDef, firmware: string | null): SyscallEntry[] {
  if (firmware === null) return target.entries;
  return target.entries.filter((e) => firmwareAtLeast(firmware, e.since) && firmwareBefore(firmware, e.until));
}

const RANK: Record<Provenance['kind'], number> = { target: 0, group: 1, family: 2, essential: 3, runtime: 4 };

export function resolvePolicy(target: TargetDef, opts: ResolveOptions = {}): Policy {
  const arch = resolveArch(target, opts.arch);
  const firmware = resolveFirmware(target, opts.firmware);
  const def = firmware === null ? target.defaultActions[0] : target.defaultActions.find((d) => satisfiesRange(firmware, d.range));
  if (!def) throw new InputError(`${target.id}: no default action covers firmware ${firmware}`);

  const denied = new Set(target.denied.map((d) => d.name));
  const byNr = new Map<number, Rule>();
  const absent: AbsentName[] = [];
  const add = (name: string, entry: SyscallEntry | undefined, provenance: Provenance) => {
    const nr = syscallNumber(arch.name, name);
    if (nr === null) return false;
    const clause: Clause = {
      action: entry?.action ?? { kind: 'allow' },
      conditions: entry ? entry.args : [],
      ...(entry ? { origin: entry.origin } : {}),
    };
    const rule: Rule = {
      name,
      nr,
      clauses: [clause],
      provenance,
      ...(entry?.since ? { since: entry.since } : {}),
      ...(entry?.category ? { category: entry.category } : {}),
      ...(entry?.note ? { note: entry.note } : {}),
      ...(entry?.limit ? { limit: entry.limit } : {}),
    };
    const prev = byNr.get(nr);
    if (!prev || RANK[provenance.kind] < RANK[prev.provenance.kind]) {
      byNr.set(nr, rule);
    } else if (prev.name === name && RANK[provenance.kind] === RANK[prev.provenance.kind]) {
      // Same name listed again: each entry keeps its own action for the arguments its
      // conditions match (evaluate.ts: the most severe matching clause wins). One entry that
      // reaches the number twice (a twin that is also its stand-in: mmap -> mmap2) counts once.
      if (!(entry && prev.clauses.some((c) => c.origin === entry.origin))) prev.clauses.push(clause);
    }
    return true;
  };

  const active = activeEntries(target, firmware);
  // Names are operations of the target's own ABI: literal there, translated on every other arch.
  // Where the arch shares the ABI's kernel table (ppc with ppc64), the device's numbers apply as they are.
  const translate = target.expandFamilies === 'operations' && target.abi !== undefined && ARCHES[target.abi].kernelTable !== arch.kernelTable;
  // A name's entries travel together: a twin or a stand-in gets every entry's clause, so an entry
  // that denies some arguments is never left behind while another entry's allow carries over.
  const byName = new Map<string, SyscallEntry[]>();
  for (const e of active) {
    const list = byName.get(e.name);
    if (list) list.push(e);
    else byName.set(e.name, [e]);
  }
  const provenanceOf = (e: SyscallEntry): Provenance => (e.origin.group ? { kind: 'group', group: e.origin.group } : { kind: 'target' });
  for (const [name, entries] of byName) {
    const allows = entries.some((e) => isAllow(e.action));
    const addAll = (to: string, family: string) => {
      let ok = false;
      for (const e of entries) ok = add(to, e, { kind: 'family', of: name, family }) || ok;
      return ok;
    };
    if (translate && allows) {
      // The same operation under the names a libc uses on this arch (fcntl -> fcntl64, getuid ->
      // getuid32, fadvise64 -> fadvise64_64 -> arm_fadvise64_64, clock_gettime -> clock_gettime64).
      for (const t of twinClosure(name)) if (!denied.has(t.name)) addAll(t.name, t.family.id);
    }
    let present = false;
    for (const e of entries) present = add(name, e, provenanceOf(e)) || present;
    if (present) {
      if (target.expandFamilies === 'all' && allows) {
        for (const t of twinsOf(name)) if (!denied.has(t.name)) addAll(t.name, t.family.id);
      }
      continue;
    }
    const replacedBy: string[] = [];
    if (target.expandFamilies !== 'none') {
      for (const t of replacementsOf(name)) {
        if (denied.has(t.name) || replacedBy.includes(t.name)) continue;
        // Argument conditions are positional: they carry over to a twin (same arguments),
        // never to a legacy replacement or a multiplexer's sub-call. Fail closed there: when any
        // entry of the name has conditions, none of them stands in through such a call.
        if (t.family.kind !== 'twin' && t.family.kind !== 'time64' && entries.some((e) => e.args.length)) continue;
        if (addAll(t.name, t.family.id)) replacedBy.push(t.name);
      }
    }
    const since = entries
      .map((e) => e.since)
      .filter((v): v is string => !!v)
      .sort(compareFirmware)[0];
    absent.push({ name, ...(since ? { since } : {}), replacedBy });
  }
  if (target.essentials) {
    for (const name of arch.essentials) add(name, undefined, { kind: 'essential', why: arch.essentialsWhy });
  }

  return {
    target: { id: target.id, title: target.title, file: target.file },
    firmware,
    arch,
    defaultAction: def.action,
    ...(def.note ? { defaultActionNote: def.note } : {}),
    foreignArchAction: target.foreignArchAction,
    rules: [...byNr.values()].sort((a, b) => a.nr - b.nr),
    absent,
    denied: target.denied.map((d) => ({ ...d })),
    listed: listedNames(target),
    history: target.history.map((h) => ({ ...h })),
    tableMax: tableMax(arch.name),
    ...(target.abi
      ? { abi: { name: target.abi, here: target.abi === arch.name ? ('own' as const) : translate ? ('translated' as const) : ('same-table' as const) } }
      : {}),
  };
}

/** Each name the target lists, with its first entry's facts (what `explain` says about it at any firmware). */
function listedNames(target: TargetDef): ListedName[] {
  const seen = new Set<string>();
  const out: ListedName[] = [];
  for (const e of target.entries) {
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    out.push({
      name: e.name,
      ...(e.since ? { since: e.since } : {}),
      ...(e.category ? { category: e.category } : {}),
      ...(e.note ? { note: e.note } : {}),
      ...(e.limit ? { limit: e.limit } : {}),
    });
  }
  return out;
}

/** Resolve for several arches at once (one filter with an arch block each). */
export function resolvePolicies(target: TargetDef, firmware: string | undefined, arches: ArchName[] | 'all'): Policy[] {
  const list = arches === 'all' ? target.arches : arches;
  return list.map((a) => resolvePolicy(target, { ...(firmware !== undefined ? { firmware } : {}), arch: a }));
}
