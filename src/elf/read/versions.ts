/**
 * The version pass: version needs (.gnu.version_r / DT_VERNEED) and definitions (.gnu.version_d /
 * DT_VERDEF), walked along their chains within their tables, each chain bounded by the table's
 * size so a loop cannot run forever; and the index -> name map .gnu.version entries refer to.
 */
import type { ElfVersionNeed } from '../types.ts';
import type { Bin } from './bin.ts';
import type { DynamicSymbols } from './dynsym.ts';

export interface Versions {
  /** Version index -> name (and, for a need, the library it belongs to). */
  versionNames: Map<number, { name: string; file?: string }>;
  versionNeeds: ElfVersionNeed[];
  versionDefs: string[];
}

export function readVersions(b: Bin, { verneed, verdef }: DynamicSymbols): Versions {
  const versionNames = new Map<number, { name: string; file?: string }>();
  const versionNeeds: ElfVersionNeed[] = [];
  const versionDefs: string[] = [];
  if (verneed) {
    let budget = Math.floor((verneed.end - verneed.off) / 16) + 1;
    let p = verneed.off;
    for (let i = 0; i < verneed.count; i++) {
      if (p + 16 > verneed.end) b.fail('truncated version needs (.gnu.version_r)');
      b.check(p, 16, 'version needs');
      const cnt = b.u16(p + 2);
      const fileName = b.str(verneed.strs, b.u32(p + 4));
      const need: ElfVersionNeed = { file: fileName, versions: [] };
      versionNeeds.push(need);
      let a = p + b.u32(p + 8);
      for (let j = 0; j < cnt; j++) {
        if (--budget < 0) b.fail('version needs chain loops or overlaps (.gnu.version_r)');
        if (a + 16 > verneed.end) b.fail('truncated version needs (.gnu.version_r)');
        b.check(a, 16, 'version needs');
        const other = b.u16(a + 6);
        const name = b.str(verneed.strs, b.u32(a + 8));
        need.versions.push(name);
        versionNames.set(other & 0x7fff, { name, file: fileName });
        const next = b.u32(a + 12);
        if (next === 0) break;
        a += next;
      }
      if (--budget < 0) b.fail('version needs chain loops or overlaps (.gnu.version_r)');
      const next = b.u32(p + 12);
      if (next === 0) break;
      p += next;
    }
  }
  if (verdef) {
    let budget = Math.floor((verdef.end - verdef.off) / 8) + 1;
    let p = verdef.off;
    for (let i = 0; i < verdef.count; i++) {
      if (p + 20 > verdef.end) b.fail('truncated version definitions (.gnu.version_d)');
      b.check(p, 20, 'version definitions');
      const vflags = b.u16(p + 2);
      const ndx = b.u16(p + 4);
      const cnt = b.u16(p + 6);
      const aux = p + b.u32(p + 12);
      if (cnt > 0) {
        if (aux + 8 > verdef.end) b.fail('truncated version definitions (.gnu.version_d)');
        b.check(aux, 8, 'version definitions');
        const name = b.str(verdef.strs, b.u32(aux));
        if (!versionNames.has(ndx & 0x7fff)) versionNames.set(ndx & 0x7fff, { name });
        if ((vflags & 1) === 0) versionDefs.push(name); // VER_FLG_BASE names the file itself
      }
      if (--budget < 0) b.fail('version definitions chain loops or overlaps (.gnu.version_d)');
      const next = b.u32(p + 16);
      if (next === 0) break;
      p += next;
    }
  }

  return { versionNames, versionNeeds, versionDefs };
}
