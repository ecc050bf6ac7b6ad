/**
 * SARIF 2.1.0 output for code-scanning UIs (GitHub code scanning, VS Code SARIF viewer):
 * one run, one rule per verdict (a death's rule per how), one result per denied syscall and per
 * unmodelled import of each file (level error for dies and breaks, warning for depends, unmodelled
 * imports and unresolved sites, note for falls-back and degrades).
 *
 * Beyond the schema it keeps GitHub's upload rules (checked in the tests with Microsoft's SARIF
 * Multitool, GitHub rule kind): every rule has `help`; every result a `region`, which in a
 * binary is bytes (`byteOffset`/`byteLength` of the site's instruction or the import's
 * Elf_Sym entry, the ELF identification when the call has no bytes of its own, such as the C
 * library's start-up); absolute paths are `file://` URIs, relative ones carry the
 * `SRCROOT` uriBaseId (the working directory, given in `originalUriBaseIds`); and each result's
 * partial fingerprint names the file, so the same call in two binaries is two alerts.
 */
import { pathToFileURL } from 'node:url';
import { VERSION } from '../version.ts';
import { describeVia } from './report-text.ts';
import type { ByteSpan } from './span.ts';
import { isCheckError, type CheckReport, type CheckResult, type Finding } from './types.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** The uriBaseId of relative paths: the directory sysgate ran in (the repository root in CI). */
export const URI_BASE = 'SRCROOT';

/** Bumped only when the fingerprint's recipe changes (GitHub then sees new alerts). */
const FINGERPRINT = 'sysgateFinding/v1';

interface Rule {
  id: string;
  name: string;
  short: string;
  full: string;
  /** What to do about it: GitHub shows it beside each alert (and refuses rules without it). */
  help: string;
  level: 'error' | 'warning' | 'note';
}

const RULES: Rule[] = [
  {
    id: 'SG001',
    name: 'killed',
    short: 'The filter kills the process',
    full: 'The program dies: the target kills a process that makes this syscall.',
    help: "Remove the call from the program, or from the library that makes it (the result's message names the import or the instruction). If the target should allow it, add it to the target file and regenerate the filter. 'sysgate explain --target T NAME' says why the target kills it.",
    level: 'error',
  },
  {
    id: 'SG002',
    name: 'sigsys',
    short: 'The syscall raises SIGSYS',
    full: 'The program dies: the target raises SIGSYS for this syscall, and libraries do not fall back on a signal.',
    help: "A trapping target raises SIGSYS where an errno would let the C library fall back. Remove the call, or link the sysgate shim with --sigsys ('sysgate shim --sigsys') so calls made inside the C library get their fallback instead.",
    level: 'error',
  },
  {
    id: 'SG003',
    name: 'aborts',
    short: 'The code cannot go on',
    full: 'The program dies: the syscall fails where the C library, the loader or a linked library (Node) treats failure as fatal.',
    help: "The C library (or the loader, or a linked library) cannot continue when this call fails: the process dies. Allow the call in the target, or avoid the code path (for example a static build without the feature). 'sysgate explain' shows what the C library does.",
    level: 'error',
  },
  {
    id: 'SG004',
    name: 'breaks',
    short: 'Denied, and the code it reaches fails',
    full: 'The syscall fails and the error reaches code known to fail on it (a linked library with no fallback, such as OpenSSL 3 seeding its random generator).',
    help: "The call fails and the code it reaches is known to fail on it: the feature that needs it breaks. Link the sysgate libc shim ('sysgate cc' or 'sysgate shim'), which maps denied calls to allowed ones where it can, or use a build of the library with a fallback the target allows.",
    level: 'error',
  },
  {
    id: 'SG005',
    name: 'depends',
    short: 'Denied, whether the program copes is not known',
    full: 'The syscall fails and the error reaches the program; nothing known says whether it copes.',
    help: 'The call fails and the error reaches the program; nothing known says whether it copes. Review the call site the region points to: if the code handles the error, this is fine (sysgate check --strict fails on it); if not, avoid the call or link the sysgate shim.',
    level: 'warning',
  },
  {
    id: 'SG006',
    name: 'falls-back',
    short: 'Denied, the library falls back',
    full: 'The syscall fails with an error the C library (or a linked library) answers with an alternative.',
    help: 'Nothing to do: the call fails and the library falls back to an alternative the target allows. Listed so that a reviewer sees what the program relies on.',
    level: 'note',
  },
  {
    id: 'SG007',
    name: 'degrades',
    short: 'Denied, callers carry on without it',
    full: 'An advisory call fails and its callers carry on without it (rseq, posix_fadvise, the CPU count sysconf falls back from).',
    help: 'Nothing to do for correctness: the call is advice and its callers carry on without it, possibly slower.',
    level: 'note',
  },
  {
    id: 'SG008',
    name: 'unresolved',
    short: 'Syscall number not recovered',
    full: 'A syscall instruction (or call to syscall()) whose number could not be recovered from the code before it.',
    help: 'sysgate could not tell which syscall this instruction makes, so it is not judged. Review the code at the region; a call through syscall() with a number computed at run time cannot be checked at build time.',
    level: 'warning',
  },
  {
    id: 'SG009',
    name: 'not-checked',
    short: 'File could not be checked',
    full: 'The file is not an ELF sysgate can read, or its arch is not one the target supports.',
    help: 'The file could not be checked: give sysgate an ELF file of an arch the target supports, or leave the file out of the scan.',
    level: 'error',
  },
  {
    id: 'SG010',
    name: 'unmodelled-import',
    short: 'Import the knowledge base does not model',
    full: 'The file imports a function the libc knowledge base does not model: what it asks the kernel for is not known (depends).',
    help: 'Give --sysroot when the function comes from a library other than the C library (its code is then analysed); for a C library function, the knowledge base lacks it: check what it does by hand (strace) and report it.',
    level: 'warning',
  },
];

