/**
 * Container runtime profiles: a Policy plus exactly the calls an OCI runtime makes itself after
 * loading the container's filter and before the container's program starts. The filter stays on
 * across that execve, so seccomp cannot tell the runtime from the program: whatever is added here
 * is allowed for the program too. That is why only measured calls are added
 * (runtimes.generated.ts, from scripts/runtimes/measure.ts), and only those the target does not
 * already allow.
 */
import { InputError } from '../errors.ts';
import { formatAction, isAllow } from './action.ts';
import { unconditionalAction } from './evaluate.ts';
import { syscallNumber } from '../syscalls/table.ts';
import type { MeasuredRuntime } from './runtime-types.ts';
import { MEASURED_RUNTIMES } from './runtimes.generated.ts';
import type { Policy, Rule } from './types.ts';

export const RUNTIME_NAMES = ['runc', 'crun', 'docker', 'podman'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export interface RuntimeProfile {
  name: RuntimeName;
  /** The OCI runtime that loads the filter (Docker and Podman hand the profile to one). */
  engine: MeasuredRuntime;
  /** Why this engine, for the docs and the CLI. */
  via?: string;
}

/**
 * Docker Engine starts containers through containerd's runc shim (`docker info`: "Default
 * Runtime: runc"); Podman's default OCI runtime is crun (containers.conf `[engine] runtime`).
 * A host configured otherwise should name the runtime it really uses.
 */
const VIA: Partial<Record<RuntimeName, { engine: 'runc' | 'crun'; via: string }>> = {
  docker: { engine: 'runc', via: 'Docker Engine runs containers with runc (containerd-shim-runc-v2) unless dockerd is set to another runtime' },
  podman: { engine: 'crun', via: "Podman's default OCI runtime is crun (containers.conf [engine] runtime); if yours is runc, use --runtime runc" },
};

export function runtimeProfile(name: string): RuntimeProfile {
  if (!(RUNTIME_NAMES as readonly string[]).includes(name)) {
    throw new InputError(`unknown runtime '${name.length > 40 ? `${name.slice(0, 40)}...` : name}': one of ${RUNTIME_NAMES.join(', ')}`);
  }
  const rt = name as RuntimeName;
  const via = VIA[rt];
  const engineName = via?.engine ?? (rt as 'runc' | 'crun');
  const engine = MEASURED_RUNTIMES.find((m) => m.runtime === engineName);
  if (!engine) throw new Error(`no measurement for ${engineName} in runtimes.generated.ts`);
  return { name: rt, engine, ...(via ? { via: via.via } : {}) };
}

/** What adding the runtime did to one policy: the calls added, and the ones the target already allowed. */
export interface RuntimeAddition {
  added: string[];
  alreadyAllowed: string[];
}

/**
 * The policy with the runtime's calls allowed. Refuses (fails closed) where the result would not
 * be what it says: an arch the runtime was not measured on, a call the runtime needs that this
 * arch lacks, or a call the target restricts (a deny or an argument condition the runtime's own
 * call would not pass is the target's decision, not ours to widen).
 */
export function withRuntime(policy: Policy, profile: RuntimeProfile): { policy: Policy; addition: RuntimeAddition } {
  const m = profile.engine;
  if (policy.arch.name !== m.arch) {
    throw new InputError(
      `--runtime ${profile.name}: ${m.runtime}'s own calls were measured on ${m.arch} only; generate the container profile with --arch ${m.arch}`,
    );
  }
  const byNr = new Map(policy.rules.map((r) => [r.nr, r]));
  const added: Rule[] = [];
  const alreadyAllowed: string[] = [];
  for (const call of m.calls) {
    const nr = syscallNumber(policy.arch.name, call.name);
    if (nr === null) throw new InputError(`--runtime ${profile.name}: '${call.name}' has no number on ${policy.arch.name}`);
    const have = byNr.get(nr);
    if (have) {
      const action = unconditionalAction(have);
      if (!action || !isAllow(action)) {
        throw new InputError(
          `--runtime ${profile.name}: ${m.runtime} calls '${call.name}' after loading the filter, but the target makes it ${action ? formatAction(action) : 'depend on its arguments'}: the container could not start`,
        );
      }
      alreadyAllowed.push(call.name);
      continue;
    }
    added.push({
      name: call.name,
      nr,
      clauses: [{ action: { kind: 'allow' }, conditions: [] }],
      provenance: { kind: 'runtime', runtime: profile.name, engine: m.runtime, version: m.version, seen: call.seen, runs: m.runs },
    });
  }
  const rules = [...policy.rules, ...added].sort((a, b) => a.nr - b.nr);
  return { policy: { ...policy, rules }, addition: { added: added.map((r) => r.name), alreadyAllowed } };
}

/** Names a set of policies allows only because of a runtime (the OCI emitter lists them apart). */
export function runtimeCallNames(policies: readonly Policy[]): Set<string> {
  return new Set(policies.flatMap((p) => p.rules.filter((r) => r.provenance.kind === 'runtime').map((r) => r.name)));
}

/**
 * OCI runtimes leave libseccomp's bad-arch action at its default, SCMP_ACT_KILL, which is
 * SECCOMP_RET_KILL_THREAD (runc 1.1.5 libcontainer/seccomp/seccomp_linux.go: NewFilter without
 * SetBadArchAction; crun 1.8.1 src/libcrun/seccomp.c: seccomp_init without
 * SCMP_FLTATR_ACT_BADARCH), and an OCI profile has no field to change it.
 */
export const FOREIGN_ARCH_NOTE =
  "OCI runtimes kill only the calling THREAD on a foreign-arch or x32 call (libseccomp's default bad-arch action, " +
  'SCMP_ACT_KILL = kill-thread; the profile cannot change it): a multi-threaded program keeps running without that thread, ' +
  "where sysgate's own filters kill the whole process";
