/** The CLI as a function: argv in, exit code out. Only main.ts touches the process. */
import { DiagnosticsError, InputError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { COMMANDS } from './commands/index.ts';
import { COLOR_MODES, EXIT, wantColor, type ColorMode, type Io } from './io.ts';
import { VERSION } from '../version.ts';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `sysgate ${VERSION}: syscall allow lists for CodeSafe 5 HSM apps and enclave jails, at build time

Usage: sysgate <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options for every command:
  --color auto|always|never   colour in text output (default auto: a terminal, unless NO_COLOR
                              is set; FORCE_COLOR=1 colours a pipe too, TERM=dumb never).
                              Each stream by its own state: stdout's text by stdout, progress
                              and messages on stderr by stderr.

Run 'sysgate <command> --help' for a command's options and examples.
Exit codes: 0 success, 1 findings, 2 usage or input error.
`;
}

/**
 * Takes the global --color flag out of argv (anywhere before a '--', after which the words
 * belong to another program, as in 'sysgate cc -- gcc ...') and applies it to both streams.
 */
function applyColorFlag(argv: string[], io: Io): { argv: string[]; io: Io } {
  const rest: string[] = [];
  let mode: ColorMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    let value: string | undefined;
    if (a === '--color') {
      value = argv[++i];
      if (value === undefined) throw new InputError(`--color needs a value: ${COLOR_MODES.join(', ')}`);
    } else if (a.startsWith('--color=')) value = a.slice('--color='.length);
    else {
      rest.push(a);
      continue;
    }
    if (!(COLOR_MODES as readonly string[]).includes(value)) throw new InputError(`bad --color '${value}': expected ${COLOR_MODES.join(', ')}`);
    mode = value as ColorMode;
  }
  if (mode === undefined) return { argv, io };
  return { argv: rest, io: { ...io, color: wantColor(io.isTTY, io.env, mode), errColor: wantColor(!!io.errIsTTY, io.env, mode) } };
}

export async function run(argvIn: string[], ioIn: Io): Promise<number> {
  let argv = argvIn;
  let io = ioIn;
  try {
    ({ argv, io } = applyColorFlag(argvIn, ioIn));
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    io.err(`sysgate: ${e.message}\n`);
    return EXIT.usage;
  }
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
      throw new InputError(
        `unknown command '${first}'${didYouMean(
          first,
          COMMANDS.map((c) => c.name),
        )}; run 'sysgate --help'`,
      );
    }
    return await (await command.load()).run(rest, io);
  } catch (e) {
    if (e instanceof DiagnosticsError) {
      for (const d of e.diagnostics) io.err(`sysgate: ${d.file}${d.pointer ? `#${d.pointer}` : ''}: ${d.message}\n`);
      // One problem is one line; several get a count after them.
      if (e.diagnostics.length > 1) {
        const files = [...new Set(e.diagnostics.map((d) => d.file))].join(', ');
        io.err(`sysgate: ${e.diagnostics.length} problems in ${files}; nothing written\n`);
      }
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
