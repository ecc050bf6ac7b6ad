/**
 * Target + firmware + arch(es) + runtime -> the resolved Policies every command hands to its
 * backends, resolved once here (as a bundler turns its options into one config value): the
 * emitters, the shim, `check` and its worker threads, `explain` and `compat` read these and
 * never a TargetDef again.
 */
import type { ArchName } from '../syscalls/arches.ts';
import { notDefinedFor, resolvableArches, resolveArch, resolvePolicy } from './resolve.ts';
import { runtimeProfile, withRuntime, type RuntimeAddition, type RuntimeProfile } from './runtimes.ts';
import type { Policy, TargetDef } from './types.ts';

export interface SettingsRequest {
  /** Firmware as the user typed it; default: the newest the target knows. */
  firmware?: string;
  /**
   * 'all': one filter per arch of the target; a list: one filter with an arch block each;
   * default: the target's default arch.
   */
  arches?: readonly string[] | 'all';
  /** Container runtime whose own calls are added (src/policy/runtimes.ts). */
  runtime?: string;
}

/** The policies of one filter (one per arch block), with what a runtime added to them. */
export interface ResolvedFilter {
  policies: Policy[];
  addition?: RuntimeAddition;
}

export interface ResolvedSettings {
  filters: ResolvedFilter[];
  runtime?: RuntimeProfile;
}

export function resolveSettings(target: TargetDef, req: SettingsRequest): ResolvedSettings {
  const sets: string[][] = req.arches === 'all' ? target.arches.map((a) => [a]) : [req.arches?.length ? [...req.arches] : [target.defaultArch]];
  const resolved = sets.map((set) => set.map((a) => resolvePolicy(target, { ...firmwareOf(req.firmware), arch: resolveArch(target, a).name })));
  // After the arches and the firmware: their errors come first, as the user typed them first.
  const profile = req.runtime === undefined ? undefined : runtimeProfile(req.runtime);
  const filters = resolved.map((policies): ResolvedFilter => {
    if (!profile) return { policies };
    const done = policies.map((p) => withRuntime(p, profile));
    return { policies: done.map((d) => d.policy), addition: done[0]!.addition };
  });
  return { filters, ...(profile ? { runtime: profile } : {}) };
}

/**
 * The target resolved at one firmware for every arch a program may be built for: what `check`
 * (and `cc`'s check) judges a file by, whatever its arch. Plain data, so that it crosses to
 * worker threads as it is (structured clone) and no worker resolves the target again.
 */
export interface PolicySet {
  target: { id: string; arches: readonly ArchName[] };
  firmware: string | null;
  /** One per arch the target resolves for (resolve.ts: its arches, and x86_64 always). */
  policies: Policy[];
}

export function resolvePolicySet(target: TargetDef, firmware: string | undefined): PolicySet {
  const policies = resolvableArches(target).map((arch) => resolvePolicy(target, { ...firmwareOf(firmware), arch }));
  return { target: { id: target.id, arches: [...target.arches] }, firmware: policies[0]!.firmware, policies };
}

/**
 * The Node API's `target` argument to check: a PolicySet as it is (check's own callers resolve
 * once and pass it down), or a TargetDef, resolved here at `firmware` (the API as it was).
 */
export function asPolicySet(target: TargetDef | PolicySet, firmware: string | undefined): PolicySet {
  return 'policies' in target ? target : resolvePolicySet(target, firmware);
}

/** The set's policy for an arch; undefined: the target is not defined for it. */
export function policyFor(set: PolicySet, arch: ArchName): Policy | undefined {
  return set.policies.find((p) => p.arch.name === arch);
}

const firmwareOf = (firmware: string | undefined): { firmware?: string } => (firmware !== undefined ? { firmware } : {});

/** The set's policy for an arch the user asked for (a compiler's): an InputError when the target lacks it. */
export function policyOn(set: PolicySet, arch: ArchName): Policy {
  const p = policyFor(set, arch);
  if (!p) throw notDefinedFor(set.target, arch);
  return p;
}

/** The target at two firmwares on one arch (default: the target's default arch): what `compat` compares. */
export function resolveFirmwarePair(target: TargetDef, from: string, to: string, arch?: string): [Policy, Policy] {
  const at = (firmware: string): Policy => resolvePolicy(target, { firmware, ...(arch ? { arch } : {}) });
  return [at(from), at(to)];
}
