/**
 * "Which firmware does my app need?": the check at every firmware of a span the target knows,
 * side by side, and the oldest firmware from which the binary survives on every later one.
 *
 * A span is `all` (every firmware the target knows) or `A..B` (inclusive; either end may be
 * left out: `13.5..`, `..13.5`). The firmwares checked are the target's known versions inside
 * it: between two known versions the policy cannot change (gating is by `since`/`until` at
 * known versions), so they answer for every version in between.
 */
import { InputError } from '../errors.ts';
import { compareFirmware, parseFirmware, showFirmware } from '../policy/firmware.ts';
import type { TargetDef } from '../policy/types.ts';
import { describeVia } from './report-text.ts';
import { isCheckError, judgementRank, type CheckReport, type CheckResult, type Finding } from './types.ts';

/** Whether the --firmware value asks for a span rather than one version. */
export function isFirmwareSpan(spec: string): boolean {
  return spec === 'all' || spec.includes('..');
}

/** The target's known firmwares inside the span, oldest first. */
export function firmwaresIn(target: TargetDef, spec: string): string[] {
  if (target.firmwares.length === 0) throw new InputError(`--firmware ${spec}: target ${target.id} has no firmware versions`);
  if (spec === 'all') return [...target.firmwares];
  const [lo, hi, ...rest] = spec.split('..');
  if (rest.length || lo === undefined || hi === undefined) throw new InputError(`bad firmware span '${spec}' (expected all, A..B, A.. or ..B)`);
  const from = lo === '' ? undefined : parseFirmware(lo);
  const to = hi === '' ? undefined : parseFirmware(hi);
  if (from && to && compareFirmware(from, to) > 0) throw new InputError(`bad firmware span '${spec}': ${showFirmware(from)} is after ${showFirmware(to)}`);
  const known = target.firmwares;
  // A start between two known versions is governed by the known version before it.
  let start = 0;
  if (from) {
    start = -1;
    for (let i = 0; i < known.length; i++) if (compareFirmware(known[i]!, from) <= 0) start = i;
    if (start < 0) throw new InputError(`firmware ${showFirmware(from)} is older than ${target.id}'s first known firmware ${showFirmware(known[0]!)}`);
  }
  const list = known.slice(start).filter((v, i) => i === 0 || !to || compareFirmware(v, to) <= 0);
  if (to && compareFirmware(list[0]!, to) > 0) return [list[0]!];
  return list;
}

/** One file's verdict at one firmware. */
export interface FirmwareVerdict {
  firmware: string;
  /** PASS: nothing fatal at this firmware. */
  pass: boolean;
  fatal: number;
  warnings: number;
  unresolved: number;
  /**
   * Why it fails here: the fatal findings, worst first, as "set_robust_list (killed, at
   * start-up)"; for a pass, its depends findings ("getrandom (depends, via getentropy)").
   */
  because: string[];
}

export interface AcrossFirmwares {
  file: string;
  target: string;
  verdicts: FirmwareVerdict[];
  /**
   * The oldest firmware of the span from which the file passes at every later firmware of the
   * span; null when it fails at the newest. (Policies only grow with firmware in practice, but
   * this does not assume it.)
   */
  needs: string | null;
  /** One sentence: "needs 13.7: on 13.5 it is killed at start-up by set_robust_list". */
  summary: string;
  /** The full report at each firmware, for JSON. */
  reports: { firmware: string; report: CheckReport }[];
}

const atStartup = (f: Finding) => f.via.every((v) => v.kind === 'startup');

/** Where a call comes from, in a few words. */
function origin(f: Finding): string {
  if (atStartup(f)) return 'at start-up';
  const v = f.via.find((x) => x.kind !== 'startup')!;
  const lib = v.library ? ` in ${v.library}` : '';
  switch (v.kind) {
    case 'import':
      return `via ${v.symbol}${lib}`;
    case 'site':
      return `${v.function ? `in ${v.function}` : 'at a syscall site'}${lib}`;
    case 'syscall()':
      return `syscall()${v.function ? ` in ${v.function}` : ''}${lib}`;
    default:
      return describeVia(v);
  }
}

function because(f: Finding): string {
  // A death says how (killed, sigsys, aborts): the word the device's log would show.
  return `${f.name} (${f.how ?? f.verdict}, ${origin(f)})`;
}

