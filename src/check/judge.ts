/**
 * Judging one way of reaching a call: what the program experiences when the policy answers
 * it with an action and the code around it handles failure as recorded (types.ts's Verdict),
 * and the sentence that says so.
 */
import { describeOutcome, isAllow } from '../policy/action.ts';
import { errnoName } from '../policy/errno.ts';
import type { Action } from '../policy/types.ts';
import { judgementRank, type Handling, type Judgement, type Via } from './types.ts';

const ENOSYS = 38;

/**
 * What the program experiences when the policy answers a call with `action` and the code
 * around it handles failure as `h`. An error that leaves the C library (a wrapper's return,
 * syscall(), a fallback that is not taken for this errno) reaches the application, and what
 * the application does with it is not known: `depends`, never a PASS under --strict.
 * `breaks` needs a record that the code it reaches fails on it (a linked library's).
 */
export function judge(action: Action, h: Handling): Judgement {
  if (isAllow(action)) return { verdict: 'allowed' };
  switch (action.kind) {
    case 'kill-process':
    case 'kill-thread':
      return { verdict: 'dies', how: 'killed' };
    case 'trap':
      return { verdict: 'dies', how: 'sigsys' };
    case 'errno':
      break;
    default:
      return { verdict: 'depends' };
  }
  const enosys = action.errno === ENOSYS;
  const aborts: Judgement = { verdict: 'dies', how: 'aborts' };
  switch (h.k) {
    case 'chain':
      if (h.next && (enosys || h.anyError)) return { verdict: 'falls-back' };
      if (!h.next) {
        if (h.onEnosys === 'abort') return aborts;
        if ((h.onEnosys === 'fallback' || h.onEnosys === 'fallback-file') && enosys) return { verdict: 'falls-back' };
        // The fallback works in one build of this release and hangs or aborts in another.
        if (h.onEnosys === 'depends-on-build' && enosys) return { verdict: 'depends' };
      }
      // The function returns the error: callers of an advisory call carry on without it.
      return { verdict: h.advisory ? 'degrades' : 'depends' };
    case 'startup':
      if (h.onEnosys === 'ignored') return { verdict: 'degrades' };
      if (h.onEnosys === 'fallback' && enosys) return { verdict: 'falls-back' };
      return aborts;
    case 'direct':
      return { verdict: 'depends' };
    case 'unknown':
      return { verdict: 'depends' };
    case 'step': {
      const applies = enosys || h.anyError === true;
      switch (h.onEnosys) {
        case 'ignored':
          return { verdict: applies ? 'degrades' : 'depends' };
        case 'fallback':
          return { verdict: applies ? 'falls-back' : 'depends' };
        case 'error':
          return { verdict: 'depends' };
        case 'abort':
          return aborts;
      }
      break;
    }
    case 'library': {
      if (h.errors !== 'any' && !h.errors.includes(errnoName(action.errno) ?? '')) return { verdict: 'depends' };
      switch (h.onError) {
        case 'falls-back':
          return { verdict: 'falls-back' };
        case 'degrades':
          return { verdict: 'degrades' };
        case 'breaks':
          return { verdict: 'breaks' };
        case 'aborts':
          return aborts;
      }
      break;
    }
  }
  return { verdict: 'depends' };
}

export function worst(js: Judgement[]): Judgement {
  let best: Judgement = { verdict: 'allowed' };
  for (const j of js) if (judgementRank(j) < judgementRank(best)) best = j;
  return best;
}

/** Who gets the error: the import's function, syscall(), the library, or the code around a site. */
function whoGets(via: Via | undefined): string {
  switch (via?.kind) {
    case 'import':
      return `${via.symbol}() returns the error to the program`;
    case 'syscall()':
      return 'syscall() returns the error to the program';
    case 'library':
      return `${via.library} gets the error`;
    case 'site':
      return via.function ? `${via.function}() gets the error` : 'the code around the call gets the error';
    default:
      return 'the code around the call gets the error';
  }
}

export function outcomeText(j: Judgement, action: Action, via: Via | undefined, h: Handling | undefined): string {
  const err = action.kind === 'errno' ? (errnoName(action.errno) ?? `errno ${action.errno}`) : '';
  const next = h && 'next' in h && h.next ? h.next : undefined;
  const detail = h?.detail ? ` (${h.detail})` : '';
  switch (j.verdict) {
    case 'allowed':
      return 'allowed';
    case 'dies':
      switch (j.how) {
        case 'sigsys':
          return 'raises SIGSYS: the process dies (libraries do not fall back on a signal)';
        case 'aborts':
          return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} cannot go on: the process dies${detail}`;
        default:
          return `${describeOutcome(action)}`;
      }
    case 'falls-back':
      if (next) return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} falls back to ${next}`;
      return `fails with ${err}; ${h?.detail ?? 'the C library falls back'}`;
    case 'degrades':
      if (h?.k === 'chain' && h.advisory) return `fails with ${err}; ${whoGets(via)}, and callers carry on without it (${h.advisory})`;
      return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} carries on without it${detail}`;
    case 'breaks':
      return `fails with ${err}; ${whoGets(via)}, and it fails on it${detail}`;
    case 'depends':
      return action.kind === 'errno' ? `fails with ${err}; ${whoGets(via)}: whether it copes is not known${detail}` : describeOutcome(action);
  }
}
