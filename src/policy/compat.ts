/** What changes for an app between two firmware versions of a target: two resolved Policies compared. */
import { allowsSome } from './call.ts';
import { describeOutcome, formatAction, sameAction } from './action.ts';
import { compareFirmware, showFirmware } from './firmware.ts';
import type { ArchName } from '../syscalls/arches.ts';
import type { LibcRecovery } from './fixes.ts';
import type { Action, Policy } from './types.ts';
import { allSyscallNames, syscallNumber } from '../syscalls/table.ts';

export interface CompatChange {
  name: string;
  number: number;
  since: string | null;
}

export interface CompatReport {
  target: string;
  arch: string;
  from: string;
  to: string;
  defaultAction: { from: string; to: string; changed: boolean };
  added: CompatChange[];
  removed: CompatChange[];
  /** Calls about which other sources (older vendor pages) disagree with the target: information. */
  history: { name: string; note: string }[];
  summary: string[];
}

/**
 * `a` and `b`: one target on one arch at two firmwares (settings.ts resolveFirmwarePair).
 * `libc`: ./libc-fixes.ts's glibcRecovery (passed in so that the light bundle loads the libc
 * knowledge base lazily).
 */
export function comparePolicies(a: Policy, b: Policy, libc: LibcRecovery): CompatReport {
  if (a.target.id !== b.target.id || a.arch.name !== b.arch.name) throw new Error('comparePolicies: one target on one arch at two firmwares');
  const history = a.history;
  const allowedSet = (p: Policy) => new Map(p.rules.filter(allowsSome).map((r) => [r.nr, r]));
  const sa = allowedSet(a);
  const sb = allowedSet(b);
  const change = (r: Policy['rules'][number]): CompatChange => ({ name: r.name, number: r.nr, since: r.since ? showFirmware(r.since) : null });
  const added = [...sb.values()].filter((r) => !sa.has(r.nr)).map(change);
  const removed = [...sa.values()].filter((r) => !sb.has(r.nr)).map(change);
  const fa = a.firmware!;
  const fb = b.firmware!;
  return {
    target: a.target.id,
    arch: a.arch.name,
    from: fa,
    to: fb,
    defaultAction: { from: formatAction(a.defaultAction), to: formatAction(b.defaultAction), changed: !sameAction(a.defaultAction, b.defaultAction) },
    added,
    removed,
    history: [...history],
    summary: [
      ...summarize(
        a.defaultAction,
        b.defaultAction,
        added,
        removed,
        showFirmware(fa),
        showFirmware(fb),
        compareFirmware(fa, fb),
        recoveries(libc, a.arch.name, (nr) => sa.has(nr) || sb.has(nr)),
      ),
      ...(history.length
        ? [
            `Other sources disagree with the target about ${history.length} call${history.length === 1 ? '' : 's'} (${history.map((h) => h.name).join(', ')}): the policy follows the target; 'sysgate explain NAME' says what they say.`,
          ]
        : []),
    ],
  };
}

function fatal(a: Action): boolean {
  return a.kind === 'trap' || a.kind === 'kill-process' || a.kind === 'kill-thread';
}

/**
 * The calls glibc recovers from by itself (src/libc) that neither firmware allows on this arch:
 * 'clock_gettime64 -> clock_gettime', 'rseq (carries on)'. Whether the denial lets the recovery
 * run (ENOSYS) or not (a kill) is summarize's business.
 */
function recoveries(libc: LibcRecovery, arch: ArchName, allowed: (nr: number) => boolean): { libc: string; calls: string[] } {
  const calls: string[] = [];
  for (const name of allSyscallNames()) {
    const nr = syscallNumber(arch, name);
    if (nr === null || allowed(nr)) continue;
    const r = libc.recover(name, arch);
    if (r) calls.push(r.fallbacks.length ? `${name} -> ${r.fallbacks.join('/')}` : `${name} (carries on)`);
  }
  return { libc: libc.libc, calls: calls.sort() };
}

function summarize(
  da: Action,
  db: Action,
  added: CompatChange[],
  removed: CompatChange[],
  fa: string,
  fb: string,
  order: number,
  rec: { libc: string; calls: string[] },
): string[] {
  const out: string[] = [];
  if (order === 0) return [`${fa} and ${fb} are the same firmware: nothing changes.`];
  if (!sameAction(da, db)) {
    out.push(`On ${fa} a call outside the list ${describeOutcome(da)}; on ${fb} it ${describeOutcome(db)}.`);
    if (fatal(da) && db.kind === 'errno') {
      const own = rec.calls.length ? ` ${rec.libc}'s own fallbacks work again (${rec.calls.join(', ')}),` : '';
      out.push(`Moving to ${fb}: denied calls stop killing the app.${own} and libraries that fall back to /dev/urandom when getrandom fails keep working.`);
    } else if (da.kind === 'errno' && fatal(db)) {
      const own = rec.calls.length ? `, including ones ${rec.libc} makes and would have recovered from on ${fa} (${rec.calls.join(', ')})` : '';
      out.push(`Moving to ${fb}: every denied call now kills the app${own}.`);
    }
  }
  if (added.length) {
    out.push(
      `${added.length} call${added.length === 1 ? '' : 's'} allowed on ${fb} but not on ${fa}: an app that uses them ${order < 0 ? `and must also run on ${fa} needs a fallback for each` : `works on ${fb} only`}.`,
    );
  }
  if (removed.length)
    out.push(
      `${removed.length} call${removed.length === 1 ? '' : 's'} allowed on ${fa} but no longer on ${fb}: check your app with 'sysgate check --firmware ${fb}'.`,
    );
  if (!added.length && !removed.length && sameAction(da, db)) out.push(`No difference between ${fa} and ${fb} for this arch.`);
  return out;
}
