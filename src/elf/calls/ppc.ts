/**
 * PowerPC (32- and 64-bit) calls to a wrapper: `bl` (and `b`, a tail call) to a target. The
 * first argument (r3) at each call is what the site scanner's tracker (sites/ppc.ts) says,
 * through the join points of the same branch index.
 */
import { fixedBounds, type ScanContext } from '../sites/common.ts';
import { ppcValueBefore } from '../sites/ppc.ts';
import type { ElfExecRegion } from '../types.ts';
import { pushCall, tailArgument, type WrapperCall } from './call.ts';

export function callsPpc(ctx: ScanContext, wide: boolean, r: ElfExecRegion, targets: Set<number>, out: WrapperCall[]): void {
  const { dv, le } = ctx;
  const end = r.offset + r.size;
  for (let o = r.offset; o + 4 <= end; o += 4) {
    const w = dv.getUint32(o, le);
    if ((w & 0xfc000003) >>> 0 !== 0x48000001 && (w & 0xfc000003) >>> 0 !== 0x48000000) continue;
    const at = r.addr + (o - r.offset);
    // 32-bit addresses wrap; 64-bit ones do not (code may sit above 4 GiB).
    const sum = at + (((w << 6) >> 6) & ~3);
    const t = wide ? sum : sum >>> 0;
    if (!targets.has(t)) continue;
    const i = (o - r.offset) / 4;
    const { lowest, fIdx } = fixedBounds(ctx, r, i);
    const arg = ppcValueBefore(ctx, r, i, lowest, fIdx, 3);
    if ((w & 1) === 0) pushCall(out, at, tailArgument(arg), t, true);
    else pushCall(out, at, arg, t);
  }
}
