import { resolve } from 'node:path';
import { auditFilter, decodeFilter, disassemble, formatAudit, runFilter } from '../../bpf/index.ts';
import { InputError } from '../../errors.ts';
import { formatAction, describeOutcome } from '../../policy/action.ts';
import { lookupArch, ARCH_NAMES, type ArchInfo } from '../../syscalls/arches.ts';
import { allSyscallNames, syscallName, syscallNumber, tableMax } from '../../syscalls/table.ts';
import { MAX_FILTER_BYTES, readRegularFile } from '../../util/read-input.ts';
import { didYouMean } from '../../util/suggest.ts';
import { parseArgs, requireFlag } from '../args.ts';
import { json, red, type Command, type Io } from '../io.ts';

const HELP = `Usage: sysgate bpf <disasm|run|audit> FILE --arch A [options]

Tools for any raw seccomp filter (an array of struct sock_filter in the arch's byte order),
whether sysgate made it or not.

  sysgate bpf disasm FILE --arch A [--json]
      readable listing: loads, jumps with targets, syscall names, actions
  sysgate bpf run FILE --arch A --syscall NAME|NR [--args A0,A1,...] [--audit-arch A2] [--json]
      run the filter in sysgate's emulator (checked against the kernel in the tests) and
      print the action, the path taken and its length
  sysgate bpf audit FILE --arch A [--json]
      arch check first, foreign arches denied, x32 guarded (x86_64), default action,
      every unconditional allow cacheable by the kernel (Linux >= 5.11), size.
      Exit 1 when it finds a problem.

JSON (bpf disasm --json): {arch, length, instructions: [{pc, code, jt, jf, k, text (the
  listing's line without the pc)}]}
JSON (bpf run --json): {nr, name (null: not a syscall on the arch), arch, action, ret (the
  32-bit return value), steps, path (the pcs taken)}
JSON (bpf audit --json): {arch, length, valid, loadsArchFirst, foreignArchAllowed,
  x32Guarded, skipNr, defaultAction, defaultRet, cache, unconditionalAllowsCacheable,
  problems, notes}

Examples:
  sysgate generate -t codesafe5 -a arm --format bpf -o out && sysgate bpf audit out/codesafe5-13.7-arm.bpf --arch arm
  sysgate bpf run out/codesafe5-13.7-arm.bpf --arch arm --syscall getrandom
  sysgate bpf run out/codesafe5-13.7-arm.bpf --arch arm --syscall nice --args 0xffffffff
`;

function archFlag(value: string | undefined): ArchInfo {
  const a = requireFlag(value, '--arch', 'bpf');
  const info = lookupArch(a);
  if (!info) throw new InputError(`unknown arch '${a}'${didYouMean(a, ARCH_NAMES)}; known: ${ARCH_NAMES.join(', ')}`);
  return info;
}

function readFilter(file: string | undefined, arch: ArchInfo, io: Io) {
  if (!file) throw new InputError("name a filter file (see 'sysgate bpf --help')");
  const path = resolve(io.cwd, file);
  // A filter is at most 4096 instructions: a FIFO, a device or anything bigger is refused at once.
  const bytes = readRegularFile(path, 'filter', MAX_FILTER_BYTES);
  try {
    return decodeFilter(bytes, arch.endian);
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
}

function parseNumber(s: string, what: string): bigint {
  const t = s.trim();
  if (/^-\d+$/.test(t)) return BigInt.asUintN(64, BigInt(t));
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const v = BigInt(t);
    if (v <= 0xffffffffffffffffn) return v;
  }
  throw new InputError(`bad ${what} '${s}' (decimal, -decimal or 0x hex, up to 64 bits)`);
}

function syscallArg(s: string, arch: ArchInfo): number {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) {
    const n = Number(s);
    if (n > 0xffffffff) throw new InputError(`syscall number ${s} does not fit 32 bits`);
    return n;
  }
  const nr = syscallNumber(arch.name, s);
  if (nr !== null) return nr;
  throw new InputError(`'${s}' is not a syscall on ${arch.name}${didYouMean(s, allSyscallNames())}`);
}

export const bpfCommand: Command = {
  name: 'bpf',
  help: HELP,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--arch': String,
        '--syscall': String,
        '--args': String,
        '--audit-arch': String,
        '--json': Boolean,
        '--help': Boolean,
        '-a': '--arch',
        '-s': '--syscall',
        '-h': '--help',
      },
      argv,
      'bpf',
    );
    const [sub, file, ...extra] = flags._;
    if (flags['--help'] || !sub) return (io.out(HELP), flags['--help'] ? 0 : 2);
    if (extra.length) throw new InputError(`unexpected argument '${extra[0]}' (see 'sysgate bpf --help')`);
    const arch = archFlag(flags['--arch']);
    const insns = readFilter(file, arch, io);
    const names = (nr: number) => syscallName(arch.name, nr);
    switch (sub) {
      case 'disasm': {
        const listing = disassemble(insns, { endian: arch.endian, nrName: names });
        if (!flags['--json']) return (io.out(listing), 0);
        // One listing line per instruction, "pc: text"; the JSON keeps the text and the raw fields.
        const lines = listing.split('\n');
        io.out(
          json({
            arch: arch.name,
            length: insns.length,
            instructions: insns.map((ins, pc) => ({ pc, code: ins.code, jt: ins.jt, jf: ins.jf, k: ins.k >>> 0, text: lines[pc]!.replace(/^\s*\d+: /, '') })),
          }),
        );
        return 0;
      }
      case 'run': {
        const nr = syscallArg(requireFlag(flags['--syscall'], '--syscall', 'bpf run'), arch);
        const args = (flags['--args'] ?? '')
          .split(',')
          .filter((x) => x.trim() !== '')
          .map((x) => parseNumber(x, 'argument'));
        if (args.length > 6) throw new InputError('at most 6 arguments');
        const other = flags['--audit-arch'] ? archFlag(flags['--audit-arch']) : arch;
        const r = runFilter(insns, { nr, arch: other.auditArch, args }, arch.endian);
        if (flags['--json']) {
          io.out(json({ nr, name: names(nr) ?? null, arch: other.name, action: formatAction(r.action), ret: r.ret, steps: r.steps, path: r.path }));
        } else {
          io.out(`${names(nr) ?? `nr ${nr}`} on ${other.name}: ${formatAction(r.action)}: the call ${describeOutcome(r.action)}\n`);
          io.out(`  ${r.steps} instructions: ${r.path.join(' -> ')}\n`);
        }
        return 0;
      }
      case 'audit': {
        const report = auditFilter(insns, arch, { tableMax: Math.min(tableMax(arch.name), 4095) });
        if (flags['--json']) io.out(json(report));
        else {
          const text = formatAudit(report);
          io.out(report.problems.length ? text.replace(/^(.*problem.*)$/gim, (l) => red(io, l)) : text);
        }
        return report.problems.length ? 1 : 0;
      }
      default:
        throw new InputError(`unknown bpf command '${sub}'${didYouMean(sub, ['disasm', 'run', 'audit'])} (disasm, run, audit)`);
    }
  },
};
