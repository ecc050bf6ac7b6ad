/**
 * What a compiler command line does, and which arch a compiler builds for.
 *
 * The pass-through rule here has a twin in POSIX sh, bin/sysgate-cc, which decides before Node
 * starts (a compile step must not pay Node's start-up). test/cc-rule.test.ts runs one table of
 * command lines through both: change them together.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { ARCH_NAMES, ARCHES, lookupArch, type ArchInfo } from '../syscalls/arches.ts';
import { readRegularText } from '../util/read-input.ts';

/** Options after which the driver does not link (-MD/-MMD do link: they only add a .d file). */
const NO_LINK = new Set(['-c', '-E', '-S', '-M', '-MM', '-fsyntax-only', '--version', '--help', '-dumpmachine', '-dumpversion', '-dumpspecs']);

/** Linker options that make a relocatable object (a partial link), given through -Wl, or -Xlinker. */
const LD_PARTIAL = new Set(['-r', '--relocatable', '-i']);

/** Options whose value is the next argument (so the value is not an input file). */
const TAKES_VALUE = new Set([
  '-o',
  '-I',
  '-L',
  '-l',
  '-D',
  '-U',
  '-u',
  '-e',
  '-z',
  '-include',
  '-imacros',
  '-isystem',
  '-idirafter',
  '-iquote',
  '-iprefix',
  '-iwithprefix',
  '-iwithprefixbefore',
  '-imultilib',
  '-isysroot',
  '--sysroot',
  '-x',
  '-MF',
  '-MT',
  '-MQ',
  '-T',
  '-B',
  '-Xlinker',
  '-Xassembler',
  '-Xpreprocessor',
  '--param',
  '-aux-info',
  '-dumpbase',
  '-dumpdir',
]);

/** Launchers that run the compiler named after them: skipped to find it. */
const LAUNCHERS = new Set(['ccache', 'distcc', 'sccache', 'icecc']);

/** Response files nest (gcc expands @file inside @file): a bound against a file that names itself. */
const MAX_RESPONSE_DEPTH = 8;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface CompilerInvocation {
  /** What runs the user's command: launchers and env assignments, then the compiler. */
  command: string[];
  /**
   * The compiler with the env part of the launchers but without ccache/distcc/...: what runs
   * -dumpmachine, compiles the shim (cached by sysgate itself) and probes the linker.
   */
  driver: string[];
  compiler: string;
  args: string[];
  /** True when this command links an executable or shared object (so it is checked). */
  links: boolean;
  /** The linked file (-o, else a.out), when it links. */
  output?: string;
  /** -shared: links a shared object, which never gets the shim (see cc's help). */
  shared: boolean;
  /** -r: a partial link, whose output is an object: passed through like a compile step. */
  partial: boolean;
}

export function parseInvocation(argv: readonly string[], cwd = process.cwd()): CompilerInvocation {
  const { command, driver } = splitLaunchers(argv);
  const compiler = command[command.length - 1]!;
  const args = argv.slice(command.length);
  const seen = expandResponseFiles(args, cwd, 0);
  let noLink = false;
  let partial = false;
  let inputs = 0;
  let output: string | undefined;
  for (let i = 0; i < seen.length; i++) {
    const a = seen[i]!;
    if (TAKES_VALUE.has(a)) {
      const v = seen[++i];
      if (a === '-o') output = v;
      if (a === '-Xlinker' && v !== undefined && LD_PARTIAL.has(v)) partial = true;
      continue;
    }
    if (NO_LINK.has(a) || a.startsWith('-print-') || a.startsWith('--print-')) noLink = true;
    else if (a === '-r' || a === '--relocatable') partial = true;
    else if (
      a.startsWith('-Wl,') &&
      a
        .slice(4)
        .split(',')
        .some((w) => LD_PARTIAL.has(w))
    )
      partial = true;
    else if (a.startsWith('-o') && a.length > 2) output = a.slice(2);
    else if (a === '-' || !a.startsWith('-')) inputs++;
  }
  const links = !noLink && !partial && inputs > 0;
  return { command, driver, compiler, args, links, ...(links ? { output: output ?? 'a.out' } : {}), shared: seen.includes('-shared'), partial };
}

