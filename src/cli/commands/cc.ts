import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilerArch, parseInvocation } from '../../buildsys/compiler.ts';
import { defaultCacheDir, shimObject } from '../../buildsys/shim-cache.ts';
import { checkFile } from '../../check/file.ts';
import { renderReport, type TextStyle } from '../../check/report-text.ts';
import { toJson } from '../../check/report-json.ts';
import { incomplete, isCheckError } from '../../check/types.ts';
import { InputError } from '../../errors.ts';
import { policyOn, resolvePolicySet } from '../../policy/settings.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, errIo, green, json, red, yellow, type Command, type Io } from '../io.ts';
import { settings } from './common.ts';

export const ccCommand: Command = {
  name: 'cc',
  help: `Usage: sysgate cc [--target T] [--firmware V] [--sysroot DIR] [--no-shim] [--no-check] [--sigsys] [--strict] [--json] -- [LAUNCHER] COMPILER ARGS...

Runs the real compiler. When the command links, sysgate first adds the libc shim for the
target, firmware and the compiler's arch (generated and compiled once into a cache directory:
$SYSGATE_CACHE_DIR, else $XDG_CACHE_HOME/sysgate or ~/.cache/sysgate) with its link flags,
then checks the linked file. Steps that do not link (-c, -E, -S, -M, -MM, -fsyntax-only,
--version, -print-*, no input files) and partial links (-r, -Wl,-r) pass through untouched.
For builds use the launcher sysgate-cc (same arguments): it passes those steps to the
compiler without starting Node.

LAUNCHER: env [-i] [-u NAME] [NAME=VALUE...], ccache, distcc, sccache or icecc before the
compiler. The whole command runs the user's steps; the shim is compiled (and the linker
probed) with the compiler itself, under env's settings.
-shared: a shared library is linked without the shim (the shim interposes libc from the
executable; a library exporting getrandom would do it in every program that loads it) and
checked like an executable.
The shim's symbols are exported with -Wl,--export-dynamic-symbol where the linker has it
(GNU ld >= 2.35, gold, lld, mold), else with -Wl,--dynamic-list=FILE (FILE in the cache);
SYSGATE_SHIM_EXPORT=dynamic-list|export-dynamic-symbol forces one.

Exit status: the compiler's when it fails; 1 when the check finds a call that kills the app or
breaks code known to fail on it on the device (dies, breaks; with --strict also depends and
unresolved, as check --strict) (the output file is then removed, so a rebuild runs the check
again); otherwise 0. Settings not given come from sysgate.config.json.

  --strict also fail (and remove the output) when an error reaches the program and nothing
           known says it copes, or an import is not modelled

  --json   print the check of the linked file on stdout instead of the text report on
           stderr (nothing for compile-only steps or with --no-check)

JSON (cc --json): {file, arch, target, firmware, defaultAction, static, type, library, libc,
  syscalls, unresolved, unknownImports, libraries, summary, fatal}: the object
  'sysgate check --json' prints for one file (see 'sysgate check --help')

Examples:
  sysgate cc --target codesafe5 --firmware 13.7 -- arm-linux-gnueabihf-gcc -O2 -o app main.c
  make CC="sysgate-cc --target codesafe5 --firmware 13.7 -- ccache arm-linux-gnueabihf-gcc"
`,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--target': String,
        '--firmware': String,
        '--sysroot': String,
        '--config': String,
        '--no-shim': Boolean,
        '--no-check': Boolean,
        '--sigsys': Boolean,
        '--quiet': Boolean,
        '--json': Boolean,
        '--strict': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-f': '--firmware',
        '-c': '--config',
        '-q': '--quiet',
        '-h': '--help',
      },
      argv,
      'cc',
    );
    if (flags['--help']) return (io.out(this.help), 0);
    const inv = parseInvocation(flags._, io.cwd);
    if (!inv.links) return runCompiler(inv.command, inv.args, io);

    const s = await settings({ ...flags, '--arch': undefined }, 'cc', io);
    // -fuse-ld picks the linker, so it belongs to the linker probe (and to the cache key).
    const driver = [...inv.driver, ...inv.args.filter((a) => a.startsWith('-fuse-ld=') || a.startsWith('--ld-path='))];
    const arch = compilerArch(inv.driver);
    // Resolved once: the shim is built from these policies and the linked file checked by them.
    const policies = resolvePolicySet(s.target, s.firmware);
    const policy = policyOn(policies, arch.name);
    const useShim = !flags['--no-shim'] && (s.config.shim ?? true) && !inv.shared;
    let args = inv.args;
    if (useShim) {
      const shim = shimObject(policy, driver, defaultCacheDir(io.env), { sigsys: !!flags['--sigsys'], env: io.env });
      if (shim.built && !flags['--quiet'])
        io.err(dim(errIo(io), `sysgate: built the shim for ${s.target.id} ${policy.firmware ?? ''} ${arch.name}: ${shim.object}\n`));
      args = [...args, shim.object, ...shim.ldflags];
    }
    const status = runCompiler(inv.command, args, io);
    if (status !== 0 || flags['--no-check']) return status;

    const output = resolve(io.cwd, inv.output!);
    const sysroot = flags['--sysroot'] ? resolve(io.cwd, flags['--sysroot']) : s.config.sysroot;
    const result = checkFile(output, inv.output!, policies, sysroot ? { sysroot } : {}, true);
    if (!result) throw new InputError(`${inv.output}: the linked file is not an ELF file`);
    if (isCheckError(result)) throw new InputError(`${inv.output}: ${result.error}`);
    if (flags['--json']) io.out(json(toJson([result], true)));
    if (result.fatal || (flags['--strict'] && incomplete(result))) {
      rmSync(output, { force: true });
      if (!flags['--json']) io.err(renderReport(result, style(io)));
      io.err(
        `sysgate: ${inv.output} would fail on the device (${result.summary.fatal} fatal${result.fatal ? '' : `; --strict: ${result.summary.warnings} depends, ${result.summary.unresolved} unresolved`}); removed it\n`,
      );
      return 1;
    }
    if (!flags['--quiet'] && !flags['--json'] && result.summary.warnings) io.err(renderReport(result, style(io)));
    return 0;
  },
};

/** cc reports on stderr (stdout is the compiler's), so it paints by stderr's terminal state. */
function style(out: Io): TextStyle {
  const io = errIo(out);
  return { bold: (t) => bold(io, t), red: (t) => red(io, t), green: (t) => green(io, t), yellow: (t) => yellow(io, t), dim: (t) => dim(io, t) };
}

function runCompiler(command: readonly string[], args: string[], io: Io): number {
  const [cmd, ...pre] = command;
  const r = spawnSync(cmd!, [...pre, ...args], { stdio: 'inherit', cwd: io.cwd });
  if (r.error) throw new InputError(`cannot run ${command.join(' ')}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  return r.status ?? 1;
}
