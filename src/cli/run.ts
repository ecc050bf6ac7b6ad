/** The CLI as a function: argv in, exit code out. Only main.ts touches the process. */
import { DiagnosticsError, InputError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { COMMANDS } from './commands/index.ts';
import { EXIT, type Io } from './io.ts';
import { VERSION } from '../version.ts';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `sysgate ${VERSION}: syscall allow lists for CodeSafe 5 HSM apps and enclave jails, at build time

Usage: sysgate <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'sysgate <command> --help' for a command's options and examples.
Exit codes: 0 success, 1 findings, 2 usage or input error.
`;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && rest[0]) return run([rest[0], '--help'], io);
    io.out(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-v' || first === '-V') {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === first);
  try {
    if (!command) {
      throw new InputError(`unknown command '${first}'${didYouMean(first, COMMANDS.map((c) => c.name))}; run 'sysgate --help'`);
    }
    return await (await command.load()).run(rest, io);
  } catch (e) {
    if (e instanceof DiagnosticsError) {
      for (const d of e.diagnostics) io.err(`sysgate: ${d.file}${d.pointer ? `#${d.pointer}` : ''}: ${d.message}\n`);
      const files = [...new Set(e.diagnostics.map((d) => d.file))].join(', ');
      io.err(`sysgate: ${e.diagnostics.length} problem${e.diagnostics.length === 1 ? '' : 's'} in ${files}; nothing written\n`);
      return EXIT.usage;
    }
    if (e instanceof InputError) {
      io.err(`sysgate: ${e.message}\n`);
      return EXIT.usage;
    }
    const err = e as Error;
    io.err(`sysgate: internal error: ${err?.stack ?? String(e)}\nPlease report it with the command line that caused it.\n`);
    return EXIT.internal;
  }
}
