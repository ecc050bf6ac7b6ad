/** Parsing and describing seccomp actions ("errno:ENOSYS", "trap", ...). */
import { InputError } from '../errors.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import type { Action } from './types.ts';
import { ERRNO, errnoName } from './errno.ts';

export function parseAction(text: string): Action {
  const [head, arg] = text.split(':', 2) as [string, string | undefined];
  switch (head) {
    case 'allow':
    case 'log':
    case 'trap':
    case 'kill-process':
    case 'kill-thread':
    case 'user-notif':
      if (arg === undefined) return { kind: head };
      break;
    case 'errno': {
      if (arg === undefined) break;
      const n = /^\d+$/.test(arg) ? Number(arg) : ERRNO[arg];
      if (n === undefined) throw new InputError(`unknown errno '${excerpt(arg)}'${didYouMean(arg, Object.keys(ERRNO))}`);
      if (n > 4095) throw new InputError(`errno ${n} is out of range (0..4095)`);
      return { kind: 'errno', errno: n };
    }
    case 'trace':
      if (arg !== undefined && /^\d+$/.test(arg) && Number(arg) <= 0xffff) return { kind: 'trace', data: Number(arg) };
      break;
  }
  throw new InputError(`bad action '${excerpt(text)}' (expected allow, log, trap, kill-process, kill-thread, user-notif, errno:NAME, trace:N)`);
}

export function formatAction(a: Action): string {
  switch (a.kind) {
    case 'errno':
      return `errno:${errnoName(a.errno) ?? a.errno}`;
    case 'trace':
      return `trace:${a.data}`;
    default:
      return a.kind;
  }
}

export function sameAction(a: Action, b: Action): boolean {
  return formatAction(a) === formatAction(b);
}

export function isAllow(a: Action): boolean {
  return a.kind === 'allow' || a.kind === 'log';
}

/** What the calling program experiences, as a predicate: "the call ...". */
export function describeOutcome(a: Action): string {
  switch (a.kind) {
    case 'allow':
      return 'runs normally';
    case 'log':
      return 'runs normally (and is logged)';
    case 'errno':
      return a.errno === ERRNO.ENOSYS
        ? 'fails with ENOSYS (errno 38): libc falls back to an older call where it has one'
        : `fails with ${errnoName(a.errno) ?? 'errno'} (errno ${a.errno})`;
    case 'trap':
      return 'raises SIGSYS: the process dies unless it handles SIGSYS';
    case 'kill-process':
      return 'kills the whole process (SIGSYS)';
    case 'kill-thread':
      return 'kills the calling thread (SIGSYS)';
    case 'trace':
      return 'is handed to a ptrace tracer (fails with ENOSYS when none is attached)';
    case 'user-notif':
      return 'is handed to a user-space supervisor';
  }
}

/** Short word for what the caller sees, for tables. */
export function outcomeWord(a: Action): string {
  switch (a.kind) {
    case 'allow':
    case 'log':
      return 'allowed';
    case 'errno':
      return errnoName(a.errno) ?? `errno ${a.errno}`;
    case 'trap':
      return 'SIGSYS';
    case 'kill-process':
    case 'kill-thread':
      return 'killed';
    case 'trace':
      return 'traced';
    case 'user-notif':
      return 'notified';
  }
}
