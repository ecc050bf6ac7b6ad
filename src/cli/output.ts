/**
 * Where a command's output files go: a directory (written all or nothing), or, with `--out -`,
 * standard output, which can take exactly one file (several would run together).
 */
import { InputError } from '../errors.ts';
import { writeFilesAtomic, type OutFile } from '../util/atomic-write.ts';
import { STDOUT } from '../util/out-dir.ts';
import type { Io } from './io.ts';

export type Written = { to: 'stdout'; file: string } | { to: 'dir'; paths: string[] };

export function writeOutput(out: string, files: readonly OutFile[], io: Io, flag = '--out'): Written {
  if (out !== STDOUT) return { to: 'dir', paths: writeFilesAtomic(out, files) };
  if (files.length !== 1) {
    throw new InputError(
      `${flag} - writes one file to stdout, and this makes ${files.length} (${files.map((f) => f.name).join(', ')}); choose one format and one arch, or a directory`,
    );
  }
  const f = files[0]!;
  if (typeof f.content === 'string') io.out(f.content);
  else if (io.outBytes) io.outBytes(f.content);
  else throw new InputError(`${flag} -: ${f.name} is binary and this output takes text only`);
  return { to: 'stdout', file: f.name };
}
