/**
 * Loading targets: shipped ones by id, users' by path. Every problem in a file is collected
 * with its JSON pointer and reported together; a TargetDef is returned only for a clean file.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { DiagnosticsError, InputError, type Diagnostic } from '../errors.ts';
import { isArchName, type ArchName } from '../syscalls/arches.ts';
import { replacementsOf } from '../syscalls/families.ts';
import { allSyscallNames, isKnownSyscall, syscallNumber } from '../syscalls/table.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { formatAction, parseAction } from './action.ts';
import { overlaps } from './argset.ts';
import { actionPrecedence, moreSevere } from './evaluate.ts';
import { compareFirmware, isValidRange, parseFirmware, satisfiesRange } from './firmware.ts';
import type { RawArgCondition, RawGroupEntry, RawSyscallEntry, RawTarget } from './raw.ts';
import { isShippedTarget, shippedGroups, shippedTarget, shippedTargetIds } from './shipped.ts';
import type { RawGroups } from './raw.ts';
import type { Action, ArgCondition, SyscallEntry, TargetDef } from './types.ts';
import { readRegularText } from '../util/read-input.ts';
import { validateJson } from '../util/validate-json.ts';

export interface LoadOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
}

export { shippedTargetIds };

/** The target schema, needed only for users' files. */
async function targetSchema(): Promise<object> {
  return (await import('../../schemas/target.schema.json', { with: { type: 'json' } })).default;
}

type Groups = RawGroups['groups'];

/** The shipped groups, loaded only when the target names a group. */
async function groupsFor(r: RawTarget): Promise<Groups> {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (!isObj(r)) return {};
  const refs = [
    ...(Array.isArray(r.syscalls) ? r.syscalls : []).map((e) => (isObj(e) ? e.group : undefined)),
    ...(isObj(r.groups) ? Object.values(r.groups).flat() : []),
  ];
  return refs.some((x) => typeof x === 'string' && x.startsWith('@')) ? shippedGroups() : {};
}

/** A target by shipped id or by path to a JSON file. */
export async function loadTarget(ref: string, opts: LoadOptions = {}): Promise<TargetDef> {
  return load(ref, opts.cwd ?? process.cwd(), []);
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.endsWith('.json');
}

async function load(ref: string, cwd: string, chain: string[]): Promise<TargetDef> {
  let raw: unknown;
  let file: string;
  let shipped = false;
  if (!looksLikePath(ref) && isShippedTarget(ref)) {
    raw = await shippedTarget(ref);
    file = `targets/${ref}.json`;
    shipped = true;
  } else if (looksLikePath(ref) || existsSync(resolvePath(cwd, ref))) {
    file = resolvePath(cwd, ref);
    raw = readJson(file);
  } else {
    throw new InputError(
      `unknown target '${excerpt(ref)}'${didYouMean(ref, shippedTargetIds())}; shipped targets: ${shippedTargetIds().join(', ')}, or give a path to a .json file`,
    );
  }
  if (chain.includes(file)) throw new InputError(`${file}: 'extends' loops: ${[...chain, file].join(' -> ')}`);

  const diags: Diagnostic[] = shipped ? [] : await validateJson(await targetSchema(), raw, file);
  const r = raw as RawTarget;
  let parent: TargetDef | undefined;
  if (typeof r === 'object' && r !== null && typeof r.extends === 'string') {
    try {
      parent = await load(r.extends, looksLikePath(r.extends) ? dirname(file) : cwd, [...chain, file]);
    } catch (e) {
      // A parent that cannot be found or read is this file's mistake, at its 'extends';
      // problems inside a parent file are reported with that file's own name and pointers.
      if (e instanceof InputError && !(e instanceof DiagnosticsError)) {
        throw new DiagnosticsError([{ file, pointer: '/extends', message: e.message }]);
      }
      throw e;
    }
  }
  const groups = await groupsFor(r);
  // Shipped targets skip the checks at run time: the test suite loads them by path, through
  // every check, and the build ships only what passed.
  if (shipped) return convert(r, file, parent, groups);
  if (diags.length) {
    // Schema errors first; semantic checks below still run on what is well-formed.
    diags.push(...semanticChecks(r, file, parent, groups, true));
    throw new DiagnosticsError(diags);
  }
  const sem = semanticChecks(r, file, parent, groups, false);
  if (sem.length) throw new DiagnosticsError(sem);
  return convert(r, file, parent, groups);
}

