/** Types of the output backends: each turns one resolved policy set into files. */
import type { CompiledFilter } from '../bpf/index.ts';
import type { Policy, TargetDef } from '../policy/types.ts';

export interface EmitInput {
  target: TargetDef;
  /** One per arch of the program (several only for one program with several arch blocks). */
  policies: Policy[];
  /** The compiled BPF program for `policies`. */
  filter: CompiledFilter;
  /** File name stem, e.g. codesafe5-13.7-arm. */
  baseName: string;
  /** C identifier stem, e.g. sysgate_codesafe5. */
  cName: string;
  /** sysgate version, for the generated-by line. */
  version: string;
}

export interface EmittedFile {
  name: string;
  content: string | Uint8Array;
}

export interface Emitter {
  format: string;
  summary: string;
  emit(input: EmitInput): EmittedFile[];
}
