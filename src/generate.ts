/** Target + firmware + arches + formats -> output files, in memory (written by the caller). */
import { compileFilter, type FilterStats } from './bpf/index.ts';
import { InputError } from './errors.ts';
import { emitterFor, type EmittedFile } from './emit/index.ts';
import { cIdent } from './util/c-syntax.ts';
import { showFirmware } from './policy/firmware.ts';
import { resolveSettings } from './policy/settings.ts';
import type { Policy, TargetDef } from './policy/types.ts';
import { VERSION } from './version.ts';

export interface GenerateOptions {
  firmware?: string;
  /**
   * Which filters: 'all' = one per arch of the target; a list of arch names = one program
   * with an arch block each (they must share a byte order, e.g. x86_64 + i386); default:
   * the target's default arch.
   */
  arches?: string[] | 'all';
  formats: string[];
  /** File name stem instead of <target>-<firmware>-<arches>; with several filters, -<arch> is appended. */
  name?: string;
  /**
   * Container runtime (runc, crun, docker, podman): add the calls it makes itself after loading
   * the filter (src/policy/runtimes.ts); file names get -<runtime>.
   */
  runtime?: string;
}

export interface GeneratedFilter {
  baseName: string;
  arches: string[];
  firmware: string | null;
  stats: FilterStats;
  files: EmittedFile[];
  /** With a runtime: which engine, and what it added on top of the target. */
  runtime?: { name: string; engine: string; version: string; added: string[]; alreadyAllowed: string[] };
}

export const DEFAULT_FORMATS = ['bpf', 'c', 'oci', 'systemd', 'libseccomp', 'asm'];

export function generate(target: TargetDef, opts: GenerateOptions): GeneratedFilter[] {
  const emitters = [...new Set(opts.formats)].map(emitterFor);
  const { filters, runtime: profile } = resolveSettings(target, {
    ...(opts.firmware !== undefined ? { firmware: opts.firmware } : {}),
    ...(opts.arches !== undefined ? { arches: opts.arches } : {}),
    ...(opts.runtime !== undefined ? { runtime: opts.runtime } : {}),
  });
  return filters.map(({ policies, addition }) => {
    const name = opts.name === undefined ? undefined : filters.length > 1 ? `${opts.name}-${policies.map((p) => p.arch.name).join('+')}` : opts.name;
    if (!profile) return generateFor(target, policies, emitters, name);
    const out = generateFor(target, policies, emitters, name, `-${profile.name}`);
    return { ...out, runtime: { name: profile.name, engine: profile.engine.runtime, version: profile.engine.version, ...addition! } };
  });
}

function generateFor(target: TargetDef, policies: Policy[], emitters: ReturnType<typeof emitterFor>[], name?: string, suffix = ''): GeneratedFilter {
  const names = policies.map((p) => p.arch.name);
  if (new Set(names).size !== names.length) throw new InputError(`arch listed twice: ${names.join(', ')}`);
  const endians = new Set(policies.map((p) => p.arch.endian));
  if (endians.size > 1) throw new InputError(`one filter cannot mix byte orders (${names.join(', ')}): generate them separately or use --arch all`);
  const filter = compileFilter(policies);
  const fw = policies[0]!.firmware;
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) throw new InputError(`bad --name '${name}': letters, digits, '.', '_', '+', '-'`);
  const baseName = name ?? [target.id, ...(fw ? [showFirmware(fw)] : []), names.join('+')].join('-') + suffix;
  const input = { target, policies, filter, baseName, cName: cIdent('sysgate', target.id), version: VERSION };
  const files = emitters.flatMap((e) => e.emit(input));
  return { baseName, arches: names, firmware: fw, stats: filter.stats, files };
}
