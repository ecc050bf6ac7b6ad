/**
 * What commonly linked libraries do when a call they make fails (OpenSSL 3's seeding has no
 * fallback, CPython reads /dev/urandom): the records `sysgate check` applies when a process
 * links the library, matched by SONAME (DT_NEEDED), or carries it linked in statically
 * (recognised by the API it exports, `linkedIn`: node, Debian's python3.11). The facts live in `libraries.json`,
 * validated by `schemas/libraries.schema.json` in the tests; each names its source and the
 * trace that confirmed it.
 */
import data from './libraries.json' with { type: 'json' };

/** What the library does for the recorded errors: its own fallback, it carries on, it fails, or the process dies. */
export type LibraryOnError = 'falls-back' | 'degrades' | 'breaks' | 'aborts';

export interface LibraryCall {
  syscalls: string[];
  /** What the library uses the call for. */
  when: string;
  /** errno names the behaviour holds for, or 'any'; any other error reaches the library's caller unrecorded. */
  errors: 'any' | string[];
  onError: LibraryOnError;
  /** With 'falls-back': what it uses instead. */
  fallback?: string;
  detail: string;
  source: string;
  verified?: string;
}

export interface LibraryRecord {
  soname: string;
  name: string;
  versions: string;
  /** A program exporting every one of these symbols carries the library linked in. */
  linkedIn?: { exports: string[]; why: string };
  calls: LibraryCall[];
}

/** A record that applies to a process, and how: the library is loaded (by SONAME), or linked into the file. */
export interface LinkedLibrary {
  record: LibraryRecord;
  linkedIn: boolean;
}

interface LibrariesFile {
  $schema?: string;
  notes?: string[];
  libraries: LibraryRecord[];
}

const FILE = data as LibrariesFile;

/** Every record (for the tests and documentation). */
export function libraryRecords(): readonly LibraryRecord[] {
  return FILE.libraries;
}

/**
 * The records of the libraries among `needed` (DT_NEEDED names), else linked into the file
 * (every `linkedIn` export among `exports`, the file's own dynamic exports): once each, in the
 * data's order.
 */
export function librariesLinked(needed: readonly string[], exports: ReadonlySet<string> = new Set()): LinkedLibrary[] {
  const names = new Set(needed);
  const out: LinkedLibrary[] = [];
  for (const record of FILE.libraries) {
    if (names.has(record.soname)) out.push({ record, linkedIn: false });
    else if (record.linkedIn?.exports.every((x) => exports.has(x))) out.push({ record, linkedIn: true });
  }
  return out;
}
