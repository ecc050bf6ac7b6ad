/**
 * 32-bit ARM calls to a wrapper: Thumb `bl`/`blx` at any halfword, A32 `bl`/`blx` at any word.
 * The first argument (r0) at each call is what the site scanner's trackers (sites/arm.ts) say,
 * over the same mode ranges, Thumb sweeps and branch targets; a call that is no instruction of
 * its set there (literal data, the other set, inside a wider instruction) stays unresolved.
 */
import { armValueBefore } from '../sites/arm.ts';
import type { Recovered, ScanContext } from '../sites/common.ts';
import type { ElfExecRegion } from '../types.ts';
import { pushCall, type WrapperCall } from './call.ts';

const NOT_THUMB: Recovered = { k: 'unknown', why: 'the call bytes are not an instruction of the decoded Thumb code' };
const NOT_A32: Recovered = { k: 'unknown', why: 'the call bytes are not an instruction of the decoded A32 code' };

export function callsArm(ctx: ScanContext, r: ElfExecRegion, targets: Set<number>, out: WrapperCall[]): void {
  const { dv, le } = ctx;
  const end = r.offset + r.size;
  // Thumb bl/blx (32-bit), at any halfword.
  for (let o = r.offset; o + 4 <= end; o += 2) {
    const h1 = dv.getUint16(o, le);
    if ((h1 & 0xf800) !== 0xf000) continue;
    const h2 = dv.getUint16(o + 2, le);
    const isBl = (h2 & 0xd000) === 0xd000;
    const isBlx = (h2 & 0xd001) === 0xc000;
    if (!isBl && !isBlx) continue;
    const at = r.addr + (o - r.offset);
    const s = (h1 >>> 10) & 1;
    const j1 = (h2 >>> 13) & 1;
    const j2 = (h2 >>> 11) & 1;
    const i1 = ~(j1 ^ s) & 1;
    const i2 = ~(j2 ^ s) & 1;
    let off = (s << 24) | (i1 << 23) | (i2 << 22) | ((h1 & 0x3ff) << 12) | ((h2 & 0x7ff) << 1);
    if (s) off -= 1 << 25;
    const t = isBlx ? ((at + 4) & ~3) + off : at + 4 + off;
    if (!targets.has(t)) continue;
    pushCall(out, at, armValueBefore(ctx, r, at, true, 0) ?? NOT_THUMB, t);
  }
  // A32 bl / blx imm, word-aligned.
  for (let o = r.offset + ((4 - (r.addr & 3)) & 3); o + 4 <= end; o += 4) {
    const w = dv.getUint32(o, le);
    const at = r.addr + (o - r.offset);
    let t: number | undefined;
    if ((w & 0xff000000) >>> 0 === 0xeb000000) t = at + 8 + ((w << 8) >> 6);
    else if ((w & 0xfe000000) >>> 0 === 0xfa000000) t = at + 8 + ((w << 8) >> 6) + ((w >>> 23) & 2);
    if (t === undefined || !targets.has(t)) continue;
    pushCall(out, at, armValueBefore(ctx, r, at, false, 0) ?? NOT_A32, t);
  }
}
