/**
 * PowerPC (32- and 64-bit, either endianness): `sc` with the number in r0 (`li r0,N`).
 */
import type { ElfExecRegion, SyscallSite } from '../types.ts';
import { Bits, JOIN, pushFixedWidthSites, type Recovered, type ScanContext } from './common.ts';

const SC = 0x44000002;
// X-form stores under primary opcode 31 (extended opcode in bits 1-10): they only write RA on update.
const STORES31 = new Set([151, 183, 215, 247, 407, 439, 149, 181, 662, 918, 150, 214, 694, 726, 663, 695, 727, 759, 983, 660, 1014, 982, 86, 54, 278, 246, 470]);
// Opcode 31 forms that write no GPR: cmp, cmpl, tw, td, mtspr, mtcrf, mtmsr, sync, eieio, wait.
const NOWRITE31 = new Set([0, 32, 4, 68, 467, 144, 146, 178, 598, 854, 62]);

export function scanPpc(ctx: ScanContext, region: ElfExecRegion, out: SyscallSite[]): void {
  const { dv, le } = ctx;
  const base = region.offset;
  const n = region.size >>> 2;
  const sites: number[] = [];
  const targets = new Bits(region.size, 2);
  for (let i = 0; i < n; i++) {
    const w = dv.getUint32(base + i * 4, le);
    if (w === SC) {
      sites.push(i);
      continue;
    }
    const op = w >>> 26;
    if (op === 18 && (w & 3) === 0) targets.set(i * 4 + ((w << 6) >> 8) * 4);
    else if (op === 16 && (w & 3) === 0) targets.set(i * 4 + ((w << 16) >> 18) * 4);
  }
  pushFixedWidthSites(ctx, region, sites, targets, 'ppc', 'sc', recover, out);
}

function recover(ctx: ScanContext, region: ElfExecRegion, i: number, lowest: number, fIdx: number, targets: Bits): Recovered {
  const { dv, le } = ctx;
  let t = 0;
  let name = 'r0';
  const lost = (): Recovered => ({ k: 'unknown', why: `${name} written by an instruction that is not li` });
  for (let cur = i; ; cur--) {
    const j = cur - 1;
    if (j < lowest) {
      if (j < fIdx && fIdx === lowest) {
        if (t === 3) return { k: 'arg', why: `${name}: the number comes from the caller (first argument)` };
        return { k: 'unknown', why: `${name} not set in the function before the site` };
      }
      return { k: 'unknown', why: `${name} not set before the site within the scanned code` };
    }
    if (targets.has(cur * 4)) return { k: 'unknown', why: JOIN };
    const w = dv.getUint32(region.offset + j * 4, le);
    const op = w >>> 26;
    const rt = (w >>> 21) & 31;
    const ra = (w >>> 16) & 31;
    if (op === 14 && rt === t) {
      // addi rT,rA,N; li rT,N when rA is 0
      return ra === 0 ? { k: 'const', v: (w << 16) >> 16 } : { k: 'unknown', why: `${name} computed by addi` };
    }
    if (op === 31 && (w & 0x7fe) === 0x378 && ra === t && rt === ((w >>> 11) & 31)) {
      // mr rA,rS
      if (rt === 1) return { k: 'unknown', why: `${name} copied from r1` };
      t = rt;
      name = `r0 (copied from r${rt})`;
      continue;
    }
    if (w === 0x60000000) continue; // nop
    if (op === 46 && rt <= t) return lost(); // lmw writes rT..r31
    switch (op) {
      case 18: // b / bl
        if (w & 1) {
          if (t >= 14) continue; // non-volatile
          return { k: 'unknown', why: `${name} clobbered by a call before the site` };
        }
        return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
      case 16: // bc
      case 19: {
        if (op === 19) {
          const xo = (w >>> 1) & 0x3ff;
          if (xo !== 16 && xo !== 528 && xo !== 560) continue; // CR logical ops, isync
        }
        if (w & 1) {
          if (t >= 14) continue;
          return { k: 'unknown', why: `${name} clobbered by a call before the site` };
        }
        if ((rt & 0x14) === 0x14) return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
        continue;
      }
      case 17:
        if (t === 0 || (t >= 3 && t <= 12)) return { k: 'unknown', why: `${name} clobbered by an earlier sc` };
        continue;
      // D-form writers of RT.
      case 7: case 8: case 12: case 13: case 14: case 15:
      case 32: case 33: case 34: case 35: case 40: case 41: case 42: case 43: case 46: case 56: case 58:
        if (rt === t) return lost();
        continue;
      // Writers of RA.
      case 20: case 21: case 23: case 24: case 25: case 26: case 27: case 28: case 29: case 30:
        if (ra === t) return lost();
        continue;
      // Stores (update forms write RA, never r0), FP loads/stores, compares, traps, vector, FP arith.
      case 2: case 3: case 4: case 10: case 11:
      case 36: case 37: case 38: case 39: case 44: case 45: case 47:
      case 48: case 49: case 50: case 51: case 52: case 53: case 54: case 55:
      case 59: case 60: case 61: case 62: case 63:
        continue;
      case 31: {
        const xo = (w >>> 1) & 0x3ff;
        if (STORES31.has(xo) || NOWRITE31.has(xo)) continue;
        if (rt === t || ra === t) return lost();
        continue;
      }
      default:
        return { k: 'unknown', why: 'an instruction before the site could not be classified' };
    }
  }
}