/**
 * Splits `env [-i] [-u NAME] [VAR=val...] ccache gcc ...` into the launcher prefix and the
 * compiler. env's other options (-C, -S, ...) are refused rather than guessed at.
 */
function splitLaunchers(argv: readonly string[]): { command: string[]; driver: string[] } {
  const driver: string[] = [];
  let inEnv = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const base = a.slice(a.lastIndexOf('/') + 1);
    if (inEnv && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) driver.push(a);
    else if (inEnv && (a === '-u' || a === '--unset')) driver.push(a, argv[++i] ?? '');
    else if (inEnv && (a === '-i' || a === '-' || a === '--ignore-environment' || a.startsWith('--unset='))) driver.push(a);
    else if (inEnv && a.startsWith('-'))
      throw new InputError(`sysgate cc: env option '${a}' is not supported before the compiler (use -i, -u NAME or NAME=VALUE)`);
    else if (base === 'env') {
      inEnv = true;
      driver.push(a);
    } else if (LAUNCHERS.has(base)) {
      if (argv[i + 1]?.startsWith('-')) throw new InputError(`sysgate cc: give ${base} the compiler right after it (${base} ${argv[i + 1]} is not a compile)`);
    } else {
      driver.push(a);
      return { command: argv.slice(0, i + 1), driver };
    }
  }
  throw new InputError("give the compiler command after '--', e.g. sysgate cc --target codesafe5 -- arm-linux-gnueabihf-gcc -o app main.c");
}

/** The arguments with gcc's @file expanded, only to decide what the command does. */
function expandResponseFiles(args: readonly string[], cwd: string, depth: number): string[] {
  if (!args.some((a) => a.startsWith('@'))) return [...args];
  const out: string[] = [];
  for (const a of args) {
    const path = a.startsWith('@') && a.length > 1 ? resolve(cwd, a.slice(1)) : undefined;
    // gcc takes a missing @file as a plain argument, so do we.
    if (!path || !existsSync(path)) {
      out.push(a);
      continue;
    }
    if (depth >= MAX_RESPONSE_DEPTH) throw new InputError(`${a.slice(1)}: response files nested more than ${MAX_RESPONSE_DEPTH} deep`);
    out.push(...expandResponseFiles(splitResponseFile(readRegularText(path, 'response file', MAX_RESPONSE_BYTES)), cwd, depth + 1));
  }
  return out;
}

/** libiberty's buildargv: whitespace separates, '…' and "…" quote, backslash escapes one character. */
export function splitResponseFile(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (quote) {
      if (c === quote) quote = '';
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The arch of `compiler -dumpmachine` (arm-linux-gnueabihf -> arm, ...). */
export function compilerArch(driver: readonly string[]): ArchInfo {
  const [cmd, ...pre] = driver;
  const r = spawnSync(cmd!, [...pre, '-dumpmachine'], { encoding: 'utf8' });
  const shown = driver.join(' ');
  if (r.error || r.status !== 0) {
    throw new InputError(
      `cannot run '${shown} -dumpmachine'${r.error ? ` (${(r.error as NodeJS.ErrnoException).code})` : ''}: is it a GCC or Clang driver on PATH?`,
    );
  }
  const triplet = r.stdout.trim();
  const cpu = triplet.split('-')[0] ?? '';
  // Tried in ARCH_NAMES order: arm's /^arm/ comes first, so it also takes an arm64 CPU field (as before).
  const arch = ARCH_NAMES.map((n) => ARCHES[n]).find((a) => a.gnuCpu.test(cpu)) ?? lookupArch(cpu);
  if (!arch) throw new InputError(`'${shown}' builds for ${triplet}, an arch sysgate does not know`);
  return arch;
}
