import { join, relative, resolve } from 'node:path';
import { checkFile } from '../../check/file.ts';
import { InputError } from '../../errors.ts';
import { isCheckError, type CheckReport } from '../../check/types.ts';
import { generate, DEFAULT_FORMATS } from '../../generate.ts';
import { comparePolicies } from '../../policy/compat.ts';
import { resolveFirmwarePair } from '../../policy/settings.ts';
import { glibcRecovery } from '../../policy/libc-fixes.ts';
import { loadTarget } from '../../policy/load.ts';
import { resolvePolicy } from '../../policy/resolve.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { packageRoot } from '../../util/package-root.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, green, red, yellow, type Command, type Io } from '../io.ts';
import { policyJson } from './syscalls.ts';

export const demoCommand: Command = {
  name: 'demo',
  help: `Usage: sysgate demo [--out DIR]

Runs sysgate's main job on the bundled example, for CodeSafe 5 at firmware 13.7 on ARM:
  1. the allow list (170 vendor entries, what ARM lacks and what stands in for it),
  2. what changes for an app between firmware 13.5 and 13.7,
  3. the seccomp filter in every format and the libc shim, written to DIR (default ./sysgate-out),
  4. 'sysgate check' on two bundled ARM apps (examples/): one clean, one that loses its
     randomness on 13.7 and dies on 13.5.

Examples:
  npm start
  sysgate demo --out /tmp/sysgate-demo
`,
  async run(argv, io) {
    const flags = parseArgs({ '--out': String, '--help': Boolean, '-o': '--out', '-h': '--help' }, argv, 'demo');
    if (flags['--help']) return (io.out(this.help), 0);
    const target = await loadTarget('codesafe5');
    const policy = resolvePolicy(target, { firmware: '13.7', arch: 'arm' });
    const summary = policyJson(policy);
    const h = (t: string) => io.out(`\n${bold(io, t)}\n`);

    h('1. The CodeSafe 5 allow list at firmware 13.7 on ARM');
    io.out(
      `   ${summary.counts.listed} syscalls listed by the vendor; ${summary.counts.rules} syscall numbers allowed on arm ` +
        `(${summary.counts.family} stand in for names ARM lacks, ${summary.counts.essential} arch essential: set_tls)\n`,
    );
    io.out(
      `   not on ARM: ${policy.absent.map((a) => `${a.name}${a.replacedBy.length === 1 ? ` -> ${a.replacedBy[0]}` : a.replacedBy.length ? ` -> ${a.replacedBy.length} calls` : ''}`).join(', ')}\n`,
    );
    io.out(`   anything else: ${summary.defaultAction}; another arch: ${summary.foreignArchAction}\n`);
    io.out(dim(io, '   sysgate syscalls --target codesafe5 --firmware 13.7 --arch arm\n'));

    h('2. What changes between firmware 13.5 and 13.7');
    const c = comparePolicies(...resolveFirmwarePair(target, '13.5', '13.7', 'arm'), glibcRecovery);
    io.out(`   default action ${c.defaultAction.from} -> ${c.defaultAction.to}; ${c.added.length} calls newly allowed, ${c.removed.length} removed\n`);
    for (const s of c.summary) io.out(`   ${s}\n`);
    io.out(dim(io, '   sysgate compat --target codesafe5 --from 13.5 --to 13.7\n'));

    h('3. Filters and shim for codesafe5 13.7 arm');
    // The demo prints its story on stdout: its files need a directory ('-' is refused, not made).
    if (flags['--out'] === '-') throw new InputError('--out -: the demo writes several files; give a directory');
    const out = resolve(io.cwd, flags['--out'] ?? 'sysgate-out');
    const [g] = generate(target, { firmware: '13.7', arches: ['arm'], formats: [...DEFAULT_FORMATS, 'shim'] });
    writeFilesAtomic(out, g!.files);
    io.out(`   ${g!.stats.length} BPF instructions, worst path ${g!.stats.worstPath}; wrote to ${relative(io.cwd, out) || '.'}/:\n`);
    for (const f of g!.files) io.out(`     ${f.name}\n`);
    io.out(dim(io, '   sysgate generate --target codesafe5 --firmware 13.7 --arch arm --format bpf,c,oci,systemd,libseccomp,asm,shim\n'));

    h('4. Checking the bundled ARM apps');
    const examples = join(packageRoot(), 'examples/bin');
    for (const [app, fw] of [
      ['sensor-log.arm', '13.7'],
      ['keygen.arm', '13.7'],
      ['keygen.arm', '13.5'],
      ['sensor-log.arm', '13.5'],
    ] as const) {
      const r = checkFile(join(examples, app), `examples/bin/${app}`, target, { firmware: fw }, true);
      if (!r || isCheckError(r)) throw new Error(`cannot check the bundled ${app}`);
      io.out(`   ${line(r, app, fw, io)}\n`);
    }
    io.out(
      `   keygen exits on that error; the shim fixes it on 13.7 (getentropy reads /dev/urandom): sysgate cc --target codesafe5 -- arm-linux-gnueabihf-gcc ...\n`,
    );
    io.out(`   On 13.5 even a clean glibc app dies at start-up: rseq and set_robust_list kill it there.\n`);
    io.out(dim(io, '   sysgate check examples/bin --target codesafe5 --firmware 13.7\n'));
    return 0;
  },
};

function line(r: CheckReport, app: string, fw: string, io: Io): string {
  // What the app itself asks for first (imports), then what libc does on its behalf.
  const direct = (f: CheckReport['syscalls'][number]) => (f.via.some((v) => v.kind === 'import' && v.role === 'chain') ? 0 : 1);
  const fatal = r.syscalls.filter((f) => f.severity === 'fatal').sort((a, b) => direct(a) - direct(b));
  const head = `${app.padEnd(15)} firmware ${fw}: `;
  if (!fatal.length) {
    // A pass whose denied calls reach the program names them: what --strict fails on.
    const depends = r.syscalls.filter((f) => f.verdict === 'depends').map((f) => f.name);
    const w = r.summary.warnings;
    return (
      `${head}${green(io, 'PASS')} (${r.summary.syscalls} syscalls; ${r.summary.denied} denied, none fatal${w ? `; ${w} warning${w === 1 ? '' : 's'}` : ''})` +
      (depends.length
        ? ` ${yellow(io, `but ${depends.join(', ')} ${depends.length === 1 ? 'fails and its error reaches' : 'fail and their errors reach'} the program (depends)`)}`
        : '')
    );
  }
  const what = fatal.map(
    (f) =>
      `${f.name} ${f.how === 'sigsys' ? 'raises SIGSYS' : f.how === 'killed' ? 'kills the process' : f.how === 'aborts' ? 'aborts the process' : 'breaks the code it reaches'}`,
  );
  return `${head}${red(io, 'FAIL')} ${yellow(io, what.slice(0, 3).join(', '))}${what.length > 3 ? ` and ${what.length - 3} more` : ''}`;
}
