import { InputError } from '../../errors.ts';
import { checkPaths, checkPathsJson } from '../../check/walk.ts';
import { resolvePolicySet } from '../../policy/settings.ts';
import { renderText } from '../../check/report-text.ts';
import { toSarif } from '../../check/report-sarif.ts';
import { unpackJsonBytes } from '../../check/report-json.ts';
import { combineFirmwares, firmwaresIn, isFirmwareSpan, renderAcross, type AcrossFirmwares } from '../../check/firmwares.ts';
import { incomplete, isCheckError, type CheckResult } from '../../check/types.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, EXIT, green, red, yellow, type Command, type Io, writeJson, writeJsonBytes } from '../io.ts';
import { settings } from './common.ts';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const FORMATS = ['text', 'json', 'sarif'] as const;

export const checkCommand: Command = {
  name: 'check',
  help: `Usage: sysgate check FILE|DIR... --target T [--firmware V] [--sysroot DIR] [--format text|json|sarif]

Reads each ELF the way the device's kernel will meet it and reports every syscall it can
make, what the target does with it at firmware V, and what happens then. The arch comes
from the file. A directory is walked (files that are not ELF are skipped) and its files
are checked in parallel. Inside it symlinks are followed and each file and directory is
checked once (by inode, under the first name in byte order); names are read as bytes.
What a walk cannot read (permissions, dangling symlinks, paths past PATH_MAX, files that
vanish) is an error: exit 2.

What counts as a call:
  imports      undefined dynamic symbols (weak too), mapped through the libc knowledge base
               (glibc, musl) to syscalls on the file's arch, with their ENOSYS fallback chains
  start-up     what the C library and its loader do before main (version from GLIBC_x.y refs)
  sites        syscall instructions in the file (static binaries, libraries), named by function
  syscall()    calls to syscall() with a constant number, resolved at the call site
  --sysroot    DT_NEEDED libraries found under DIR (lib, usr/lib, lib/<triplet>,
               usr/lib/<triplet>), transitively; the C library itself is modelled, not scanned
  libraries    what a linked library does when its call fails, by SONAME (OpenSSL 3's
               libcrypto.so.3 seeding: no fallback; libpython3.11: /dev/urandom)

Verdicts (what the program experiences):
  allowed      the policy allows it
  falls-back   fails; the C library (or a linked library) falls back: an older call, /dev/urandom
  degrades     an advisory call fails and its callers carry on (rseq, posix_fadvise, sysconf's
               CPU count after sched_getaffinity)
  depends      fails and the error reaches the program; nothing known says whether it copes
               (a warning naming the call); every import the knowledge base does not model is
               one too                                                     (warning)
  breaks       fails and the error reaches code known to fail on it (OpenSSL 3's seeding) (fatal)
  dies         the process dies; how: killed (the filter kills it: CodeSafe < 13.7, the
               enclave), sigsys (a trap no library handles), aborts (the C library, loader or
               a linked library cannot go on)                               (fatal)

Options:
  --target T, --firmware V   as for generate (default firmware: the newest; or sysgate.config.json)
  --firmware all|A..B        the verdict at every firmware the target knows (or those from A to
                             B; A.. and ..B leave an end open) side by side, and the oldest one
                             the file survives on: "needs 13.7: on 13.5 it is killed at start-up
                             by set_robust_list". Exit 1 when it fails at any of them. JSON: per
                             file {file, target, verdicts [{firmware, pass, fatal, warnings,
                             unresolved, because}], needs, summary, reports [{firmware, report}]};
                             SARIF: one run per firmware (automationDetails.id names it)
  --sysroot DIR              follow DT_NEEDED into DIR and analyse those libraries too
  --libc-version X.Y         assume this C library version (default: the sysroot's libc.so.6,
                             else the file's highest GLIBC_ reference or the knowledge base's default)
  --format F                 text (default), json, sarif (SARIF 2.1.0 for code-scanning UIs)
  --json                     same as --format json
  --jobs N                   worker threads for directories (default and most: the available
                             cores, and at most one per 6 files)
  --quiet, -q                no progress on the terminal; text output lists failing files only
                             (progress goes to stderr, and only when stderr is a terminal)
  --color auto|always|never  colour in the text report (auto: stdout is a terminal, unless
                             NO_COLOR; FORCE_COLOR=1 colours a pipe too; TERM=dumb never)
  --strict                   also exit 1 on depends (a denied call nothing known says the program
                             copes with, an unmodelled import) and on anything unresolved (an
                             incomplete analysis)
  --delete-on-fatal          remove each file with a fatal finding (for build steps: a failed
                             check must not leave a binary that looks up to date)

JSON (check --json): {file, arch, target, firmware, defaultAction, static, type, library,
  libc, abiNote?, shim? (the sysgate shim linked in: target, firmware, arch, wrappers),
  syscalls, unresolved, unknownImports, libraries, summary, fatal} for one FILE; an
  array of them for several files or a directory. In detail:
  library (a shared library), libc {name, version, versionFrom, referenced, covered, notice?}, abiNote? (the
  target's numbers are another ABI's of the same kernel table: 32-bit ppc under the ppc64 list),
  syscalls [{name, nr, verdict (dies|breaks|depends|degrades|falls-back|allowed), how?
             (killed|sigsys|aborts, with dies), severity (fatal|warning|ok), action, outcome,
             condition?, reason?, fix?, via [...] (worst first, at most 12: one of each
             verdict and how among them), viasOmitted? (how many more ways reach it)}],
  via: {kind: import, symbol, version?, weak, role (chain|also|conditional|on-enosys), step?,
        next?, source} | {kind: startup, when, onEnosys, next?} | {kind: site, address,
        siteKind, function?, step?, next?} | {kind: "syscall()", address, function?} |
        {kind: library, when, source} (a linked library's recorded behaviour);
        each with library (null: the file itself), verdict, how?, detail?
        imports, sites and syscall() calls with span? {offset, length}: their bytes in
        that object (the instruction; the import's Elf_Sym entry)
  unresolved [{library, address, kind, function?, reason, span?}], unknownImports [name]
  (each a depends finding),
  libraries [{name, path?, status (analysed|libc|missing|error), neededBy}],
  summary {syscalls, denied, fatal, warnings (depends findings, unmodelled imports included),
  unresolved, unmodelled}, fatal.
  A file that could not be checked: no JSON at all (exit 2), its error line on stderr.

Exit codes: 0 nothing fatal, 1 a fatal finding (dies, breaks) in some file (--strict: or a
depends or unresolved one), 2 bad input (a file that could
not be checked: not an ELF, an arch the target lacks).

Examples:
  sysgate check build/app --target codesafe5 --firmware 13.7
  sysgate check build/app --target codesafe5 --firmware all
  sysgate check build/app --target codesafe5 --sysroot /usr/arm-linux-gnueabihf --json
  sysgate check out/ --target enclave-x86_64 --format sarif > check.sarif
`,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--target': String,
        '--firmware': String,
        '--sysroot': String,
        '--format': String,
        '--config': String,
        '--libc-version': String,
        '--jobs': String,
        '--json': Boolean,
        '--quiet': Boolean,
        '--delete-on-fatal': Boolean,
        '--strict': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-f': '--firmware',
        '-q': '--quiet',
        '-c': '--config',
        '-h': '--help',
        '-j': '--jobs',
      },
      argv,
      'check',
    );
    if (flags['--help']) return (io.out(this.help), 0);
    const paths = flags._;
    const format = flags['--json'] ? 'json' : (flags['--format'] ?? 'text');
    if (!(FORMATS as readonly string[]).includes(format)) throw new InputError(`unknown format '${format}' (expected ${FORMATS.join(', ')})`);
    if (paths.length === 0) throw new InputError(`missing FILE or DIR (see 'sysgate check --help')`);
    const jobsFlag = flags['--jobs'];
    // Digits only: '1e6', '0x10', '2.5', '' and '-1' are all refused, not reinterpreted.
    if (jobsFlag !== undefined && (!/^\d+$/.test(jobsFlag) || Number(jobsFlag) < 1))
      throw new InputError(`bad --jobs '${jobsFlag}': expected a whole number from 1 (more than the cores are not used)`);
    const jobs = jobsFlag === undefined ? undefined : Number(jobsFlag);
    const libcVersion = flags['--libc-version'];
    if (libcVersion !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(libcVersion)) throw new InputError(`bad --libc-version '${libcVersion}': expected e.g. 2.36`);
    const { target, firmware } = await settings({ ...flags, '--arch': undefined }, 'check', io);
    const quiet = !!flags['--quiet'];
    // Progress goes to stderr, so it is for stderr's terminal, whatever stdout is.
    const progress = !!io.errIsTTY && !quiet;
    let last = 0;
    const span = firmware !== undefined && isFirmwareSpan(firmware) ? firmwaresIn(target, firmware) : undefined;
    // Resolved once per firmware: the walk and its workers judge every file by this set.
    const walkOptions = {
      cwd: io.cwd,
      ...(flags['--sysroot'] ? { sysroot: resolve(io.cwd, flags['--sysroot']) } : {}),
      ...(libcVersion ? { libcVersion } : {}),
      ...(jobs !== undefined ? { jobs } : {}),
      ...(progress
        ? {
            onProgress: (done: number, total: number, file: string) => {
              const now = Date.now();
              if (done < total && now - last < 100) return;
              last = now;
              io.err(`\r\x1b[Kchecking ${done}/${total} ${file.length > 50 ? `...${file.slice(-47)}` : file}`);
              if (done === total) io.err('\r\x1b[K');
            },
          }
        : {}),
    };
    const runAt = (fw: string | undefined) => checkPaths(paths, resolvePolicySet(target, fw), walkOptions);
    if (span) {
      // One firmware after another: each run already uses every core for a directory.
      const perFirmware: CheckResult[][] = [];
      for (const fw of span) perFirmware.push(await runAt(fw));
      return reportSpan(io, span, perFirmware, paths, format, !!flags['--delete-on-fatal'], !!flags['--strict']);
    }
    const strict = !!flags['--strict'];
    const deleteOnFatal = !!flags['--delete-on-fatal'];
    if (format === 'json') {
      // The workers turn their reports into JSON text: no report crosses to this thread.
      const { results, single } = await checkPathsJson(paths, resolvePolicySet(target, firmware), walkOptions);
      const errors = results.filter((r) => r.error !== undefined);
      if (errors.length) {
        for (const e of errors) io.err(`sysgate: ${e.file}: ${e.error}\n`);
        return EXIT.usage;
      }
      writeJsonBytes(io, results.length, (i) => unpackJsonBytes(results[i]!.json), single);
      return failOn(
        io,
        results.filter((r) => r.fatal || (strict && r.incomplete)),
        deleteOnFatal,
      );
    }
    const results = await runAt(firmware);
    const errors = results.filter(isCheckError);
    // A machine reading JSON or SARIF must not take a partial log for the whole answer:
    // on exit 2 it gets nothing on stdout, only the error lines on stderr.
    if (errors.length && format !== 'text') {
      for (const e of errors) io.err(`sysgate: ${e.file}: ${e.error}\n`);
      return EXIT.usage;
    }
    if (format === 'sarif')
      writeJson(io, toSarif(results, { cwd: io.cwd }), 5); // down to each result
    else {
      // --quiet lists the files that fail: under --strict, those with depends or unresolved too.
      const shown = results.filter((r) => !isCheckError(r) && (!quiet || r.fatal || (!!flags['--strict'] && incomplete(r))));
      io.out(
        renderText(shown, {
          bold: (s) => bold(io, s),
          red: (s) => red(io, s),
          yellow: (s) => yellow(io, s),
          green: (s) => green(io, s),
          dim: (s) => dim(io, s),
        }),
      );
    }
    for (const e of errors) io.err(`sysgate: ${e.file}: ${e.error}\n`);
    if (errors.length) return EXIT.usage;
    return failOn(
      io,
      results.filter((r) => !isCheckError(r) && (r.fatal || (strict && incomplete(r)))),
      deleteOnFatal,
    );
  },
};

