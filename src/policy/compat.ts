/** What changes for an app between two firmware versions of a target. */
import { allowsSome } from './call.ts';
import { describeOutcome, formatAction, sameAction } from './action.ts';
import { compareFirmware, showFirmware } from './firmware.ts';
import { resolvePolicy } from './resolve.ts';
import type { Action, Policy, TargetDef } from './types.ts';

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

export function compareFirmwares(target: TargetDef, from: string, to: string, arch?: string): CompatReport {
  const a = resolvePolicy(target, { firmware: from, ...(arch ? { arch } : {}) });
  const b = resolvePolicy(target, { firmware: to, ...(arch ? { arch } : {}) });
  const allowedSet = (p: Policy) => new Map(p.rules.filter(allowsSome).map((r) => [r.nr, r]));
  const sa = allowedSet(a);
  const sb = allowedSet(b);
  const change = (r: Policy['rules'][number]): CompatChange => ({ name: r.name, number: r.nr, since: r.since ? showFirmware(r.since) : null });
  const added = [...sb.values()].filter((r) => !sa.has(r.nr)).map(change);
  const removed = [...sa.values()].filter((r) => !sb.has(r.nr)).map(change);
  const fa = a.firmware!;
  const fb = b.firmware!;
  return {
    target: target.id,
    arch: a.arch.name,
    from: fa,
    to: fb,
    defaultAction: { from: formatAction(a.defaultAction), to: formatAction(b.defaultAction), changed: !sameAction(a.defaultAction, b.defaultAction) },
    added,
    removed,
    history: target.history,
    summary: [
      ...summarize(a.defaultAction, b.defaultAction, added, removed, showFirmware(fa), showFirmware(fb), compareFirmware(fa, fb)),
      ...(target.history.length ? [`Other sources disagree with the target about ${target.history.length} call${target.history.length === 1 ? '' : 's'} (${target.history.map((h) => h.name).join(', ')}): the policy follows the target; 'sysgate explain NAME' says what they say.`] : []),
    ],
  };
}

function fatal(a: Action): boolean {
  return a.kind === 'trap' || a.kind === 'kill-process' || a.kind === 'kill-thread';
}

function summarize(da: Action, db: Action, added: CompatChange[], removed: CompatChange[], fa: string, fb: string, order: number): string[] {
  const out: string[] = [];
  if (order === 0) return [`${fa} and ${fb} are the same firmware: nothing changes.`];
  if (!sameAction(da, db)) {
    out.push(`On ${fa} a call outside the list ${describeOutcome(da)}; on ${fb} it ${describeOutcome(db)}.`);
    if (fatal(da) && db.kind === 'errno') {
      out.push(`Moving to ${fb}: denied calls stop killing the app. libc's fallbacks work again (clock_gettime64 -> clock_gettime, statx -> fstatat64, clone3 -> clone), and libraries that fall back to /dev/urandom when getrandom fails keep working.`);
    } else if (da.kind === 'errno' && fatal(db)) {
      out.push(`Moving to ${fb}: every denied call now kills the app, including ones libc makes and would have recovered from on ${fa} (rseq, set_robust_list, clock_gettime64, statx, getrandom).`);
    }
  }
  if (added.length) {
    out.push(`${added.length} call${added.length === 1 ? '' : 's'} allowed on ${fb} but not on ${fa}: an app that uses them ${order < 0 ? `and must also run on ${fa} needs a fallback for each` : `works on ${fb} only`}.`);
  }
  if (removed.length) out.push(`${removed.length} call${removed.length === 1 ? '' : 's'} allowed on ${fa} but no longer on ${fb}: check your app with 'sysgate check --firmware ${fb}'.`);
  if (!added.length && !removed.length && sameAction(da, db)) out.push(`No difference between ${fa} and ${fb} for this arch.`);
  return out;
}
