/**
 * Targets and groups that ship with sysgate. Bundled (no file reads, no schema compilation:
 * the build and the test suite validate them) and each loaded only when asked for, so that
 * start-up parses just the target in use.
 */
import type { RawGroups } from './raw.ts';

const TARGETS: Readonly<Record<string, () => Promise<unknown>>> = {
  codesafe5: async () => (await import('../../targets/codesafe5.json', { with: { type: 'json' } })).default,
  'enclave-x86_64': async () => (await import('../../targets/enclave-x86_64.json', { with: { type: 'json' } })).default,
};

export function shippedTargetIds(): string[] {
  return Object.keys(TARGETS).sort();
}

export function isShippedTarget(id: string): boolean {
  return Object.hasOwn(TARGETS, id);
}

export async function shippedTarget(id: string): Promise<unknown> {
  return TARGETS[id]!();
}

let groups: RawGroups['groups'] | undefined;

/** systemd's sets, as groups any target may use. */
export async function shippedGroups(): Promise<RawGroups['groups']> {
  groups ??= ((await import('../../targets/groups/systemd.json', { with: { type: 'json' } })).default as RawGroups).groups;
  return groups;
}
