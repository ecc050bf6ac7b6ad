/** All-or-nothing file output: every file goes to a temp name first, then is renamed. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.ts';

export interface OutFile {
  name: string;
  content: string | Uint8Array;
}

export function writeFilesAtomic(dir: string, files: readonly OutFile[]): string[] {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`cannot create output directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const temps: [string, string][] = [];
  try {
    for (const f of files) {
      const path = join(dir, f.name);
      const tmp = join(dirname(path), `.${f.name}.${process.pid}.tmp`);
      writeFileSync(tmp, f.content);
      temps.push([tmp, path]);
    }
  } catch (e) {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
    throw new InputError(`cannot write to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const [tmp, path] of temps) renameSync(tmp, path);
  return temps.map(([, p]) => p);
}
