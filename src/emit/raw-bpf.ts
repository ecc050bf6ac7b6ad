/** `bpf`: the raw struct sock_filter array in the target's byte order, loadable as is. */
import { encodeFilter } from '../bpf/index.ts';
import type { Emitter } from './types.ts';

export const rawBpfEmitter: Emitter = {
  format: 'bpf',
  summary: "raw struct sock_filter array in the target's byte order",
  emit({ filter, baseName }) {
    return [{ name: `${baseName}.bpf`, content: encodeFilter(filter.insns, filter.endian) }];
  },
};
