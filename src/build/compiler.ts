/** What a compiler command line does, and which arch a compiler builds for. */
import { spawnSync } from 'node:child_process';
import { InputError } from '../errors.ts';
import { lookupArch, type ArchInfo } from '../syscalls/arches.ts';

/** Options after which the driver does not link. */
const NO_LINK = new Set(['-c', '-E', '-S', '-M', '-MM', '-fsyntax-only', '--version', '-v', '--help', '-dumpmachine', '-dumpversion', '-dumpspecs']);

export interface CompilerInvocation {
  compiler: string;
  args: string[];
  /** True when this command links an executable or shared object. */
  links: boolean;
  /** The linked file (-o, else a.out), when it links. */
  output?: string;
  shared: boolean;
}

export function parseInvocation(argv: readonly string[]): CompilerInvocation {
  const [compiler, ...args] = argv;
  if (!compiler) throw new InputError("give the compiler command after '--', e.g. sysgate cc --target codesafe5 -- arm-linux-gnueabihf-gcc -o app main.c");
  const noLink = args.some((a) => NO_LINK.has(a) || a.startsWith('-print-'));
  const inputs = args.filter((a, i) => !a.startsWith('-') && !takesValue(args[i - 1]));
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-o') output = args[i + 1];
    else if (a.startsWith('-o') && a.length > 2) output = a.slice(2);
  }
  const links = !noLink && inputs.length > 0;
  return { compiler, args: [...args], links, ...(links ? { output: output ?? 'a.out' } : {}), shared: args.includes('-shared') };
}

/** Options whose value is the next argument (so the value is not an input file). */
function takesValue(prev: string | undefined): boolean {
  return prev !== undefined && ['-o', '-I', '-L', '-l', '-D', '-U', '-include', '-isystem', '-x', '-MF', '-MT', '-MQ', '-T', '-Xlinker', '--sysroot', '-isysroot', '-idirafter', '-iquote', '-imacros', '-B'].includes(prev);
}

/** The arch of `compiler -dumpmachine` (arm-linux-gnueabihf -> arm, ...). */
export function compilerArch(compiler: string): ArchInfo {
  const r = spawnSync(compiler, ['-dumpmachine'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new InputError(`cannot run '${compiler} -dumpmachine'${r.error ? ` (${(r.error as NodeJS.ErrnoException).code})` : ''}: is it a GCC or Clang driver on PATH?`);
  }
  const triplet = r.stdout.trim();
  const cpu = triplet.split('-')[0] ?? '';
  const name = /^arm/.test(cpu) ? 'arm' : /^powerpc64/.test(cpu) ? 'ppc64' : /^(powerpc|ppc)$/.test(cpu) ? 'ppc' : /^i[3-6]86$/.test(cpu) ? 'i386' : cpu;
  const arch = lookupArch(name);
  if (!arch) throw new InputError(`'${compiler}' builds for ${triplet}, an arch sysgate does not know`);
  return arch;
}
