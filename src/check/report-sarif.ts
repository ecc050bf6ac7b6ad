/**
 * SARIF 2.1.0 output for code-scanning UIs (GitHub code scanning, VS Code SARIF viewer):
 * one run, one rule per verdict, one result per denied syscall of each file (level error
 * for fatal verdicts, warning for unknown handling and unresolved sites, note for fallbacks).
 */
import { VERSION } from '../version.ts';
import { describeVia } from './report-text.ts';
import { isCheckError, type CheckResult, type Verdict } from './types.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

interface Rule {
  id: string;
  name: string;
  short: string;
  full: string;
  level: 'error' | 'warning' | 'note';
}

const RULES: Rule[] = [
  { id: 'SG001', name: 'killed', short: 'The filter kills the process', full: 'The target kills a process that makes this syscall.', level: 'error' },
  { id: 'SG002', name: 'sigsys', short: 'The syscall raises SIGSYS', full: 'The target raises SIGSYS for this syscall (CodeSafe firmware before 13.7): the process dies; libraries do not fall back on a signal.', level: 'error' },
  { id: 'SG003', name: 'aborts', short: 'The C library cannot go on', full: 'The syscall fails where the C library (or loader) treats failure as fatal.', level: 'error' },
  { id: 'SG004', name: 'broken', short: 'Denied, no fallback', full: 'The syscall fails and the caller gets the error: the feature that needs it breaks.', level: 'error' },
  { id: 'SG005', name: 'unknown', short: 'Denied, handling unknown', full: 'The syscall fails; nothing known says how the code handles the error.', level: 'warning' },
  { id: 'SG006', name: 'fallback', short: 'Denied, the C library falls back', full: 'The syscall fails with ENOSYS and the C library falls back to an alternative.', level: 'note' },
  { id: 'SG007', name: 'ignored', short: 'Denied, the C library carries on', full: 'The syscall fails with ENOSYS and the C library carries on without it.', level: 'note' },
  { id: 'SG008', name: 'unresolved', short: 'Syscall number not recovered', full: 'A syscall instruction (or call to syscall()) whose number could not be recovered from the code before it.', level: 'warning' },
  { id: 'SG009', name: 'not-checked', short: 'File could not be checked', full: 'The file is not an ELF sysgate can read, or its arch is not one the target supports.', level: 'error' },
];

const ruleIndex = (name: string): number => RULES.findIndex((r) => r.name === name);

function uri(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

export function toSarif(results: CheckResult[]): unknown {
  const out: unknown[] = [];
  const artifacts: string[] = [];
  const artifactIndex = (file: string): number => {
    let i = artifacts.indexOf(file);
    if (i < 0) i = artifacts.push(file) - 1;
    return i;
  };
  const location = (file: string) => [{ physicalLocation: { artifactLocation: { uri: uri(file), index: artifactIndex(file) } } }];
  for (const r of results) {
    if (isCheckError(r)) {
      out.push({ ruleId: 'SG009', ruleIndex: ruleIndex('not-checked'), level: 'error', message: { text: r.error }, locations: location(r.file) });
      continue;
    }
    for (const f of r.syscalls) {
      if (f.verdict === 'allowed') continue;
      const i = ruleIndex(f.verdict as Exclude<Verdict, 'allowed'>);
      const rule = RULES[i]!;
      const via = f.via.slice(0, 5).map(describeVia).join('; ');
      const fw = r.firmware ? ` ${r.firmware}` : '';
      out.push({
        ruleId: rule.id,
        ruleIndex: i,
        level: rule.level,
        message: { text: `${f.name} on ${r.target}${fw} (${r.arch}): ${f.outcome}. Via ${via}.${f.fix ? ` Fix: ${f.fix}` : ''}` },
        locations: location(r.file),
        partialFingerprints: { 'sysgate/syscall': `${r.target}/${r.arch}/${f.name}` },
        properties: { syscall: f.name, nr: f.nr, verdict: f.verdict, action: f.action, arch: r.arch, target: r.target, firmware: r.firmware },
      });
    }
    for (const u of r.unresolved) {
      out.push({
        ruleId: 'SG008',
        ruleIndex: ruleIndex('unresolved'),
        level: 'warning',
        message: { text: `${u.kind} at 0x${u.address.toString(16)}${u.function ? ` in ${u.function}` : ''}${u.library ? ` (${u.library})` : ''}: ${u.reason}` },
        locations: location(r.file),
        properties: { address: u.address, kind: u.kind, ...(u.function ? { function: u.function } : {}) },
      });
    }
  }
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
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
            defaultConfiguration: { level: r.level },
          })),
        },
      },
      artifacts: artifacts.map((a) => ({ location: { uri: uri(a) } })),
      results: out,
    }],
  };
}
