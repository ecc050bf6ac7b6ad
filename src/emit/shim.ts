/** `shim`: the libc shim (<base>.shim.c) for each arch of the filter; see ../shim/index.ts. */
import type { Emitter } from './types.ts';
import { renderShim } from '../shim/index.ts';

export const shimEmitter: Emitter = {
  format: 'shim',
  summary: 'C source of a libc shim: denied calls mapped to allowed fallbacks or ENOSYS (link flags in its header)',
  emit({ policies, baseName }) {
    return policies.flatMap((p) => renderShim(p, policies.length > 1 ? `${baseName}.${p.arch.name}` : baseName).files);
  },
};
