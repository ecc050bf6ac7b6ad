/** `asm`: a readable listing with labels, syscall names and actions. */
import { disassemble } from '../bpf/index.ts';
import { showFirmware } from '../policy/firmware.ts';
import { syscallName } from '../syscalls/table.ts';
import type { Emitter } from './types.ts';
import { generatedBy } from '../version.ts';

export const asmEmitter: Emitter = {
  format: 'asm',
  summary: 'readable listing of the BPF program (labels, syscall names, actions)',
  emit({ policies, filter, baseName, version, target }) {
    const fw = policies[0]!.firmware;
    const arch = policies[0]!.arch.name;
    const s = filter.stats;
    const head = [
      `; ${generatedBy(version)}: ${target.id}${fw ? ` firmware ${showFirmware(fw)}` : ''} on ${policies.map((p) => p.arch.name).join(' + ')}`,
      `; ${s.length} instructions, ${s.ranges} ranges, worst path ${s.worstPath}, average path ${s.averagePath.toFixed(2)}`,
      '',
    ];
    const body = disassemble(filter.insns, {
      endian: filter.endian,
      nrName: policies.length === 1 ? (nr) => syscallName(arch, nr) : undefined,
      comments: filter.comments,
    });
    return [{ name: `${baseName}.asm`, content: `${head.join('\n')}${body.endsWith('\n') ? body : `${body}\n`}` }];
  },
};
