import { resolve } from 'node:path';
import { generateShim, SHIM_ARCHES } from '../../shim/index.ts';
import { InputError } from '../../errors.ts';
import { STDOUT } from '../../util/out-dir.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, json, table, type Command } from '../io.ts';
import { policyFromFlags } from './common.ts';
import { writeOutput } from '../output.ts';

export const shimCommand: Command = {
  name: 'shim',
  help: `Usage: sysgate shim --target T [--firmware V] [--arch A] [--out DIR] [--flags] [--sigsys] [--json]

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
  --flags      print only the compile and link flags (nothing is written)
  --sigsys     add a SIGSYS handler: where a denial is a seccomp TRAP (firmware < 13.7),
               calls made inside the C library get the fallback or ENOSYS instead of death
  --json       machine-readable: files, flags and every wrapper with its fallback

JSON (shim --json): {out (the directory), files (names written in out), flags: {cflags,
  ldflags}, wrappers: [{name, fallback (the calls used instead; "" for none), status
  (fallback|enosys)}]}
JSON (shim --flags --json): {cflags, ldflags}

Examples:
  sysgate shim --target codesafe5 --firmware 13.7 --arch arm --out build/shim
  arm-linux-gnueabihf-gcc $(sysgate shim --target codesafe5 --arch arm --flags | sed -n 's/^cflags: //p') \\
      -c build/shim/codesafe5-13.7-arm.shim.c -o build/shim.o
  sysgate shim --target codesafe5 --firmware 13.5 --arch ppc --sigsys --json
`,
  async run(argv, io) {
    const flags = parseArgs({
      '--target': String, '--firmware': String, '--arch': String, '--out': String,
      '--flags': Boolean, '--sigsys': Boolean, '--json': Boolean, '--quiet': Boolean, '--help': Boolean,
      '-t': '--target', '-f': '--firmware', '-a': '--arch', '-o': '--out', '-q': '--quiet', '-h': '--help',
    }, argv, 'shim');
    if (flags['--help']) return io.out(this.help), 0;
    const { policy } = await policyFromFlags(flags, 'shim', io);
    const shim = generateShim(policy, { sigsys: !!flags['--sigsys'] });
    if (flags['--flags']) {
      io.out(flags['--json'] ? json(shim.flags) : `cflags: ${shim.flags.cflags.join(' ')}\nldflags: ${shim.flags.ldflags.join(' ')}\n`);
      return 0;
    }
    const out = flags['--out'] === STDOUT ? STDOUT : resolve(io.cwd, flags['--out'] ?? 'sysgate-out');
    if (out === STDOUT && flags['--json']) throw new InputError('--out - and --json both want stdout; choose one');
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
