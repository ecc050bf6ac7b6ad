/** The output formats: adding one is a module and an entry here. */
import { InputError } from '../errors.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { asmEmitter } from './asm.ts';
import { cHeaderEmitter } from './c-header.ts';
import { libseccompEmitter } from './libseccomp.ts';
import { ociEmitter } from './oci.ts';
import { rawBpfEmitter } from './raw-bpf.ts';
import { shimEmitter } from './shim.ts';
import { systemdEmitter } from './systemd.ts';
import type { Emitter } from './types.ts';

export type { EmitInput, EmittedFile, Emitter } from './types.ts';

export const EMITTERS: readonly Emitter[] = [rawBpfEmitter, cHeaderEmitter, ociEmitter, systemdEmitter, libseccompEmitter, asmEmitter, shimEmitter];

export function emitterFor(format: string): Emitter {
  const e = EMITTERS.find((x) => x.format === format);
  if (!e)
    throw new InputError(
      `unknown format '${excerpt(format)}'${didYouMean(
        format,
        EMITTERS.map((x) => x.format),
      )}; formats: ${EMITTERS.map((x) => x.format).join(', ')}`,
    );
  return e;
}
