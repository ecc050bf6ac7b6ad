/**
 * Resolving a target for one firmware version and one arch: a pure query over the target's
 * versioned entries and the syscall tables. The result (Policy) is what every backend reads.
 */
import { InputError } from '../errors.ts';
import { ARCHES, lookupArch, type ArchInfo, type ArchName, ARCH_NAMES } from '../syscalls/arches.ts';
import { replacementsOf, twinsOf } from '../syscalls/families.ts';
import { syscallNumber, tableMax } from '../syscalls/table.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { isAllow } from './action.ts';
import { compareFirmware, firmwareAtLeast, firmwareBefore, parseFirmware, satisfiesRange, showFirmware } from './firmware.ts';
import type { AbsentName, Clause, Policy, Provenance, Rule, SyscallEntry, TargetDef } from './types.ts';

export interface ResolveOptions {
  /** Firmware as the user typed it (13.7, v13.7, 13.7.2); default: the newest the target knows. */
  firmware?: string;
  /** Arch name or alias; default: the target's default arch. */
  arch?: string;
}

/** The arch a user asked for, checked against the target. x86_64 is always allowed: host emulation. */
export function resolveArch(target: TargetDef, arch: string | undefined): ArchInfo {
  if (arch === undefined) return ARCHES[target.defaultArch];
  const info = lookupArch(arch);
  if (!info) throw new InputError(`unknown arch '${excerpt(arch)}'${didYouMean(arch, ARCH_NAMES)}; known: ${ARCH_NAMES.join(', ')}`);
  if (!target.arches.includes(info.name) && info.name !== 'x86_64') {
    throw new InputError(`target ${target.id} is not defined for ${info.name} (its arches: ${target.arches.join(', ')}; x86_64 is always available for host emulation)`);
  }
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

const RANK: Record<Provenance['kind'], number> = { target: 0, group: 1, family: 2, essential: 3 };

export function resolvePolicy(target: TargetDef, opts: ResolveOptions = {}): Policy {
  const arch = resolveArch(target, opts.arch);
  const firmware = resolveFirmware(target, opts.firmware);
  const def = firmware === null
    ? target.defaultActions[0]
    : target.defaultActions.find((d) => satisfiesRange(firmware, d.range));
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
      // conditions match (evaluate.ts: the most severe matching clause wins).
      prev.clauses.push(clause);
    }
    return true;
  };

  const active = activeEntries(target, firmware);
  for (const e of active) {
    const provenance: Provenance = e.origin.group ? { kind: 'group', group: e.origin.group } : { kind: 'target' };
    if (add(e.name, e, provenance)) {
      if (target.expandFamilies === 'all' && isAllow(e.action)) {
        for (const t of twinsOf(e.name)) {
          if (!denied.has(t.name)) add(t.name, e, { kind: 'family', of: e.name, family: t.family.id });
        }
      }
      continue;
    }
    const replacedBy: string[] = [];
    if (target.expandFamilies !== 'none') {
      for (const t of replacementsOf(e.name)) {
        if (denied.has(t.name) || replacedBy.includes(t.name)) continue;
        // Argument conditions are positional: they carry over to a twin (same arguments),
        // never to a legacy replacement or a multiplexer's sub-call. Fail closed there.
        if (e.args.length && t.family.kind !== 'twin' && t.family.kind !== 'time64') continue;
        if (add(t.name, e, { kind: 'family', of: e.name, family: t.family.id })) replacedBy.push(t.name);
      }
    }
    absent.push({ name: e.name, ...(e.since ? { since: e.since } : {}), replacedBy });
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
    tableMax: tableMax(arch.name),
  };
}

/** Resolve for several arches at once (one filter with an arch block each). */
export function resolvePolicies(target: TargetDef, firmware: string | undefined, arches: ArchName[] | 'all'): Policy[] {
  const list = arches === 'all' ? target.arches : arches;
  return list.map((a) => resolvePolicy(target, { ...(firmware !== undefined ? { firmware } : {}), arch: a }));
}
