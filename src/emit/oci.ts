/** `oci`: the runtime-spec `linux.seccomp` object (runc, crun, containerd, podman). */
import type { Action } from '../policy/types.ts';
import { runtimeCallNames } from '../policy/runtimes.ts';
import { engineRows, rulesByName } from './by-name.ts';
import type { Emitter } from './types.ts';
import { SCMP_CMP } from './scmp-ops.ts';

function ociAction(a: Action): { action: string; errnoRet?: number } {
  switch (a.kind) {
    case 'allow':
      return { action: 'SCMP_ACT_ALLOW' };
    case 'log':
      return { action: 'SCMP_ACT_LOG' };
    case 'trap':
      return { action: 'SCMP_ACT_TRAP' };
    case 'kill-process':
      return { action: 'SCMP_ACT_KILL_PROCESS' };
    case 'kill-thread':
      return { action: 'SCMP_ACT_KILL_THREAD' };
    case 'errno':
      return { action: 'SCMP_ACT_ERRNO', errnoRet: a.errno };
    case 'trace':
      return { action: 'SCMP_ACT_TRACE' };
    case 'user-notif':
      return { action: 'SCMP_ACT_NOTIFY' };
  }
}

/**
 * The u64 as a JSON integer (runtimes parse value/valueTwo as uint64). Past 2^53 a JS number
 * would round, so those go through as a marker that `stringify` turns into the exact digits.
 */
function u64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `${BIG}${v.toString(10)}`;
}
const BIG = '\u0000u64:';

function stringify(profile: object): string {
  return JSON.stringify(profile, null, 2).replace(/"\\u0000u64:(\d+)"/g, '$1');
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
      if (runtimeOnly.has(r.name)) {
        runtimeEntry.names.push(r.name);
        continue;
      }
      const rows = engineRows(r, 'oci', p0.defaultAction);
      if (rows.length === 0) continue; // every argument gets the default action
      if (rows.length === 1 && rows[0]!.args.length === 0) {
        const act = ociAction(rows[0]!.action);
        const key = `${act.action}/${act.errnoRet ?? ''}`;
        const g = groups.get(key) ?? { names: [], ...act };
        g.names.push(r.name);
        groups.set(key, g);
        continue;
      }
      // One entry per row; the runtime hands each to libseccomp as its own rule. Rows of
      // different actions never overlap (engineRows), so libseccomp's order cannot matter.
      for (const row of rows) {
        conditional.push({
          names: [r.name],
          ...ociAction(row.action),
          args: row.args.map((x) =>
            // SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum (libseccomp's order).
            x.op === 'masked-eq'
              ? { index: x.index, value: u64(x.mask!), valueTwo: u64(x.value), op: SCMP_CMP[x.op] }
              : { index: x.index, value: u64(x.value), op: SCMP_CMP[x.op] },
          ),
        });
      }
    }
    const profile = {
      defaultAction: def.action,
      ...(def.errnoRet !== undefined ? { defaultErrnoRet: def.errnoRet } : {}),
      architectures: policies.map((p) => p.arch.scmpArch),
      syscalls: [
        ...[...groups.values()].sort((a, b) => (a.action < b.action ? -1 : a.action > b.action ? 1 : 0)),
        ...conditional,
        ...(runtimeEntry.names.length ? [runtimeEntry] : []),
      ],
    };
    return [{ name: `${baseName}.oci.json`, content: `${stringify(profile)}\n` }];
  },
};