function readJson(file: string): unknown {
  // Regular files only, with a size cap: a FIFO would hang the open, /dev/zero fill memory.
  const text = readRegularText(file, 'target file');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks the schema cannot express: names, groups, versions, ranges, documented numbers. */
function semanticChecks(r: RawTarget, file: string, parent: TargetDef | undefined, shipped: Groups, lenient: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const d = (pointer: string, message: string) => out.push({ file, pointer, message });
  if (!isObj(r)) return lenient ? out : [{ file, pointer: '', message: 'a target must be a JSON object' }];
  const names = allSyscallNames();
  const checkName = (name: unknown, pointer: string) => {
    if (typeof name === 'string' && !name.startsWith('@') && !isKnownSyscall(name)) {
      d(pointer, `'${excerpt(name)}' is not a syscall on any arch${didYouMean(name, names)}`);
    }
  };
  const localGroups = isObj(r.groups) ? r.groups : {};
  const groupKnown = (g: string) => Object.hasOwn(localGroups, g) || Object.hasOwn(shipped, g);
  const checkGroupRef = (g: unknown, pointer: string) => {
    if (typeof g === 'string' && g.startsWith('@') && !groupKnown(g)) {
      d(pointer, `unknown group '${excerpt(g)}'${didYouMean(g, [...Object.keys(localGroups), ...Object.keys(shipped)])}`);
    }
  };

  // The names' own ABI: needed to know where names are literal.
  const abi = r.abi ?? parent?.abi;
  if (r.expandFamilies === 'operations' && abi === undefined) d('/expandFamilies', `"operations" needs "abi": the arch whose syscall names the list uses`);
  const abiArches: readonly string[] | undefined = Array.isArray(r.arches) ? r.arches : parent?.arches;
  if (typeof r.abi === 'string' && abiArches && !abiArches.includes(r.abi)) d('/abi', `abi '${r.abi}' is not one of the target's arches (${abiArches.join(', ')})`);

  // Versions
  const versions: string[] = [];
  const fw = isObj(r.firmware) ? r.firmware : undefined;
  if (fw && Array.isArray(fw.versions)) {
    fw.versions.forEach((v, i) => {
      if (typeof v !== 'string') return;
      try {
        const p = parseFirmware(v);
        if (versions.length && compareFirmware(versions[versions.length - 1]!, p) >= 0) {
          d(`/firmware/versions/${i}`, `versions must be listed oldest first without repeats ('${v}')`);
        }
        versions.push(p);
      } catch (e) {
        if (!lenient) d(`/firmware/versions/${i}`, (e as Error).message);
      }
    });
  }
  if (fw && Array.isArray(fw.defaultAction)) {
    fw.defaultAction.forEach((x, i) => {
      if (isObj(x) && typeof x.range === 'string' && !isValidRange(x.range)) d(`/firmware/defaultAction/${i}/range`, `'${x.range}' is not a semver range`);
      if (isObj(x) && typeof x.action === 'string') {
        const why = letsEverythingThrough(x.action);
        if (why) d(`/firmware/defaultAction/${i}/action`, `the default action must not be ${why}`);
        else if (!lenient) tryAction(x.action, `/firmware/defaultAction/${i}/action`, d);
      }
    });
    // every known version must be covered
    for (const v of versions) {
      if (!fw.defaultAction.some((x) => isObj(x) && typeof x.range === 'string' && isValidRange(x.range) && satisfiesRange(v, x.range))) {
        d('/firmware/defaultAction', `no range covers firmware ${v}`);
      }
    }
  }
  const allVersions = versions.length ? versions : parent?.firmwares ?? [];
  const checkVersion = (v: unknown, pointer: string) => {
    if (typeof v !== 'string') return;
    try {
      const p = parseFirmware(v);
      if (!allVersions.length) d(pointer, `'since'/'until' needs a versioned target (add "firmware")`);
      else if (compareFirmware(p, allVersions[0]!) < 0) d(pointer, `${v} is older than the target's first firmware ${allVersions[0]}`);
    } catch (e) {
      if (!lenient) d(pointer, (e as Error).message);
    }
  };
  const defaultWhy = typeof r.defaultAction === 'string' ? letsEverythingThrough(r.defaultAction) : undefined;
  if (defaultWhy) d('/defaultAction', `the default action must not be ${defaultWhy}`);
  if (typeof r.foreignArchAction === 'string' && letsEverythingThrough(r.foreignArchAction)) {
    d('/foreignArchAction', `a foreign arch must never be allowed ('${r.foreignArchAction}' lets its calls run)`);
  }
  if (!fw && r.defaultAction === undefined && !parent) d('', "a target needs 'firmware' (versioned) or 'defaultAction' (unversioned)");
  if (fw && r.defaultAction !== undefined) d('/defaultAction', "use 'firmware.defaultAction' in a versioned target, not both");
  if (!r.extends && !Array.isArray(r.arches)) d('', "missing 'arches' (only a target that extends another may omit it)");
  const arches = Array.isArray(r.arches) ? r.arches : parent?.arches ?? [];
  if (typeof r.defaultArch === 'string' && isArchName(r.defaultArch) && !arches.includes(r.defaultArch)) {
    d('/defaultArch', `defaultArch '${r.defaultArch}' is not one of the target's arches (${arches.join(', ')})`);
  }
  for (const key of ['defaultAction', 'foreignArchAction'] as const) {
    const a = r[key];
    if (typeof a === 'string' && !lenient && !letsEverythingThrough(a)) tryAction(a, `/${key}`, d);
  }

  // Groups
  for (const [g, members] of Object.entries(localGroups)) {
    if (!Array.isArray(members)) continue;
    members.forEach((m, i) => {
      const p = `/groups/${escapePointer(g)}/${i}`;
      checkName(m, p);
      checkGroupRef(m, p);
    });
  }
  const cycle = findGroupCycle(localGroups);
  if (cycle) d(`/groups/${escapePointer(cycle[0]!)}`, `groups include each other in a loop: ${cycle.join(' -> ')}`);

  // Entries
  const direct = new Map<string, number>();
  const denied = new Set((Array.isArray(r.deny) ? r.deny : []).map((x) => (isObj(x) ? x.name : undefined)));
  (Array.isArray(r.syscalls) ? r.syscalls : []).forEach((e, i) => {
    if (!isObj(e)) return;
    const p = `/syscalls/${i}`;
    if (typeof e.group === 'string') checkGroupRef(e.group, `${p}/group`);
    if (typeof e.name === 'string') {
      checkName(e.name, `${p}/name`);
      const prev = direct.get(e.name);
      if (prev !== undefined) {
        const a = r.syscalls[prev] as RawSyscallEntry;
        if (!a.args || !(e as RawSyscallEntry).args) d(`${p}/name`, `'${e.name}' is listed twice (first at /syscalls/${prev}); give both argument conditions, or merge them`);
      } else direct.set(e.name, i);
      if (denied.has(e.name)) d(`${p}/name`, `'${e.name}' is both allowed here and listed in 'deny'`);
    }
    checkVersion(e.since, `${p}/since`);
    checkVersion(e.until, `${p}/until`);
    if (typeof e.since === 'string' && typeof e.until === 'string') {
      try {
        if (compareFirmware(parseFirmware(e.until), parseFirmware(e.since)) <= 0) d(`${p}/until`, `'until' ${e.until} is not after 'since' ${e.since}`);
      } catch { /* reported above */ }
    }
    if (typeof e.action === 'string' && !lenient) tryAction(e.action, `${p}/action`, d);
    if (Array.isArray(e.args)) {
      (e.args as RawArgCondition[]).forEach((c, j) => {
        if (!isObj(c)) return;
        for (const k of ['value', 'mask'] as const) {
          const v = c[k];
          if (v === undefined) continue;
          const big = toBigIntOrUndefined(v);
          if (big === undefined || big > 0xffffffffffffffffn) d(`${p}/args/${j}/${k}`, 'not an unsigned 64-bit value');
          else if (c.width === 32 && big > 0xffffffffn) d(`${p}/args/${j}/${k}`, 'value does not fit the 32 bits a width-32 condition compares');
        }
      });
    }
    if (isObj(e.documented) && typeof e.name === 'string' && isKnownSyscall(e.name)) {
      for (const [arch, n] of Object.entries(e.documented)) {
        if (!isArchName(arch) || typeof n !== 'number') continue;
        const msg = documentedMismatch(e.name, arch, n);
        if (msg) d(`${p}/documented/${arch}`, msg);
      }
    }
  });
  (Array.isArray(r.deny) ? r.deny : []).forEach((x, i) => isObj(x) && checkName(x.name, `/deny/${i}/name`));
  (Array.isArray(r.history) ? r.history : []).forEach((x, i) => isObj(x) && checkName(x.name, `/history/${i}/name`));
  (Array.isArray(r.remove) ? r.remove : []).forEach((n, i) => {
    checkName(n, `/remove/${i}`);
    if (!parent) d(`/remove/${i}`, "'remove' only makes sense with 'extends'");
    else if (typeof n === 'string' && !parent.entries.some((e) => e.name === n)) d(`/remove/${i}`, `'${n}' is not allowed by ${parent.id}, nothing to remove`);
  });
  return out;
}

/**
 * Why an action may not be a default (or foreign-arch) action: allow and log both let the
 * call run (log only records it), so either turns an allow list into allow-everything.
 */
function letsEverythingThrough(a: string): string | undefined {
  if (a === 'allow') return 'allow: an allow list denies by default';
  if (a === 'log') return 'log: log lets the call run (it only records it), so every call outside the list would run';
  return undefined;
}

function tryAction(a: string, pointer: string, d: (p: string, m: string) => void): void {
  try {
    parseAction(a);
  } catch (e) {
    d(pointer, (e as Error).message);
  }
}

/** Why a vendor-documented number disagrees with the table, or undefined when it agrees. */
export function documentedMismatch(name: string, arch: ArchName, documented: number): string | undefined {
  const actual = syscallNumber(arch, name);
  if (actual === documented) return undefined;
  if (actual === null) {
    const twin = replacementsOf(name).find((t) => syscallNumber(arch, t.name) === documented);
    if (twin) return undefined;
    return `documented as ${arch} number ${documented}, but '${name}' does not exist on ${arch} and no family member has that number`;
  }
  return `documented as ${arch} number ${documented}, but the ${arch} table says ${actual}`;
}

function findGroupCycle(groups: Record<string, unknown>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (g: string, path: string[]): string[] | undefined => {
    if (state.get(g) === 'done') return undefined;
    if (state.get(g) === 'visiting') return [...path.slice(path.indexOf(g)), g];
    state.set(g, 'visiting');
    const members = groups[g];
    if (Array.isArray(members)) {
      for (const m of members) {
        if (typeof m === 'string' && Object.hasOwn(groups, m)) {
          const c = visit(m, [...path, g]);
          if (c) return c;
        }
      }
    }
    state.set(g, 'done');
    return undefined;
  };
  for (const g of Object.keys(groups)) {
    const c = visit(g, []);
    if (c) return c;
  }
  return undefined;
}

export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function toBigIntOrUndefined(v: unknown): bigint | undefined {
  try {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return BigInt(v);
  } catch { /* fallthrough */ }
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
  const members = Object.hasOwn(local, g) ? local[g]! : shipped[g]?.syscalls ?? [];
  const out: string[] = [];
  for (const m of members) {
    if (m.startsWith('@')) out.push(...expandGroup(m, local, shipped, seen));
    else out.push(m);
  }
  return out;
}

function convert(r: RawTarget, file: string, parent: TargetDef | undefined, shipped: Groups): TargetDef {
  const allow: Action = { kind: 'allow' };
  const arches = (r.arches ?? parent?.arches ?? []) as ArchName[];
  const firmwares = r.firmware ? r.firmware.versions.map(parseFirmware) : parent?.firmwares ?? [];
  const defaultActions = r.firmware
    ? r.firmware.defaultAction.map((x) => ({ range: x.range, action: parseAction(x.action), ...(x.note ? { note: x.note } : {}) }))
    : r.defaultAction !== undefined
      ? [{ range: '*', action: parseAction(r.defaultAction) }]
      : parent?.defaultActions ?? [];
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
  const deny = [
    ...(parent?.denied ?? []).filter((x) => !childNames.has(x.name) && !ownDeny.some((o) => o.name === x.name)),
    ...ownDeny,
  ];
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
    foreignArchAction: r.foreignArchAction ? parseAction(r.foreignArchAction) : parent?.foreignArchAction ?? { kind: 'kill-process' },
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

