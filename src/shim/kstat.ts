/**
 * The kernel's stat structs as C, from the arch record (ArchInfo.shim.kstat): struct sg_kstat
 * (the kernel's struct stat) and, where the arch has it, struct sg_kstat64 (struct stat64), each
 * with the fields the record names at the record's offsets and padded to the kernel's size, under
 * the arch's preprocessor test (ShimFacts.cppTest), with compile-time checks of size and offsets.
 * A shim is compiled for the one arch it was generated for, so it carries that arch's structs
 * alone. templates/shim/kstat.c.tmpl holds the C text.
 */
import { type ArchName, KSTAT_FIELDS, type KstatFacts, type KstatLayout } from '../syscalls/arches.ts';
import { syscallNumber } from '../syscalls/table.ts';
import type { ShimArch } from './raw-call.ts';
import { fill, requireSection, template } from './template.ts';

/**
 * The kernel's stat structs, their C names in the shim and the calls that write them: the same on
 * every arch (fs/stat.c: fstat and newfstatat copy out struct stat, fstat64 and fstatat64 struct
 * stat64).
 */
const KSTAT_STRUCTS: Readonly<Record<keyof KstatFacts, { cName: string; writers: readonly string[] }>> = {
  stat: { cName: 'sg_kstat', writers: ['fstat', 'newfstatat'] },
  stat64: { cName: 'sg_kstat64', writers: ['fstat64', 'fstatat64'] },
};

const STRUCT_KEYS = Object.keys(KSTAT_STRUCTS) as (keyof KstatFacts)[];

/** The members of one struct: each field at its offset, char padding before it and after the last. */
function members(arch: ArchName, key: string, layout: KstatLayout): string[] {
  const fields = KSTAT_FIELDS.map((name) => ({ name, ...layout.fields[name] })).sort((a, b) => a.offset - b.offset);
  const out: string[] = [];
  let at = 0;
  for (const f of fields) {
    // An overlap or a field off its natural alignment is a wrong record: the compiler would move it.
    if (f.offset < at || f.offset % f.bytes !== 0) throw new Error(`shim: ${arch} kstat.${key}.${f.name} at ${f.offset} overlaps or is misaligned`);
    if (f.offset > at) out.push(`  unsigned char sg_pad${at}[${f.offset - at}];`);
    out.push(`  uint${f.bytes * 8}_t ${f.name};`);
    at = f.offset + f.bytes;
  }
  if (at > layout.size) throw new Error(`shim: ${arch} kstat.${key} fields end at ${at}, past its size ${layout.size}`);
  if (at < layout.size) out.push(`  unsigned char sg_tail[${layout.size - at}];`);
  return out;
}

function structC(arch: ArchName, key: keyof KstatFacts, layout: KstatLayout): string {
  const t = template('kstat');
  const { cName } = KSTAT_STRUCTS[key];
  // The writers the arch has (arm has fstat but no newfstatat).
  const writers = KSTAT_STRUCTS[key].writers.filter((c) => syscallNumber(arch, c) !== null);
  return fill(requireSection(t, 'text', 'struct'), {
    name: cName,
    kernel_struct: key,
    header: layout.header,
    writers: writers.join(' and '),
    fields: members(arch, key, layout).join('\n'),
    size: String(layout.size),
    offset_checks: KSTAT_FIELDS.map((field) =>
      fill(requireSection(t, 'text', 'offset_check'), { name: cName, field, offset: String(layout.fields[field].offset) }),
    ).join('\n'),
  });
}

/** The arch's stat structs under its preprocessor test, for the shim's prelude. */
export function kstatStructs(arch: ShimArch): string {
  const structs = STRUCT_KEYS.flatMap((key) => {
    const layout = arch.shim.kstat[key];
    return layout ? [structC(arch.name, key, layout)] : [];
  });
  return `#if ${arch.shim.cppTest}\n${structs.join('\n')}\n#endif`;
}

/**
 * The C type of the buffer a stat call writes on the arch (`struct sg_kstat64` for fstatat64),
 * for a core that passes one; a call that writes none of the structs, or one the arch's record
 * does not lay out, is a bug in the shim's data.
 */
export function kstatBufferOf(arch: ShimArch, call: string): string {
  const key = STRUCT_KEYS.find((k) => KSTAT_STRUCTS[k].writers.includes(call));
  if (key === undefined) throw new Error(`shim: ${call} writes no kernel stat struct`);
  if (arch.shim.kstat[key] === undefined) throw new Error(`shim: ${call} writes struct ${key}, which the ${arch.name} record does not lay out`);
  return `struct ${KSTAT_STRUCTS[key].cName}`;
}
