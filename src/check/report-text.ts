/** Text output of `sysgate check`: per file, the denied calls first, worst first, then the rest. */
import type { Via, CheckReport, CheckResult, Finding } from './types.ts';
import { isCheckError } from './types.ts';

export interface TextStyle {
  bold(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
}

export const PLAIN: TextStyle = { bold: (s) => s, red: (s) => s, yellow: (s) => s, green: (s) => s, dim: (s) => s };

const hex = (n: number): string => `0x${n.toString(16)}`;

export function describeVia(v: Via): string {
  const lib = v.library ? ` in ${v.library}` : '';
  switch (v.kind) {
    case 'import': {
      const sym = `${v.symbol}${v.version ? `@${v.version}` : ''}${v.weak ? ' (weak)' : ''}`;
      const role =
        v.role === 'chain'
          ? (v.step ? `, fallback step ${v.step + 1}` : '') + (v.next ? `, then ${v.next} on ENOSYS` : '')
          : v.role === 'also'
            ? ', also'
            : v.role === 'conditional'
              ? `, only ${v.when ?? 'sometimes'}`
              : ', its ENOSYS fallback path';
      return `import ${sym}${lib}${role}`;
    }
    case 'startup':
      return `libc start-up${lib}: ${v.when}`;
    case 'site':
      return `${v.siteKind} at ${hex(v.address)}${v.function ? ` in ${v.function}` : ''}${lib}${v.next ? `, then ${v.next} on ENOSYS` : ''}`;
    case 'syscall()':
      return `syscall() at ${hex(v.address)}${v.function ? ` in ${v.function}` : ''}${lib}`;
    case 'library':
      return `${v.library} (${v.linkedIn ? 'linked into the file' : 'linked'}): ${v.when}`;
  }
}

function mark(f: Finding, st: TextStyle): string {
  if (f.severity === 'fatal') return st.red('FATAL');
  if (f.severity === 'warning') return st.yellow('warn ');
  return f.verdict === 'allowed' ? st.green('ok   ') : st.green('ok   ');
}

/**
 * Many sites for one call are summarised: the first few, then a count of the rest the report
 * lists, and "(+N more)" for the ways the report itself leaves out (Finding.viasOmitted).
 */
function vias(f: Finding, max = 4): string[] {
  const shown = f.via.slice(0, max).map(describeVia);
  const omitted = f.viasOmitted ? ` (+${f.viasOmitted} more)` : '';
  if (f.via.length > max) shown.push(`... and ${f.via.length - max} more${omitted}`);
  else if (omitted) shown.push(`...${omitted}`);
  return shown;
}

export function renderReport(r: CheckReport, st: TextStyle = PLAIN): string {
  const lines: string[] = [];
  const kind = r.library ? 'shared library' : r.static ? 'static' : 'dynamic';
  const libc =
    r.libc.name === 'unknown'
      ? 'no known C library'
      : `${r.libc.name} ${r.libc.version}${r.libc.versionFrom === 'default' && r.libc.referenced ? ` (references ${r.libc.referenced}; assumed ${r.libc.version})` : r.libc.versionFrom ? ` (from ${r.libc.versionFrom})` : ''}`;
  const fw = r.firmware ? ` firmware ${r.firmware.replace(/\.0$/, '')}` : '';
  const verdict = r.fatal ? st.red(`FAIL: ${r.summary.fatal} fatal`) : st.green('PASS');
  lines.push(
    `${st.bold(r.file)}: ${r.arch} ${kind}, ${libc}; ${r.target}${fw} (default ${r.defaultAction}): ${verdict}` +
      `${r.summary.warnings ? `, ${r.summary.warnings} warning${r.summary.warnings === 1 ? '' : 's'}` : ''}` +
      // An analysis with numbers it could not recover is incomplete: PASS never stands alone over it.
      `${r.summary.unresolved ? `, ${r.summary.unresolved} unresolved` : ''}`,
  );
  if (r.abiNote) lines.push(`  ${st.yellow('note')} ${r.abiNote}`);
  if (r.shim) {
    const enosys = r.shim.wrappers.filter((w) => w.status === 'enosys').map((w) => w.symbol);
    lines.push(
      `  ${st.dim('shim')} sysgate shim for ${r.shim.target} ${r.shim.firmware ?? ''} ${r.shim.arch}: ${r.shim.wrappers.length - enosys.length} wrappers use allowed calls${enosys.length ? `; ${enosys.join(', ')} answer ENOSYS (reported when called)` : ''}`,
    );
  }
  if (r.libc.notice) lines.push(`  ${st.yellow('notice')} ${r.libc.notice}`);
  const denied = r.syscalls.filter((f) => f.verdict !== 'allowed');
  const width = Math.max(0, ...denied.map((f) => f.name.length));
  for (const f of denied) {
    // The verdict word first (dies: how), then what the program experiences.
    lines.push(`  ${mark(f, st)} ${f.name.padEnd(width)}  ${f.how ? `${f.verdict} (${f.how})` : f.verdict}: ${f.outcome}`);
    for (const v of vias(f)) lines.push(`        ${st.dim('via')} ${v}`);
    if (f.fix) lines.push(`        ${st.dim('fix')} ${f.fix}`);
  }
  const allowed = r.syscalls.filter((f) => f.verdict === 'allowed');
  if (allowed.length) lines.push(`  ${st.green('allowed')} (${allowed.length}): ${allowed.map((f) => f.name + (f.condition ? '*' : '')).join(' ')}`);
  if (allowed.some((f) => f.condition)) lines.push(`    ${st.dim('* allowed with a condition the device enforces (see sysgate explain)')}`);
  if (r.unresolved.length) {
    lines.push(`  ${st.yellow('unresolved')} (${r.unresolved.length}): syscall numbers not recovered, not counted above`);
    for (const u of r.unresolved.slice(0, 10)) {
      lines.push(`    ${hex(u.address)}${u.function ? ` in ${u.function}` : ''}${u.library ? ` (${u.library})` : ''} [${u.kind}]: ${u.reason}`);
    }
    if (r.unresolved.length > 10) lines.push(`    ... and ${r.unresolved.length - 10} more (--json lists all)`);
  }
  const libs = r.libraries.filter((l) => l.status !== 'libc');
  for (const l of libs) {
    lines.push(
      `  ${st.dim('library')} ${l.name}: ${l.status === 'analysed' ? `analysed (${l.path})` : l.status === 'missing' ? 'not found in the sysroot' : `error: ${l.error}`}`,
    );
  }
  if (r.unknownImports.length) {
    // Each is a depends finding: what it asks the kernel for is not known (never a silent PASS).
    lines.push(
      `  ${st.yellow('warn ')} ${r.unknownImports.length} import${r.unknownImports.length === 1 ? '' : 's'} the libc knowledge base does not model (depends: what ${r.unknownImports.length === 1 ? 'it asks' : 'they ask'} the kernel for is not known): ` +
        r.unknownImports.slice(0, 12).join(' ') +
        (r.unknownImports.length > 12 ? ` ... (${r.unknownImports.length - 12} more; --json lists all)` : ''),
    );
  }
  for (const w of r.warnings ?? []) lines.push(`  ${st.yellow('warning')} ${w}`);
  return `${lines.join('\n')}\n`;
}

export function renderText(results: CheckResult[], st: TextStyle = PLAIN): string {
  const out: string[] = [];
  let fatal = 0;
  let errors = 0;
  for (const r of results) {
    if (isCheckError(r)) {
      errors++;
      out.push(`${st.bold(r.file)}: ${st.red('error')}: ${r.error}\n`);
      continue;
    }
    if (r.fatal) fatal++;
    out.push(renderReport(r, st));
  }
  if (results.length > 1) {
    out.push(`${results.length} files: ${results.length - fatal - errors} pass, ${fatal} fail${errors ? `, ${errors} could not be checked` : ''}\n`);
  }
  return out.join('\n');
}