const ruleIndex = (name: string): number => RULES.findIndex((r) => r.name === name);

/** What a result points at in a binary. */
interface Region {
  byteOffset: number;
  byteLength: number;
}

/** e_ident: where a finding about the file as a whole points (the C library's start-up, a file that cannot be read). */
const WHOLE_FILE: Region = { byteOffset: 0, byteLength: 16 };

const region = (s: ByteSpan | undefined): Region => (s ? { byteOffset: s.offset, byteLength: s.length } : WHOLE_FILE);

/** The bytes in the checked file (not a --sysroot library) of a finding's worst way of reaching the call. */
function findingSpan(f: Finding): ByteSpan | undefined {
  for (const v of f.via) if (v.library === null && v.kind !== 'startup' && v.kind !== 'library' && v.span) return v.span;
  return undefined;
}

/** Absolute paths become file:// URIs; relative ones stay relative, against SRCROOT (SARIF1004). */
function artifactLocation(file: string): { uri: string; uriBaseId?: string } {
  if (file.startsWith('/')) return { uri: pathToFileURL(file).href };
  // Percent-encode each segment (spaces, '#', '%', non-ASCII) but keep the slashes.
  return { uri: file.split('/').map(encodeURIComponent).join('/'), uriBaseId: URI_BASE };
}

export interface SarifOptions {
  /** The directory relative paths are relative to: recorded as SRCROOT's originalUriBaseIds. */
  cwd?: string;
}

