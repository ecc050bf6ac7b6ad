/** One call to a syscall()-style wrapper, as the per-ISA call finders report it. */
import type { Recovered } from '../sites/common.ts';

export interface WrapperCall {
  address: number;
  /** The number passed, or null (with `reason`); a call reached with different constants is listed once per number. */
  number: number | null;
  function?: string;
  reason?: string;
  /** The wrapper (or PLT stub) called; absent for calls through a -fno-plt slot. */
  target?: number;
  /** A jump, not a call: with `number` null, the number is whatever the jumping function was given (a forwarder). */
  tail?: boolean;
}

/** A jump into a wrapper: the jumping function forwards its own first argument. */
export const TAIL: Recovered = { k: 'unknown', why: "tail call: the number is the caller's first argument" };

/**
 * What a jump into a wrapper passes: the constant(s) the tracker finds (gcc -O2 makes
 * `mov $202,%edi; jmp syscall` of `return syscall(SYS_futex, ...)`: a call of that number), else
 * the jumping function's own first argument (TAIL: a forwarder, answered at its callers).
 */
export function tailArgument(rec: Recovered): Recovered {
  if (rec.k === 'consts') return rec;
  if (rec.k === 'const' && rec.v >= 0 && Number.isSafeInteger(rec.v)) return rec;
  return TAIL;
}

/**
 * Records a call with what the ISA's register tracker says its first argument holds. A value
 * the caller was given (`arg`) is unknown here: the caller's callers say it, when the call is a
 * tail call (followed by findSyscallCalls), and not at all otherwise.
 */
export function pushCall(out: WrapperCall[], address: number, rec: Recovered, target?: number, tail = false): void {
  // Different constants on different paths into the call: it makes each of those calls.
  if (rec.k === 'consts') {
    for (const v of rec.vs) pushCall(out, address, { k: 'const', v }, target, tail);
    return;
  }
  let c: WrapperCall;
  if (rec.k === 'const' && rec.v >= 0 && Number.isSafeInteger(rec.v)) c = { address, number: rec.v };
  else c = { address, number: null, reason: rec.k === 'const' ? `the first argument is ${rec.v}, not a syscall number` : rec.why };
  if (target !== undefined) c.target = target;
  if (tail) c.tail = true;
  out.push(c);
}
