/**
 * All-or-nothing file output. Either every file of a set ends up at its final name, or the
 * directory is left as it was: same names, same contents, no temp files.
 *
 *   1. write: each file goes to a fresh temp name in the output directory, created with
 *      O_CREAT|O_EXCL|O_NOFOLLOW and a random name (crypto), so a link planted there in advance
 *      makes the open fail instead of writing through it; each is fsynced.
 *   2. commit: only once all are written, each final name that exists is kept as a backup
 *      (a hard link, which leaves the final name in place; a rename where the filesystem has
 *      no hard links), then the temp file is renamed over it. rename(2) replaces a symlink at
 *      the final name itself, never the file it points to.
 *   3. any failure (ENOSPC, EISDIR, EACCES, ...) in either step: what was renamed is undone
 *      (the backup is renamed back, or the new file removed), every temp and backup is
 *      removed, the directories created for the output are removed again, and one InputError
 *      names the directory, the file and the reason.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { ensureOutputDir, removeCreatedDirs } from './out-dir.ts';

export interface OutFile {
  name: string;
  content: string | Uint8Array;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** A name no one can guess in advance: 96 random bits. */
function hiddenName(name: string, suffix: string): string {
  return `.${name}.${randomBytes(12).toString('hex')}.${suffix}`;
}

function checkNames(dir: string, files: readonly OutFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    // Output names come from target ids and --name: one path component, nothing that climbs out.
    if (!f.name || f.name === '.' || f.name === '..' || /[/\0]/.test(f.name)) {
      throw new InputError(`${dir}: bad output file name '${f.name}' (one file name, no '/')`);
    }
    if (seen.has(f.name)) throw new InputError(`${dir}: two output files are both named '${f.name}'`);
    seen.add(f.name);
  }
}

function writeTemp(path: string, content: string | Uint8Array, temps: string[]): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
  temps.push(path); // from here on it is ours to remove, even if nothing gets written
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd); // ENOSPC and EIO can surface only here on some filesystems
  } finally {
    closeSync(fd);
  }
}

interface Committed {
  final: string;
  /** The previous file at `final`, kept under a hidden name; undefined if there was none. */
  backup?: string;
  /** The backup was made by renaming `final` away (no hard links), not by linking. */
  movedAway?: boolean;
  /** The new file is in place at `final`. */
  renamed: boolean;
}

function commitOne(dir: string, name: string, tmp: string, done: Committed[]): void {
  const final = join(dir, name);
  const c: Committed = { final, renamed: false };
  done.push(c);
  const st = lstatSync(final, { throwIfNoEntry: false });
  // A directory in the way is never moved aside to make room: no backup, and the rename
  // below fails with the kernel's own EISDIR.
  if (st && !st.isDirectory()) {
    const backup = join(dir, hiddenName(name, 'bak'));
    try {
      // link(2) does not follow a symlink at `final`: the link itself is what is kept.
      linkSync(final, backup);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
      renameSync(final, backup);
      c.movedAway = true;
    }
    c.backup = backup;
  }
  renameSync(tmp, final);
  c.renamed = true;
}

/** Puts the directory back as it was; returns what could not be undone. */
function rollback(done: Committed[], temps: string[]): string[] {
  const left: string[] = [];
  for (const c of [...done].reverse()) {
    try {
      if (c.backup && (c.renamed || c.movedAway))
        renameSync(c.backup, c.final); // old file back, atomically
      else if (c.backup)
        unlinkSync(c.backup); // the final name was never touched
      else if (c.renamed) unlinkSync(c.final); // there was nothing before
    } catch (e) {
      left.push(`${c.final} (${errCode(e)})`);
    }
  }
  for (const t of temps) {
    try {
      unlinkSync(t);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(`${t} (${errCode(e)})`);
    }
  }
  return left;
}

/** Writes `files` into `dir` (absolute), all or none. Returns the paths written, in order. */
export function writeFilesAtomic(dir: string, files: readonly OutFile[]): string[] {
  checkNames(dir, files);
  const createdDirs = ensureOutputDir(dir);
  const temps: string[] = [];
  const pending: [tmp: string, name: string][] = [];
  const done: Committed[] = [];
  let step = '';
  try {
    for (const f of files) {
      step = `cannot write ${f.name}`;
      const tmp = join(dir, hiddenName(f.name, 'tmp'));
      writeTemp(tmp, f.content, temps);
      pending.push([tmp, f.name]);
    }
    for (const [tmp, name] of pending) {
      step = `cannot replace ${name}`;
      commitOne(dir, name, tmp, done);
    }
  } catch (e) {
    const left = rollback(done, temps);
    removeCreatedDirs(createdDirs);
    throw new InputError(`${dir}: ${step}: ${errCode(e)}; ${left.length ? `could not restore ${left.join(', ')}` : 'nothing written'}`);
  }
  // Committed: the backups are the old contents, no longer needed.
  for (const c of done) {
    if (c.backup) {
      try {
        unlinkSync(c.backup);
      } catch {
        // The new files are all in place; a backup that cannot be removed is only clutter.
      }
    }
  }
  return done.map((c) => c.final);
}
