import { join, resolve } from 'node:path';
import { parseInvocation } from '../../buildsys/compiler.ts';
import { dynamicListText, exportModeFromEnv, exportSymbols } from '../../buildsys/link-export.ts';
import { defaultCacheDir, probedExportMode } from '../../buildsys/shim-cache.ts';
import { generateShim, SHIM_ARCHES, type ShimResult } from '../../shim/index.ts';
import { InputError } from '../../errors.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { STDOUT } from '../../util/out-dir.ts';
import { shellWords } from '../../util/shell-words.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, json, table, type Command } from '../io.ts';
import { policyFromFlags } from './common.ts';
import { writeOutput } from '../output.ts';

export const shimCommand: Command = {
  name: 'shim',
  help: `Usage: sysgate shim --target T [--firmware V] [--arch A] [--out DIR] [--flags|--cflags|--libs] [--cc COMPILER] [--sigsys] [--json]

Writes <target>-<firmware>-<arch>.shim.c to DIR (default: ./sysgate-out): C source that an
application links so that library code keeps working where the target denies a call.
getrandom/getentropy/arc4random read /dev/urandom; pipe2, dup3, accept4, eventfd,
epoll_create1, inotify_init1, signalfd, fcntl (32-bit), faccessat, epoll_pwait2 use the older
call plus fcntl for the flags, when the target allows it at that firmware; otherwise they,
and syscall() with any denied number, fail with ENOSYS without entering the kernel.

The shim defines those libc symbols in the executable (symbol interposition), so calls from
the program and from every shared library it loads reach it. Compile it with the printed
cflags and link the object into the executable with the printed ldflags.

  --arch A     ${SHIM_ARCHES.join(', ')} (default: the target's default arch)
  --out -      write the C source to stdout instead (nothing else is printed)
  --flags      print only the compile and link flags (nothing is written but a dynamic list, see --cc)
  --cflags     print only the compile flags, like pkg-config: one line, shell-quoted words
  --libs       print only the link flags, the same way (both: cflags, then libs)
  --cc CC      the compiler that will link (e.g. "arm-linux-gnueabihf-gcc"): its linker is asked
               its version once (cached): GNU ld before 2.35 has no --export-dynamic-symbol,
               so the flags then name a dynamic list, written to DIR as <name>.dynlist.
               Without --cc: --export-dynamic-symbol. SYSGATE_SHIM_EXPORT=dynamic-list|
               export-dynamic-symbol forces one (then the list is written even with --flags).
  --sigsys     add a SIGSYS handler: where a denial is a seccomp TRAP (user targets; not
               codesafe5, whose denials before 13.7 kill the process, nor the enclave),
               calls made inside the C library get the fallback or ENOSYS instead of death.
               It never rescues calls made with signals blocked (glibc's clone for
               pthread_create) or before it is installed (start-up). Refused where nothing traps.
  --json       machine-readable: files, flags and every wrapper with its fallback

JSON (shim --json): {out (the directory), files (names written in out), flags: {cflags,
  ldflags}, wrappers: [{name, fallback (the calls used instead; "" for none), status
  (fallback|enosys)}]}
JSON (shim --flags --json): {cflags, ldflags}

Examples:
  sysgate shim --target codesafe5 --firmware 13.7 --arch arm --out build/shim
  arm-linux-gnueabihf-gcc $(sysgate shim --target codesafe5 --arch arm --cflags) \\
      -c build/shim/codesafe5-13.7-arm.shim.c -o build/shim.o
  arm-linux-gnueabihf-gcc -o app main.o build/shim.o $(sysgate shim --target codesafe5 --arch arm --libs)
  sysgate shim --target codesafe5 --firmware 13.5 --arch ppc64 --json
`,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--target': String,
        '--firmware': String,
        '--arch': String,
        '--out': String,
        '--flags': Boolean,
        '--cflags': Boolean,
        '--libs': Boolean,
        '--cc': String,
        '--sigsys': Boolean,
        '--json': Boolean,
        '--quiet': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-f': '--firmware',
        '-a': '--arch',
        '-o': '--out',
        '-q': '--quiet',
        '-h': '--help',
      },
      argv,
      'shim',
    );
    if (flags['--help']) return (io.out(this.help), 0);
    const { policy } = await policyFromFlags(flags, 'shim', io);
    const generated = generateShim(policy, { sigsys: !!flags['--sigsys'] });
    const toStdout = flags['--out'] === STDOUT;
    if (toStdout && flags['--json']) throw new InputError('--out - and --json both want stdout; choose one');
    const out = toStdout ? STDOUT : resolve(io.cwd, flags['--out'] ?? 'sysgate-out');
    const shim = withExportMode(generated, toStdout ? resolve(io.cwd, 'sysgate-out') : out, flags['--cc'], io.env, io.cwd);
    // A build reads the flags before it writes anything: the list they name must exist by then.
    const list = shim.files.filter((f) => f.name.endsWith('.dynlist'));
    if ((flags['--cflags'] || flags['--libs'] || flags['--flags']) && list.length) {
      if (toStdout) throw new InputError('--out - cannot hold the dynamic list the flags name; give a directory');
      writeFilesAtomic(out, list);
    }
    if (flags['--cflags'] || flags['--libs']) {
      const words = [...(flags['--cflags'] ? shim.flags.cflags : []), ...(flags['--libs'] ? shim.flags.ldflags : [])];
      io.out(`${shellWords(words)}\n`);
      return 0;
    }
    if (flags['--flags']) {
      io.out(flags['--json'] ? json(shim.flags) : `cflags: ${shim.flags.cflags.join(' ')}\nldflags: ${shim.flags.ldflags.join(' ')}\n`);
      return 0;
    }
    const w = writeOutput(out, shim.files, io);
    if (w.to === 'stdout') return 0;
    const written = w.paths;
    if (flags['--json']) {
      io.out(json({ out, files: shim.files.map((f) => f.name), flags: shim.flags, wrappers: shim.wrappers }));
    } else if (!flags['--quiet']) {
      const rows = shim.wrappers.map((w) => [w.name, w.status === 'fallback' ? `via ${w.fallback}` : dim(io, 'ENOSYS, no kernel call')]);
      io.out(`${bold(io, shim.files[0]!.name)}: ${shim.wrappers.length} wrappers\n${table(rows)}`);
      io.out(`cflags: ${shim.flags.cflags.join(' ')}\nldflags: ${shim.flags.ldflags.join(' ')}\n`);
      io.out(`wrote ${written.length} file${written.length === 1 ? '' : 's'} to ${out}\n`);
    }
    return 0;
  },
};

/**
 * The shim's link flags for the linker that will be used: where it is told (or found) to lack
 * --export-dynamic-symbol, a dynamic list in `out` instead (one more file of the result).
 */
function withExportMode(shim: ShimResult, out: string, cc: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd: string): ShimResult {
  const mode =
    exportModeFromEnv(env) ?? (cc ? probedExportMode(parseInvocation(cc.trim().split(/\s+/), cwd).driver, defaultCacheDir(env)) : 'export-dynamic-symbol');
  if (mode === 'export-dynamic-symbol') return shim;
  const name = shim.files[0]!.name.replace(/\.shim\.c$/, '.dynlist');
  const list = { name, content: dynamicListText(exportSymbols(shim.flags.ldflags)) };
  return { ...shim, files: [...shim.files, list], flags: { ...shim.flags, ldflags: [`-Wl,--dynamic-list=${join(out, name)}`] } };
}
