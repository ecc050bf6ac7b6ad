/** `oci`: the runtime-spec `linux.seccomp` object (runc, crun, containerd, podman). */
import type { Action } from '../policy/types.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { runtimeCallNames } from '../policy/runtimes.ts';
import { as64, rulesByName } from './by-name.ts';
import type { Emitter } from './types.ts';

const OCI_ARCH: Record<ArchName, string> = {
  x86_64: 'SCMP_ARCH_X86_64', i386: 'SCMP_ARCH_X86', arm: 'SCMP_ARCH_ARM', aarch64: 'SCMP_ARCH_AARCH64',
  ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
};

const OCI_OP = { eq: 'SCMP_CMP_EQ', ne: 'SCMP_CMP_NE', lt: 'SCMP_CMP_LT', le: 'SCMP_CMP_LE', gt: 'SCMP_CMP_GT', ge: 'SCMP_CMP_GE', 'masked-eq': 'SCMP_CMP_MASKED_EQ' } as const;

function ociAction(a: Action): { action: string; errnoRet?: number } {
  switch (a.kind) {
    case 'allow': return { action: 'SCMP_ACT_ALLOW' };
    case 'log': return { action: 'SCMP_ACT_LOG' };
    case 'trap': return { action: 'SCMP_ACT_TRAP' };
    case 'kill-process': return { action: 'SCMP_ACT_KILL_PROCESS' };
    case 'kill-thread': return { action: 'SCMP_ACT_KILL_THREAD' };
    case 'errno': return { action: 'SCMP_ACT_ERRNO', errnoRet: a.errno };
    case 'trace': return { action: 'SCMP_ACT_TRACE' };
    case 'user-notif': return { action: 'SCMP_ACT_NOTIFY' };
  }
}

/** The u64 as a JSON number when exact, which runtimes require (they parse uint64). */
function u64(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`argument value ${v} is too large for exact JSON`);
  return Number(v);
}

export const ociEmitter: Emitter = {
  format: 'oci',
  summary: 'OCI runtime-spec seccomp JSON (defaultAction, architectures, syscalls)',
  emit({ policies, baseName }) {
    const p0 = policies[0]!;
    const def = ociAction(p0.defaultAction);
    const groups = new Map<string, { names: string[]; action: string; errnoRet?: number }>();
    const conditional: object[] = [];
    // A container runtime's own calls: one entry of their own, last, so they stay visible (OCI has no comment field).
    const runtimeOnly = runtimeCallNames(policies);
    const runtimeEntry = { names: [] as string[], action: 'SCMP_ACT_ALLOW' };
    for (const r of rulesByName(policies)) {
      if (runtimeOnly.has(r.name)) { runtimeEntry.names.push(r.name); continue; }
      const act = ociAction(r.action);
      if (!r.conditions.length) {
        const key = `${act.action}/${act.errnoRet ?? ''}`;
        const g = groups.get(key) ?? { names: [], ...act };
        g.names.push(r.name);
        groups.set(key, g);
        continue;
      }
      // One entry per AND-list; entries for the same name are OR-ed by the runtime.
      for (const list of r.conditions) {
        conditional.push({
          names: [r.name],
          ...act,
          args: list.map((c) => {
            const x = as64(c, 'oci');
            // SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum (libseccomp's order).
            return x.op === 'masked-eq'
              ? { index: c.index, value: u64(x.mask!), valueTwo: u64(x.value), op: OCI_OP[x.op] }
              : { index: c.index, value: u64(x.value), op: OCI_OP[x.op] };
          }),
        });
      }
    }
    const profile = {
      defaultAction: def.action,
      ...(def.errnoRet !== undefined ? { defaultErrnoRet: def.errnoRet } : {}),
      architectures: policies.map((p) => OCI_ARCH[p.arch.name]),
      syscalls: [...[...groups.values()].sort((a, b) => (a.action < b.action ? -1 : a.action > b.action ? 1 : 0)), ...conditional, ...(runtimeEntry.names.length ? [runtimeEntry] : [])],
    };
    return [{ name: `${baseName}.oci.json`, content: `${JSON.stringify(profile, null, 2)}\n` }];
  },
};