export function toSarif(results: CheckResult[], options: SarifOptions = {}): unknown {
  const out: unknown[] = [];
  const artifacts: string[] = [];
  const artifactIndex = (file: string): number => {
    let i = artifacts.indexOf(file);
    if (i < 0) i = artifacts.push(file) - 1;
    return i;
  };
  const location = (file: string, at: Region) => [
    {
      physicalLocation: { artifactLocation: { ...artifactLocation(file), index: artifactIndex(file) }, region: at },
    },
  ];
  const fingerprint = (file: string, what: string) => ({ [FINGERPRINT]: `${file}:${what}` });
  const describe = (r: CheckReport) => `${r.target}${r.firmware ? ` ${r.firmware}` : ''} (${r.arch})`;
  for (const r of results) {
    if (isCheckError(r)) {
      out.push({
        ruleId: 'SG009',
        ruleIndex: ruleIndex('not-checked'),
        level: 'error',
        message: { text: r.error },
        locations: location(r.file, WHOLE_FILE),
        partialFingerprints: fingerprint(r.file, 'not-checked'),
      });
      continue;
    }
    for (const f of r.syscalls) {
      if (f.verdict === 'allowed') continue;
      // A death's rule says how (killed, sigsys, aborts); the other verdicts are rules by name.
      const i = ruleIndex(f.verdict === 'dies' ? (f.how ?? 'killed') : f.verdict);
      const rule = RULES[i]!;
      const via = f.via.slice(0, 5).map(describeVia).join('; ');
      out.push({
        ruleId: rule.id,
        ruleIndex: i,
        level: rule.level,
        message: { text: `${f.name} on ${describe(r)}: ${f.outcome}. Via ${via}.${f.fix ? ` Fix: ${f.fix}` : ''}` },
        locations: location(r.file, region(findingSpan(f))),
        partialFingerprints: fingerprint(r.file, `${r.target}/${r.arch}/${f.name}`),
        properties: {
          syscall: f.name,
          nr: f.nr,
          verdict: f.verdict,
          ...(f.how ? { how: f.how } : {}),
          action: f.action,
          arch: r.arch,
          target: r.target,
          firmware: r.firmware,
        },
      });
    }
    for (const name of r.unknownImports) {
      out.push({
        ruleId: 'SG010',
        ruleIndex: ruleIndex('unmodelled-import'),
        level: 'warning',
        message: {
          text: `${name} on ${describe(r)}: imported, and the libc knowledge base does not model it: what it asks the kernel for is not known (depends).`,
        },
        locations: location(r.file, WHOLE_FILE),
        partialFingerprints: fingerprint(r.file, `unmodelled/${name}`),
        properties: { import: name, verdict: 'depends' },
      });
    }
    for (const u of r.unresolved) {
      out.push({
        ruleId: 'SG008',
        ruleIndex: ruleIndex('unresolved'),
        level: 'warning',
        message: { text: `${u.kind} at 0x${u.address.toString(16)}${u.function ? ` in ${u.function}` : ''}${u.library ? ` (${u.library})` : ''}: ${u.reason}` },
        locations: location(r.file, region(u.library === null ? u.span : undefined)),
        partialFingerprints: fingerprint(r.file, `unresolved/${u.library ?? ''}/${u.kind}/0x${u.address.toString(16)}`),
        properties: { address: u.address, kind: u.kind, ...(u.function ? { function: u.function } : {}), ...(u.library ? { library: u.library } : {}) },
      });
    }
  }
  const relative = artifacts.some((a) => !a.startsWith('/'));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sysgate',
            version: VERSION,
            semanticVersion: VERSION,
            informationUri: 'https://www.npmjs.com/package/sysgate',
            rules: RULES.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.short },
              fullDescription: { text: r.full },
              help: { text: r.help },
              defaultConfiguration: { level: r.level },
            })),
          },
        },
        ...(relative && options.cwd
          ? { originalUriBaseIds: { [URI_BASE]: { uri: pathToFileURL(options.cwd.endsWith('/') ? options.cwd : `${options.cwd}/`).href } } }
          : {}),
        // roles: every artifact listed is a file sysgate was asked to check.
        artifacts: artifacts.map((a) => ({ location: artifactLocation(a), roles: ['analysisTarget'] })),
        results: out,
      },
    ],
  };
}
