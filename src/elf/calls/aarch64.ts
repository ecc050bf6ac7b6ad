/**
 * AArch64 calls to a wrapper: `bl` (and `b`, a tail call) to a target. The first argument (x0)
 * at each call is what the site scanner's tracker (sites/aarch64.ts) says, over the same
 * branch targets of the region.
 */
import { fixedBounds, type ScanContext } from '../sites/common.ts';
import { a64Index, a64ValueBefore } from '../sites/aarch64.ts';
import type { ElfExecRegion } from '../types.ts';
import { pushCall, tailArgument, type WrapperCall } from './call.ts';

export function callsA64(ctx: ScanContext, r: ElfExecRegion, targets: Set<number>, out: WrapperCall[]): void {
  const { dv } = ctx;
  const end = r.offset + r.size;
  for (let o = r.offset; o + 4 <= end; o += 4) {
    const w = dv.getUint32(o, true);
    const op = (w & 0xfc000000) >>> 0;
    if (op !== 0x94000000 && op !== 0x14000000) continue;
    const at = r.addr + (o - r.offset);
    const t = at + ((w << 6) >> 4);
    if (!targets.has(t)) continue;
    const i = (o - r.offset) / 4;
    const { lowest, fIdx } = fixedBounds(ctx, r, i);
    const arg = a64ValueBefore(ctx, r, i, lowest, fIdx, a64Index(ctx, r).targets, 0);
    if (op === 0x14000000) pushCall(out, at, tailArgument(arg), t, true);
    else pushCall(out, at, arg, t);
  }
}
