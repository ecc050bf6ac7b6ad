import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilerArch, parseInvocation } from '../../build/compiler.ts';
import { defaultCacheDir, shimObject } from '../../build/shim-cache.ts';
import { checkFile } from '../../check/file.ts';
import { renderReport, type TextStyle } from '../../check/report-text.ts';
import { toJson } from '../../check/report-json.ts';
import { isCheckError } from '../../check/types.ts';
import { InputError } from '../../errors.ts';
import { resolvePolicy } from '../../policy/resolve.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, errIo, green, json, red, yellow, type Command, type Io } from '../io.ts';
import { settings } from './common.ts';

export const ccCommand: Command = {
  name: 'cc',
  help: `Usage: sysgate cc [--target T] [--firmware V] [--sysroot DIR] [--no-shim] [--no-check] [--sigsys] [--json] -- COMPILER ARGS...

Runs the real compiler. When the command links, sysgate first adds the libc shim for the
target, firmware and the compiler's arch (generated and compiled once into a cache directory:
$SYSGATE_CACHE_DIR, else $XDG_CACHE_HOME/sysgate or ~/.cache/sysgate) with its link flags,
then checks the linked file. Compile-only steps (-c, -E, -S, -M) pass through untouched.

Exit status: the compiler's when it fails; 1 when the check finds a call that would kill the
app or break with no fallback on the device (the output file is then removed, so a rebuild
runs the check again); otherwise 0. Settings not given come from sysgate.config.json.

  --json   print the check of the linked file on stdout instead of the text report on
           stderr (nothing for compile-only steps or with --no-check)

JSON (cc --json): {file, arch, target, firmware, defaultAction, static, type, library, libc,
  syscalls, unresolved, unknownImports, libraries, summary, fatal}: the object
  'sysgate check --json' prints for one file (see 'sysgate check --help')

Examples:
  sysgate cc --target codesafe5 --firmware 13.7 -- arm-linux-gnueabihf-gcc -O2 -o app main.c
  make CC="sysgate cc --target codesafe5 --firmware 13.7 -- arm-linux-gnueabihf-gcc"
`,
  async run(argv, io) {
    const flags = parseArgs({
      '--target': String, '--firmware': String, '--sysroot': String, '--config': String,
      '--no-shim': Boolean, '--no-check': Boolean, '--sigsys': Boolean, '--quiet': Boolean, '--json': Boolean, '--help': Boolean,
      '-t': '--target', '-f': '--firmware', '-c': '--config', '-q': '--quiet', '-h': '--help',
    }, argv, 'cc');
    if (flags['--help']) return io.out(this.help), 0;
    const inv = parseInvocation(flags._);
    if (!inv.links) return runCompiler(inv.compiler, inv.args, io);

    const s = await settings({ ...flags, '--arch': undefined }, 'cc', io);
    const arch = compilerArch(inv.compiler);
    const policy = resolvePolicy(s.target, { ...(s.firmware !== undefined ? { firmware: s.firmware } : {}), arch: arch.name });
    const useShim = !flags['--no-shim'] && (s.config.shim ?? true) && !inv.shared;
    let args = inv.args;
    if (useShim) {
      const shim = shimObject(policy, inv.compiler, defaultCacheDir(io.env), { sigsys: !!flags['--sigsys'] });
      if (shim.built && !flags['--quiet']) io.err(dim(errIo(io), `sysgate: built the shim for ${s.target.id} ${policy.firmware ?? ''} ${arch.name}: ${shim.object}\n`));
      args = [...args, shim.object, ...shim.ldflags];
    }
    const status = runCompiler(inv.compiler, args, io);
    if (status !== 0 || flags['--no-check']) return status;

    const output = resolve(io.cwd, inv.output!);
    const sysroot = flags['--sysroot'] ? resolve(io.cwd, flags['--sysroot']) : s.config.sysroot;
    const result = checkFile(output, inv.output!, s.target, { ...(s.firmware !== undefined ? { firmware: s.firmware } : {}), ...(sysroot ? { sysroot } : {}) }, true);
    if (!result) throw new InputError(`${inv.output}: the linked file is not an ELF file`);
    if (isCheckError(result)) throw new InputError(`${inv.output}: ${result.error}`);
    if (flags['--json']) io.out(json(toJson([result], true)));
    if (result.fatal) {
      rmSync(output, { force: true });
      if (!flags['--json']) io.err(renderReport(result, style(io)));
      io.err(`sysgate: ${inv.output} would fail on the device (${result.summary.fatal} fatal); removed it\n`);
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

function runCompiler(compiler: string, args: string[], io: Io): number {
  const r = spawnSync(compiler, args, { stdio: 'inherit', cwd: io.cwd });
  if (r.error) throw new InputError(`cannot run ${compiler}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  return r.status ?? 1;
}
