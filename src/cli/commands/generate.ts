import { generate, DEFAULT_FORMATS, type GeneratedFilter } from '../../generate.ts';
import { EMITTERS } from '../../emit/index.ts';
import { STDOUT } from '../../util/out-dir.ts';
import { parseArgs } from '../args.ts';
import { bold, json, type Command } from '../io.ts';
import { writeOutput } from '../output.ts';
import { InputError } from '../../errors.ts';
import { settings } from './common.ts';
import { resolve } from 'node:path';
import { FOREIGN_ARCH_NOTE } from '../../policy/runtimes.ts';

function runtimeLines(rt: NonNullable<GeneratedFilter['runtime']>): string {
  const engine = rt.name === rt.engine ? rt.version : `${rt.name} runs ${rt.version}`;
  return (
    `  ${engine}: added ${rt.added.length ? rt.added.join(', ') : 'nothing'} (calls it makes after loading the filter; last syscalls[] entry of the .oci.json)` +
    `${rt.alreadyAllowed.length ? `; already allowed: ${rt.alreadyAllowed.join(', ')}` : ''}\n  note: ${FOREIGN_ARCH_NOTE}\n`
  );
}

export const generateCommand: Command = {
  name: 'generate',
  help: `Usage: sysgate generate --target T [--firmware V] [--arch A|A,B|all] [--format LIST] [--out DIR] [--runtime R] [--json]

Builds an arch-checked seccomp-BPF filter for the target at firmware V and writes it in
each format of LIST (default: all) to DIR (default: ./sysgate-out). Files are named
<target>-<firmware>-<arch>.<ext> and written atomically: all of them or none (a failure
leaves DIR as it was; /proc, /sys and other pseudo-filesystems are refused). With no
flags the settings come from sysgate.config.json (the nearest one upwards, or --config).

  --arch A       one arch (default: the target's default arch)
  --arch A,B     one program with a block per arch (same byte order: x86_64,i386; arm,aarch64)
  --arch all     one filter per arch of the target
  --name STEM    file names STEM.<ext> instead of <target>-<firmware>-<arch>.<ext>
  --out -        write the one file to stdout instead (one format, one filter; no summary)
  --runtime R    a container profile for R (runc, crun, docker = runc, podman = crun):
                 adds exactly the calls R makes itself after loading the filter, as
                 measured (x86_64 only), in the .oci.json's last syscalls[] entry; files
                 get -R. Those calls stay allowed for the container's program too.

JSON (generate --json): {out (the directory), filters: [{baseName, arches, firmware,
  stats: {length, ranges, worstPath, averagePath, trampolines, perArch}, files (names
  written in out), runtime? (with --runtime)}]}

Formats:
${EMITTERS.map((e) => `  ${e.format.padEnd(11)} ${e.summary}`).join('\n')}

Examples:
  sysgate generate --target codesafe5 --firmware 13.7 --arch arm --out build/seccomp
  sysgate generate --target enclave-x86_64 --format oci,systemd
  sysgate generate --target codesafe5 --arch all --format bpf,c --json
  sysgate generate --target enclave-x86_64 --format oci --runtime runc
`,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--target': String,
        '--firmware': String,
        '--arch': String,
        '--format': String,
        '--out': String,
        '--config': String,
        '--name': String,
        '--runtime': String,
        '--json': Boolean,
        '--quiet': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-f': '--firmware',
        '-a': '--arch',
        '-o': '--out',
        '-q': '--quiet',
        '-c': '--config',
        '-h': '--help',
      },
      argv,
      'generate',
    );
    if (flags['--help']) return (io.out(this.help), 0);
    const { config, target, firmware } = await settings({ ...flags, '--arch': undefined }, 'generate', io);
    const archFlag = flags['--arch'];
    const arches = archFlag ? (archFlag === 'all' ? ('all' as const) : archFlag.split(',').map((s) => s.trim())) : config.arches;
    const formats = flags['--format']
      ? flags['--format']
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : (config.formats ?? DEFAULT_FORMATS);
    const results = generate(target, {
      ...(firmware !== undefined ? { firmware } : {}),
      ...(arches ? { arches } : {}),
      formats,
      ...(flags['--name'] ? { name: flags['--name'] } : {}),
      ...(flags['--runtime'] !== undefined ? { runtime: flags['--runtime'] } : {}),
    });
    const outFlag = flags['--out'];
    // '-' is stdout only on the command line; in sysgate.config.json "out" is always a directory.
    const out = outFlag === STDOUT ? STDOUT : outFlag ? resolve(io.cwd, outFlag) : (config.out ?? resolve(io.cwd, 'sysgate-out'));
    if (out === STDOUT && flags['--json']) throw new InputError('--out - and --json both want stdout; choose one');
    const w = writeOutput(
      out,
      results.flatMap((r) => r.files),
      io,
    );
    if (w.to === 'stdout') return 0;
    const written = w.paths;
    if (flags['--json']) {
      io.out(
        json({
          out,
          filters: results.map((r) => ({
            baseName: r.baseName,
            arches: r.arches,
            firmware: r.firmware,
            stats: r.stats,
            files: r.files.map((f) => f.name),
            ...(r.runtime ? { runtime: { ...r.runtime, foreignArch: FOREIGN_ARCH_NOTE } } : {}),
          })),
        }),
      );
    } else if (!flags['--quiet']) {
      for (const r of results) {
        io.out(`${bold(io, r.baseName)}: ${r.stats.length} instructions, worst path ${r.stats.worstPath}, average ${r.stats.averagePath.toFixed(1)}\n`);
        if (r.runtime) io.out(runtimeLines(r.runtime));
      }
      io.out(`wrote ${written.length} file${written.length === 1 ? '' : 's'} to ${out}\n`);
    }
    return 0;
  },
};
