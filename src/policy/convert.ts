/**
 * A checked raw target (check-target.ts found nothing) into the TargetDef the rest of sysgate
 * uses: groups expanded, the parent's entries, denials and defaults merged in, numbers as bigint.
 */
import type { Diagnostic } from '../errors.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { formatAction, parseAction } from './action.ts';
import { overlaps } from './argset.ts';
import { actionPrecedence, moreSevere } from './evaluate.ts';
import { parseFirmware } from './firmware.ts';
import type { RawArgCondition, RawGroupEntry, RawGroups, RawSyscallEntry, RawTarget } from './raw.ts';
import type { Action, ArgCondition, SyscallEntry, TargetDef } from './types.ts';

type Groups = RawGroups['groups'];

/** A raw u64 (a safe non-negative number, or a decimal or 0x string) as a bigint; undefined when it is not one. */
export function toBigIntOrUndefined(v: unknown): bigint | undefined {
  try {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return BigInt(v);
  } catch {
    /* fallthrough */
  }
  return undefined;
}

function toArgCondition(c: RawArgCondition): ArgCondition {
  const out: ArgCondition = { index: c.index, op: c.op, value: toBigIntOrUndefined(c.value)!, width: c.width ?? 64 };
  if (c.mask !== undefined) out.mask = toBigIntOrUndefined(c.mask)!;
  return out;
}

/** Expand a group (local first, then shipped) into syscall names, depth first, first seen wins. */
function expandGroup(g: string, local: Record<string, string[]>, shipped: Groups, seen = new Set<string>()): string[] {
  if (seen.has(g)) return [];
  seen.add(g);
  const members = Object.hasOwn(local, g) ? local[g]! : (shipped[g]?.syscalls ?? []);
  const out: string[] = [];
  for (const m of members) {
    if (m.startsWith('@')) out.push(...expandGroup(m, local, shipped, seen));
    else out.push(m);
  }
  return out;
}

export function convert(r: RawTarget, file: string, parent: TargetDef | undefined, shipped: Groups): TargetDef {
  const allow: Action = { kind: 'allow' };
  const arches = (r.arches ?? parent?.arches ?? []) as ArchName[];
  const firmwares = r.firmware ? r.firmware.versions.map(parseFirmware) : (parent?.firmwares ?? []);
  const defaultActions = r.firmware
    ? r.firmware.defaultAction.map((x) => ({ range: x.range, action: parseAction(x.action), ...(x.note ? { note: x.note } : {}) }))
    : r.defaultAction !== undefined
      ? [{ range: '*', action: parseAction(r.defaultAction) }]
      : (parent?.defaultActions ?? []);
  const local = r.groups ?? {};

  const removed = new Set(r.remove ?? []);
  const own: SyscallEntry[] = [];
  // Direct entries win over the same name reached through a group; the first group wins over later ones.
  const taken = new Set<string>(r.syscalls.flatMap((e) => ('name' in e ? [e.name] : [])));
  r.syscalls.forEach((e, i) => {
    const pointer = `/syscalls/${i}`;
    const common = {
      ...(e.since ? { since: parseFirmware(e.since) } : {}),
      ...(e.until ? { until: parseFirmware(e.until) } : {}),
      ...(e.category ? { category: e.category } : {}),
      ...(e.note ? { note: e.note } : {}),
      action: e.action ? parseAction(e.action) : allow,
    };
    if ('group' in e) {
      const g = (e as RawGroupEntry).group;
      for (const name of expandGroup(g, local, shipped)) {
        if (taken.has(name)) continue;
        taken.add(name);
        own.push({ name, ...common, args: [], documented: {}, origin: { file, pointer, group: g } });
      }
    } else {
      const s = e as RawSyscallEntry;
      own.push({
        name: s.name,
        ...common,
        args: (s.args ?? []).map(toArgCondition),
        ...(s.limit ? { limit: s.limit } : {}),
        documented: (s.documented ?? {}) as SyscallEntry['documented'],
        origin: { file, pointer },
      });
    }
  });

  // A child's entry for a name replaces the parent's.
  const childNames = new Set(own.map((e) => e.name));
  const inherited = (parent?.entries ?? []).filter((e) => !childNames.has(e.name) && !removed.has(e.name));
  const ownDeny = (r.deny ?? []).map((x) => ({ name: x.name, reason: x.reason, ...(x.fix ? { fix: x.fix } : {}) }));
  const deny = [...(parent?.denied ?? []).filter((x) => !childNames.has(x.name) && !ownDeny.some((o) => o.name === x.name)), ...ownDeny];
  const denySet = new Set(deny.map((x) => x.name));
  const entries = [...inherited, ...own].filter((e) => !(e.origin.group && denySet.has(e.name)));

  const defaultArch = (r.defaultArch ?? parent?.defaultArch ?? arches[0]) as ArchName;
  const notes = overlapNotes(own);
  return {
    id: r.id,
    title: r.title,
    description: r.description ?? parent?.description ?? '',
    file,
    arches,
    defaultArch,
    firmwares,
    defaultActions,
    foreignArchAction: r.foreignArchAction ? parseAction(r.foreignArchAction) : (parent?.foreignArchAction ?? { kind: 'kill-process' }),
    expandFamilies: r.expandFamilies ?? parent?.expandFamilies ?? 'none',
    ...((r.abi ?? parent?.abi) ? { abi: (r.abi ?? parent?.abi) as ArchName } : {}),
    essentials: r.essentials ?? parent?.essentials ?? true,
    entries,
    denied: deny,
    history: [...(parent?.history ?? []).filter((h) => !(r.history ?? []).some((x) => x.name === h.name)), ...(r.history ?? [])],
    extendsChain: parent ? [parent.id, ...parent.extendsChain] : [],
    ...(notes.length ? { notes } : {}),
  };
}

/**
 * Entries for one name whose conditions can hold together but whose actions differ: the
 * most severe applies there (evaluate.ts). Legal, and sometimes meant (a narrow deny inside a
 * wide allow), but worth saying, at the later entry.
 */
function overlapNotes(entries: SyscallEntry[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byName = new Map<string, SyscallEntry[]>();
  for (const e of entries) if (!e.origin.group) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  for (const list of byName.values()) {
    list.forEach((b, j) => {
      for (const a of list.slice(0, j)) {
        if (actionPrecedence(a.action) === actionPrecedence(b.action) || !overlaps(a.args, b.args)) continue;
        const strict = moreSevere(a.action, b.action);
        out.push({
          file: b.origin.file,
          pointer: b.origin.pointer,
          message: `note: '${b.name}' here (${formatAction(b.action)}) and at ${a.origin.pointer} (${formatAction(a.action)}) both match some arguments; there the more severe ${formatAction(strict)} applies`,
        });
      }
    });
  }
  return out;
}
