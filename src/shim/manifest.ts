/**
 * The shim's manifest: one fact shared by the shim that writes it and `sysgate check` that reads
 * it. Text in a `const char[]` the shim exports:
 *   sysgate-shim 1
 *   policy <target> <firmware|-> <arch>
 *   enosys <symbol> <denied syscall>                  (answered with -1/ENOSYS, no kernel call)
 *   fallback <symbol> <denied syscall> <call+call>    (answered with the allowed calls)
 */
export const SHIM_MANIFEST_SYMBOL = 'sysgate_shim_manifest';
export const SHIM_MANIFEST_MAGIC = 'sysgate-shim 1';

export interface ShimManifest {
  target: string;
  firmware: string | null;
  arch: string;
  wrappers: { symbol: string; status: 'enosys' | 'fallback'; denied: string; calls: string[] }[];
}

/** Parses a manifest's text; undefined when it is not one (a symbol of that name with other bytes). */
export function parseShimManifest(text: string): ShimManifest | undefined {
  const lines = text.split('\n');
  if (lines[0] !== SHIM_MANIFEST_MAGIC) return undefined;
  const policy = /^policy (\S+) (\S+) (\S+)$/.exec(lines[1] ?? '');
  if (!policy) return undefined;
  const wrappers: ShimManifest['wrappers'] = [];
  for (const l of lines.slice(2)) {
    const m = /^(enosys|fallback) ([A-Za-z_][A-Za-z0-9_]*) ([a-z_0-9]+)(?: (\S+))?$/.exec(l);
    if (m) wrappers.push({ symbol: m[2]!, status: m[1] as 'enosys' | 'fallback', denied: m[3]!, calls: m[4] ? m[4].split('+') : [] });
  }
  return { target: policy[1]!, firmware: policy[2] === '-' ? null : policy[2]!, arch: policy[3]!, wrappers };
}