/** Exit 1 when files fail; with --delete-on-fatal each of them is removed first. */
function failOn(io: Io, failing: readonly { file: string }[], deleteOnFatal: boolean): number {
  if (deleteOnFatal) {
    // A build step that fails here must not leave a binary that a rebuild would take as done.
    for (const r of failing) {
      rmSync(resolve(io.cwd, r.file), { force: true });
      io.err(`sysgate: removed ${r.file}\n`);
    }
  }
  return failing.length ? EXIT.findings : EXIT.ok;
}

/**
 * --firmware all | A..B: the verdict at every firmware of the span side by side, and the oldest
 * firmware the file survives on. Exit 1 when a file fails at any firmware of the span (the span
 * is what the user asked to run on), 2 when a file could not be checked.
 */

function reportSpan(
  io: Io,
  firmwares: string[],
  perFirmware: CheckResult[][],
  paths: string[],
  format: string,
  deleteOnFatal: boolean,
  strict: boolean,
): number {
  const rows = combineFirmwares(firmwares, perFirmware);
  const ok = rows.filter((r): r is AcrossFirmwares => !isCheckError(r as CheckResult));
  const single = paths.length === 1 && rows.length === 1 && rows[0]!.file === paths[0];
  if (format === 'json') writeJson(io, single ? rows[0] : rows);
  else if (format === 'sarif') {
    // One SARIF run per firmware, told apart by automationDetails.
    const logs = perFirmware.map((rs, k) => {
      const log = toSarif(rs) as { runs: Record<string, unknown>[] };
      for (const run of log.runs) run.automationDetails = { id: `sysgate/check/${firmwares[k]}/` };
      return log;
    });
    writeJson(io, { ...logs[0]!, runs: logs.flatMap((l) => l.runs) }, 5);
  } else io.out(renderAcross(ok));
  const errors = rows.filter((r) => isCheckError(r as CheckResult)) as { file: string; error: string }[];
  for (const e of errors) io.err(`sysgate: ${e.file}: ${e.error}\n`);
  if (errors.length) return EXIT.usage;
  return failOn(
    io,
    ok.filter((r) => r.verdicts.some((v) => !v.pass || (strict && (v.warnings > 0 || v.unresolved > 0)))),
    deleteOnFatal,
  );
}
