/**
 * The checks a target file's schema cannot express: names, groups, versions, ranges, actions,
 * documented numbers. Each problem is one Diagnostic with its JSON pointer; they run on what the
 * loader read (load.ts) before convert.ts may assume a well-formed file.
 */
import type { Diagnostic } from '../errors.ts';
import { isArchName, type ArchName } from '../syscalls/arches.ts';
import { replacementsOf } from '../syscalls/families.ts';
import { allSyscallNames, isKnownSyscall, syscallNumber } from '../syscalls/table.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { parseAction } from './action.ts';
import { compareFirmware, isValidRange, parseFirmware, satisfiesRange } from './firmware.ts';
import type { RawArgCondition, RawGroups, RawSyscallEntry, RawTarget } from './raw.ts';
import { toBigIntOrUndefined } from './convert.ts';
import type { TargetDef } from './types.ts';

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks the schema cannot express: names, groups, versions, ranges, documented numbers. */
export function semanticChecks(r: RawTarget, file: string, parent: TargetDef | undefined, shipped: RawGroups['groups'], lenient: boolean): Diagnostic[] {
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
  if (typeof r.abi === 'string' && abiArches && !abiArches.includes(r.abi))
    d('/abi', `abi '${r.abi}' is not one of the target's arches (${abiArches.join(', ')})`);

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
  const allVersions = versions.length ? versions : (parent?.firmwares ?? []);
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
  const arches = Array.isArray(r.arches) ? r.arches : (parent?.arches ?? []);
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
        if (!a.args || !(e as RawSyscallEntry).args)
          d(`${p}/name`, `'${e.name}' is listed twice (first at /syscalls/${prev}); give both argument conditions, or merge them`);
      } else direct.set(e.name, i);
      if (denied.has(e.name)) d(`${p}/name`, `'${e.name}' is both allowed here and listed in 'deny'`);
    }
    checkVersion(e.since, `${p}/since`);
    checkVersion(e.until, `${p}/until`);
    if (typeof e.since === 'string' && typeof e.until === 'string') {
      try {
        if (compareFirmware(parseFirmware(e.until), parseFirmware(e.since)) <= 0) d(`${p}/until`, `'until' ${e.until} is not after 'since' ${e.since}`);
      } catch {
        /* reported above */
      }
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
