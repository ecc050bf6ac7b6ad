import { resolve } from 'node:path';
import { generateShim, SHIM_ARCHES } from '../../shim/index.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, json, table, type Command } from '../io.ts';
import { policyFromFlags } from './common.ts';

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
  --flags      print only the compile and link flags (nothing is written)
  --sigsys     add a SIGSYS handler: where a denial is a seccomp TRAP (user targets; not
               codesafe5, whose denials before 13.7 kill the process, nor the enclave),
               calls made inside the C library get the fallback or ENOSYS instead of death.
               It never rescues calls made with signals blocked (glibc's clone for
               pthread_create) or before it is installed (start-up). Refused where nothing traps.
  --json       machine-readable: files, flags and every wrapper with its fallback

Examples:
  sysgate shim --target codesafe5 --firmware 13.7 --arch arm --out build/shim
  arm-linux-gnueabihf-gcc $(sysgate shim --target codesafe5 --arch arm --flags | sed -n 's/^cflags: //p') \\
      -c build/shim/codesafe5-13.7-arm.shim.c -o build/shim.o
  sysgate shim --target codesafe5 --firmware 13.5 --arch ppc64 --json
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
    const out = resolve(io.cwd, flags['--out'] ?? 'sysgate-out');
    const written = writeFilesAtomic(out, shim.files);
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
