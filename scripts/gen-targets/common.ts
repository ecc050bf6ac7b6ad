/**
 * What every generator of scripts/gen-targets/ shares: where the seed copies are, how a generator
 * fails (before any file is written) and the shapes it writes. The shapes are the loader's own
 * (src/policy/raw.ts), narrowed to what a generated file always carries, so the generator and the
 * loader cannot drift apart on a field.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchName } from '../../src/syscalls/arches.ts';
import { isKnownSyscall } from '../../src/syscalls/table.ts';
import type { RawArgCondition, RawSyscallEntry, RawTarget } from '../../src/policy/raw.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = join(root, 'scripts/data');
export const readData = (name: string): string => readFileSync(join(dataDir, name), 'utf8');

export function fail(msg: string): never {
  throw new Error(`gen-targets: ${msg}`);
}

export function assertKnown(name: string, where: string): void {
  if (!isKnownSyscall(name)) fail(`${where}: unknown syscall ${JSON.stringify(name)}`);
}

/** Where a generated fact came from, as the generated notes cite it. */
export const src = (file: string, what: string): string => `scripts/data/${file}: ${what}`;

export type ArgCondition = RawArgCondition;

/** A generated entry names one syscall (never a group) and documents numbers per known arch. */
export interface SyscallEntry extends Omit<RawSyscallEntry, 'documented' | 'until' | 'action'> {
  documented?: Partial<Record<ArchName, number>>;
}

export type DenyEntry = NonNullable<RawTarget['deny']>[number];

/** A generated target: the fields the loader leaves optional that a shipped file always has. */
export interface Target extends Omit<RawTarget, 'arches' | 'defaultArch' | 'abi' | 'syscalls' | 'deny' | 'firmware' | 'extends' | 'groups' | 'remove'> {
  $schema: string;
  description: string;
  sources: string[];
  arches: ArchName[];
  defaultArch: ArchName;
  firmware?: { versions: string[]; defaultAction: { range: string; action: string; note: string }[] };
  foreignArchAction: string;
  expandFamilies: NonNullable<RawTarget['expandFamilies']>;
  abi?: ArchName;
  essentials: boolean;
  syscalls: SyscallEntry[];
  deny: DenyEntry[];
}