/** The fatal findings, worst verdict first, then those met at start-up (they stop every run). */
function fatalFirst(r: CheckReport): Finding[] {
  return r.syscalls
    .filter((f) => f.severity === 'fatal')
    .map((f, i) => ({ f, i }))
    .sort((a, b) => judgementRank(a.f) - judgementRank(b.f) || Number(atStartup(b.f)) - Number(atStartup(a.f)) || a.i - b.i)
    .map((x) => x.f);
}

function verdictOf(firmware: string, r: CheckReport): FirmwareVerdict {
  const fatal = fatalFirst(r);
  return {
    firmware: showFirmware(firmware),
    pass: !r.fatal,
    fatal: r.summary.fatal,
    warnings: r.summary.warnings,
    unresolved: r.summary.unresolved,
    // A pass with depends findings names them: what --strict would fail on, and why.
    because: (fatal.length ? fatal : r.syscalls.filter((f) => f.severity === 'warning')).map(because),
  };
}

function sentence(v: FirmwareVerdict, r: CheckReport): string {
  const worst = fatalFirst(r)[0];
  if (!worst) return `passes on ${v.firmware}`;
  const where = atStartup(worst) ? ' at start-up' : ` (${origin(worst)})`;
  switch (worst.how) {
    case 'killed':
      return `on ${v.firmware} it is killed${where} by ${worst.name}`;
    case 'sigsys':
      return `on ${v.firmware} it dies of SIGSYS${where} on ${worst.name}`;
    case 'aborts':
      return `on ${v.firmware} it aborts${where} when ${worst.name} fails`;
    default:
      return `on ${v.firmware} ${worst.name} fails and ${where.trim() === 'at start-up' ? 'start-up' : 'the code it reaches'} fails on it${where}`;
  }
}

/**
 * Combines per-firmware results (the same files, in the same order, at each firmware of
 * `firmwares`, oldest first) into one answer per file. Files that could not be checked stay errors.
 */
export function combineFirmwares(firmwares: readonly string[], results: readonly CheckResult[][]): (AcrossFirmwares | CheckResult)[] {
  const out: (AcrossFirmwares | CheckResult)[] = [];
  const first = results[0] ?? [];
  for (let i = 0; i < first.length; i++) {
    const errored = results.map((rs) => rs[i]!).find(isCheckError);
    if (errored) {
      out.push(errored);
      continue;
    }
    const reports = results.map((rs) => rs[i] as CheckReport);
    const verdicts = reports.map((r, k) => verdictOf(firmwares[k]!, r));
    let from = verdicts.length;
    while (from > 0 && verdicts[from - 1]!.pass) from--;
    const needs = from < verdicts.length ? verdicts[from]!.firmware : null;
    let summary: string;
    if (needs === null) summary = `fails on every firmware of the span: ${sentence(verdicts.at(-1)!, reports.at(-1)!)}`;
    else if (from === 0) summary = `passes on every firmware of the span (${verdicts[0]!.firmware} and later)`;
    else summary = `needs ${needs}: ${sentence(verdicts[from - 1]!, reports[from - 1]!)}`;
    out.push({
      file: reports[0]!.file,
      target: reports[0]!.target,
      verdicts,
      needs,
      summary,
      reports: reports.map((report, k) => ({ firmware: showFirmware(firmwares[k]!), report })),
    });
  }
  return out;
}

/** The side-by-side table and the sentence, for the terminal. */
export function renderAcross(rows: readonly AcrossFirmwares[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(`${r.file}: ${r.target}: ${r.summary}`);
    const w = Math.max(...r.verdicts.map((v) => v.firmware.length));
    for (const v of r.verdicts) {
      const counts = `${v.fatal} fatal, ${v.warnings} warning${v.warnings === 1 ? '' : 's'}${v.unresolved ? `, ${v.unresolved} unresolved` : ''}`;
      lines.push(
        `  ${v.firmware.padEnd(w)}  ${v.pass ? 'PASS' : 'FAIL'}  ${counts}${v.because.length ? `: ${v.because.slice(0, 3).join(', ')}${v.because.length > 3 ? `, +${v.because.length - 3} more` : ''}` : ''}`,
      );
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
