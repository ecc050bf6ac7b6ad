/**
 * The reality suite's harness: run real programs under a target's policy in this machine's
 * kernel, see what really happens, and compare it with what `sysgate check` predicted.
 *
 * Runner: `sysgate run --report FILE` (the contract in docs/reality.md) when the built CLI has
 * the command; until then a documented STAND-IN for x86_64 that decides the verdict exactly as
 * `run` does: the shipped filter (`sysgate generate --format bpf`) loaded unchanged by
 * test/fixtures/reality/standin-loader.c (NO_NEW_PRIVS + seccomp, then execve), and the
 * denials recorded with `strace -f -i` (calls that returned ENOSYS after the filter was
 * loaded; the call a SIGSYS kill ended the process on). Pick with `runner: 'run' | 'standin'`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { syscallNumber } from '../../src/syscalls/table.ts';
import { WORKDIR_FILES, type PolicyCase, type Program, type Workload } from './corpus.ts';

export type RunnerKind = 'run' | 'standin';

/** ips: at most 8 distinct; functions: where `run` named them (the stand-in knows only ips) */
export interface Denial {
  name: string;
  nr: number | null;
  count: number;
  action: string;
  ips: string[];
  functions?: string[];
}

export interface RunRecord {
  program: string;
  args: string[];
  policy: string;
  runner: RunnerKind;
  exit: { code: number | null; signal: string | null };
  killed?: { name: string; nr: number | null; ip?: string };
  denied: Denial[];
  worked: boolean;
  /** why it counts as failed: exit status, signal, or the expected output missing */
  why?: string;
  stderrTail?: string;
}

export interface CheckRecord {
  fatal: boolean;
  /**
   * What --strict adds to fatal: depends findings (an error reaching the program, an
   * unmodelled import) or unresolved numbers. Since issue 13 a denied call whose error reaches
   * main is `depends`, not fatal: PASS is predicted only when check --strict passes too.
   */
  incomplete: boolean;
  /** every call check reports as not allowed (any verdict but "allowed") */
  reported: string[];
  /** the calls of its fatal findings */
  fatalCalls: string[];
  error?: string;
}

export interface ProgramResult {
  program: string;
  kind: Program['kind'];
  path: string;
  policy: string;
  target: string;
  firmware?: string;
  /** the workloads work without any filter (otherwise the program is left out of the matrix) */
  baseline: boolean;
  runs: RunRecord[];
  check: CheckRecord;
  predicted: 'FAIL' | 'PASS';
  really: 'failed' | 'worked';
  /** denied calls the runs made that check did not report */
  unreported: string[];
  /** fatal calls check named that no run made (denied) */
  unmade: string[];
}

export interface HarnessOptions {
  root: string;
  cli: string;
  /** cache for the loader, fixtures and filters (not committed) */
  cache: string;
  runner: RunnerKind;
  /** the extracted Debian root (check's --sysroot and the run's LD_LIBRARY_PATH) */
  sysroot?: string;
  /** the extracted armhf root, with its C library (the VM's and check's --sysroot) */
  armhfSysroot?: string;
  /** the C library version the runs use (the host's), given to check for Debian programs */
  libcVersion?: string;
  timeoutMs?: number;
}

/** `run` when the built CLI has it, else the stand-in. */
export function detectRunner(cli: string): RunnerKind {
  const r = spawnSync(process.execPath, [cli, 'run', '--help'], { encoding: 'utf8' });
  return r.status === 0 && /sysgate run/.test(r.stdout) ? 'run' : 'standin';
}

export function hostLibcVersion(): string | undefined {
  const r = spawnSync('ldd', ['--version'], { encoding: 'utf8' });
  return /(\d+\.\d+)\s*$/m.exec(r.stdout?.split('\n')[0] ?? '')?.[1];
}

/** Builds once per source text and flags (the name carries their hash, so edits rebuild). */
function compile(out0: string, cc: string, args: string[]): string {
  const h = createHash('sha256').update(cc).update(args.join('\0'));
  for (const a of args) if (a.endsWith('.c')) h.update(readFileSync(a));
  const out = `${out0}-${h.digest('hex').slice(0, 12)}`;
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync(cc, [...args, '-o', `${out}.tmp`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  spawnSync('mv', [`${out}.tmp`, out]);
  return out;
}

export function loaderPath(o: HarnessOptions): string {
  return compile(join(o.cache, 'bin/standin-loader'), 'gcc', ['-O2', join(o.root, 'test/fixtures/reality/standin-loader.c')]);
}

/** Path of the program's binary (fixtures are built on first use). */
export function programPath(p: Program, o: HarnessOptions): string {
  if (p.kind === 'host') return p.path;
  if (p.kind === 'debian') {
    const root = p.arch === 'armhf' ? o.armhfSysroot : o.sysroot;
    if (!root) throw new Error(`no extracted Debian ${p.arch ?? 'amd64'} root`);
    return join(root, p.binary);
  }
  const src = join(o.root, 'test/fixtures/reality', `${p.source}.c`);
  const out = join(o.cache, 'bin', p.id);
  if (p.build === 'musl-static') return compile(out, 'musl-gcc', ['-O2', '-static', src]);
  const built = compile(join(o.cache, 'bin', `${p.source}-glibc-static`), 'gcc', ['-O2', '-static', src, '-lpthread']);
  if (p.build === 'glibc-static') return built;
  const stripped = `${built}-stripped`;
  if (!existsSync(stripped)) {
    const r = spawnSync('strip', ['-o', stripped, built], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`strip: ${r.stderr}`);
  }
  return stripped;
}

function policyName(pc: PolicyCase): string {
  return `${pc.firmware ? `${pc.target}@${pc.firmware}` : pc.target}${pc.arch ? `/${pc.arch}` : ''}`;
}

/** The shipped filter for the policy on x86_64, exactly as `sysgate generate --format bpf` writes it. */
const generated = new Set<string>();
export function filterFile(pc: PolicyCase, o: HarnessOptions): string {
  const out = join(o.cache, 'filters', `${policyName(pc)}-x86_64.bpf`);
  if (generated.has(out) && existsSync(out)) return out; // once per process: the policy may have changed since
  generated.add(out);
  mkdirSync(dirname(out), { recursive: true });
  const args = [
    o.cli,
    'generate',
    '--target',
    pc.target,
    ...(pc.firmware ? ['--firmware', pc.firmware] : []),
    '--arch',
    'x86_64',
    '--format',
    'bpf',
    '--out',
    '-',
  ];
  const r = spawnSync(process.execPath, args, { maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`sysgate generate: ${r.stderr}`);
  writeFileSync(out, r.stdout);
  return out;
}

function makeWorkdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sysgate-reality-'));
  for (const [name, text] of Object.entries(WORKDIR_FILES)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function runEnv(o: HarnessOptions, p: Program): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LC_ALL: 'C', HOME: '/nonexistent', TZ: 'UTC' };
  // sysgate run's own cache (the supervisor, the ARM kernels) is the caller's, not under the programs' HOME.
  env.SYSGATE_CACHE_DIR = process.env.SYSGATE_CACHE_DIR ?? join(homedir(), '.cache/sysgate');
  if (p.kind === 'debian' && p.arch !== 'armhf' && o.sysroot) {
    env.LD_LIBRARY_PATH = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => join(o.sysroot!, d)).join(':');
  }
  return env;
}

function judge(code: number | null, signal: string | null, stdout: string, w: Workload): string | undefined {
  if (signal) return `signal ${signal}`;
  if (code !== (w.exit ?? 0)) return `exit ${code}`;
  const ok = typeof w.expect === 'string' ? stdout.includes(w.expect) : w.expect.test(stdout);
  return ok ? undefined : `expected output missing (${String(w.expect).slice(0, 40)})`;
}

/** One workload with no filter at all: does the workload itself work on this machine? */
export function runBaseline(p: Program, w: Workload, o: HarnessOptions): string | undefined {
  const dir = makeWorkdir();
  try {
    // armhf programs without a filter: under qemu-arm (user mode) with their root's libraries.
    const [cmd, args] =
      p.kind === 'debian' && p.arch === 'armhf' ? ['qemu-arm', ['-L', o.armhfSysroot!, programPath(p, o), ...w.args]] : [programPath(p, o), w.args];
    const r = spawnSync(cmd, args, {
      cwd: dir,
      env: runEnv(o, p),
      input: w.stdin ?? '',
      encoding: 'latin1',
      timeout: o.timeoutMs ?? 20000,
      maxBuffer: 1 << 24,
    });
    return judge(r.status, r.signal, r.stdout ?? '', w);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Parses `strace -f -i -o` output: the denials after the filter was loaded. A call counts as
 * denied when it returned ENOSYS (this kernel implements every call the programs make, so an
 * ENOSYS is the filter's errno); the call a pid was in when SIGSYS killed it is the killing call.
 */
export function parseStrace(text: string): { denied: Denial[]; killed?: { name: string; nr: number | null; ip?: string } } {
  const denied = new Map<string, Denial>();
  const pending = new Map<string, { name: string; ip: string }>();
  const last = new Map<string, { name: string; ip: string }>();
  let armed = false;
  let killed: { name: string; nr: number | null; ip?: string } | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+) +\[([0-9a-f?]+)\] (.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ip, rest] = m as unknown as [string, string, string, string];
    if (!armed) {
      if (/^seccomp\(SECCOMP_SET_MODE_FILTER.*= 0$/.test(rest)) armed = true;
      continue;
    }
    if (rest.startsWith('+++ killed by SIGSYS')) {
      const l = pending.get(pid) ?? last.get(pid);
      if (l && !killed) killed = { name: l.name, nr: syscallNumber('x86_64', l.name) ?? null, ip: `0x${l.ip.replace(/^0+/, '') || '0'}` };
      continue;
    }
    if (rest.startsWith('+++') || rest.startsWith('---')) continue;
    let name: string;
    let at = ip;
    let result: string;
    const resumed = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      name = resumed[1]!;
      result = resumed[2]!;
      at = pending.get(pid)?.ip ?? ip;
      pending.delete(pid);
    } else {
      const call = /^([a-z0-9_]+)\((.*)$/.exec(rest);
      if (!call) continue;
      name = call[1]!;
      result = call[2]!;
      if (result.endsWith('<unfinished ...>')) {
        pending.set(pid, { name, ip });
        last.set(pid, { name, ip });
        continue;
      }
    }
    last.set(pid, { name, ip: at });
    if (/= -1 ENOSYS \(Function not implemented\)$/.test(result)) {
      const d = denied.get(name) ?? { name, nr: syscallNumber('x86_64', name) ?? null, count: 0, action: 'errno:ENOSYS', ips: [] };
      d.count++;
      const hex = `0x${at.replace(/^0+/, '') || '0'}`;
      if (d.ips.length < 8 && !d.ips.includes(hex)) d.ips.push(hex);
      denied.set(name, d);
    }
  }
  if (killed) {
    const d = denied.get(killed.name) ?? { name: killed.name, nr: killed.nr, count: 0, action: 'kill-process', ips: [] };
    d.action = 'kill-process';
    d.count++;
    if (killed.ip && !d.ips.includes(killed.ip)) d.ips.push(killed.ip);
    denied.set(killed.name, d);
  }
  return { denied: [...denied.values()].sort((a, b) => a.name.localeCompare(b.name)), ...(killed ? { killed } : {}) };
}

/** One workload under the policy, by `run` or by the stand-in. */
export function runWorkload(p: Program, w: Workload, pc: PolicyCase, o: HarnessOptions): RunRecord {
  const prog = programPath(p, o);
  const dir = makeWorkdir();
  // The trace and the report live outside the scratch directory (grep -r would read a growing trace).
  const side = mkdtempSync(join(tmpdir(), 'sysgate-reality-rec-'));
  const spawnOpts = {
    cwd: dir,
    env: runEnv(o, p),
    input: w.stdin ?? '',
    encoding: 'latin1' as const,
    timeout: o.timeoutMs ?? 20000,
    killSignal: 'SIGKILL' as const,
    maxBuffer: 1 << 24,
  };
  const base = { program: p.id, args: w.args, policy: policyName(pc), runner: o.runner };
  try {
    if (o.runner === 'run') {
      const report = join(side, 'report.json');
      const armhf = p.kind === 'debian' && p.arch === 'armhf';
      const args = [
        o.cli,
        'run',
        '--target',
        pc.target,
        ...(pc.firmware ? ['--firmware', pc.firmware] : []),
        ...(armhf ? ['--sysroot', o.armhfSysroot!] : []),
        '--report',
        report,
        '--',
        prog,
        ...w.args,
      ];
      const r = spawnSync(process.execPath, args, spawnOpts);
      if (!existsSync(report)) throw new Error(`sysgate run wrote no report (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').pop()}`);
      const rep = JSON.parse(readFileSync(report, 'utf8')) as {
        exit: { code: number | null; signal: string | null };
        killed?: { name: string; nr: number; ip?: string };
        denied: { name: string; nr: number; count: number; action: string; where: { ip: string; function?: string }[] }[];
      };
      const why = judge(rep.exit.code, rep.exit.signal, r.stdout ?? '', w);
      return {
        ...base,
        exit: rep.exit,
        ...(rep.killed ? { killed: rep.killed } : {}),
        denied: rep.denied.map((d) => {
          const functions = [...new Set(d.where.flatMap((x) => (x.function ? [x.function] : [])))];
          return { name: d.name, nr: d.nr, count: d.count, action: d.action, ips: d.where.map((x) => x.ip), ...(functions.length ? { functions } : {}) };
        }),
        worked: why === undefined,
        ...(why ? { why, stderrTail: (r.stderr ?? '').slice(-300) } : {}),
      };
    }
    if (p.kind === 'debian' && p.arch === 'armhf') throw new Error('the stand-in runs x86_64 programs only: armhf needs sysgate run');
    const trace = join(side, 'strace.txt');
    const r = spawnSync('strace', ['-f', '-i', '-qq', '-o', trace, loaderPath(o), filterFile(pc, o), '--', prog, ...w.args], spawnOpts);
    const stderr = r.stderr ?? '';
    if (/^standin-loader: /m.test(stderr) && r.status === 2) throw new Error(stderr.trim());
    const { denied, killed } = parseStrace(existsSync(trace) ? readFileSync(trace, 'utf8') : '');
    const exit = { code: r.signal ? null : r.status, signal: r.signal ?? null };
    const why = judge(exit.code, exit.signal, r.stdout ?? '', w);
    return { ...base, exit, ...(killed ? { killed } : {}), denied, worked: why === undefined, ...(why ? { why, stderrTail: stderr.slice(-300) } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(side, { recursive: true, force: true });
  }
}

/** `sysgate check --json` of the program under the policy. */
export function checkProgram(p: Program, pc: PolicyCase, o: HarnessOptions): CheckRecord {
  const args = [o.cli, 'check', programPath(p, o), '--target', pc.target, ...(pc.firmware ? ['--firmware', pc.firmware] : []), '--json'];
  if (p.kind === 'debian' && p.arch === 'armhf' && o.armhfSysroot)
    args.push('--sysroot', o.armhfSysroot); // its own libc: check reads the release there
  else if (p.kind === 'debian' && o.sysroot) args.push('--sysroot', o.sysroot, ...(o.libcVersion ? ['--libc-version', o.libcVersion] : []));
  // the host's programs load the host's libraries: check them as a user on this machine would
  else if (p.kind === 'host') args.push('--sysroot', '/');
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0 && r.status !== 1)
    return { fatal: false, incomplete: false, reported: [], fatalCalls: [], error: (r.stderr ?? '').trim().split('\n')[0] ?? `exit ${r.status}` };
  const j = JSON.parse(r.stdout) as {
    fatal: boolean;
    summary: { warnings: number; unresolved: number };
    syscalls: { name: string; verdict: string; severity: string }[];
  };
  return {
    fatal: j.fatal,
    incomplete: j.summary.warnings > 0 || j.summary.unresolved > 0,
    reported: j.syscalls
      .filter((s) => s.verdict !== 'allowed')
      .map((s) => s.name)
      .sort(),
    fatalCalls: j.syscalls
      .filter((s) => s.severity === 'fatal')
      .map((s) => s.name)
      .sort(),
  };
}

export function evaluateProgram(p: Program, pc: PolicyCase, o: HarnessOptions, baseline: boolean): ProgramResult {
  const runs = p.workloads.map((w) => runWorkload(p, w, pc, o));
  const check = checkProgram(p, pc, o);
  const made = new Set(runs.flatMap((r) => r.denied.map((d) => d.name)));
  const reported = new Set(check.reported);
  return {
    program: p.id,
    kind: p.kind,
    path: programPath(p, o),
    policy: policyName(pc),
    target: pc.target,
    ...(pc.firmware ? { firmware: pc.firmware } : {}),
    baseline,
    runs,
    check,
    predicted: check.fatal || check.incomplete ? 'FAIL' : 'PASS', // check --strict's verdict
    really: runs.every((r) => r.worked) ? 'worked' : 'failed',
    unreported: [...made].filter((n) => !reported.has(n)).sort(),
    unmade: check.fatalCalls.filter((n) => !made.has(n)),
  };
}

/**
 * Per policy: the programs by check's verdict and their real fate. FAIL = dies or breaks (check
 * exits 1); `warn` = PASS with depends findings or unresolved sites (check --strict exits 1);
 * `pass` = a clean PASS. A clean PASS over a program that really failed is a false PASS.
 */
export interface Matrix {
  policy: string;
  failFailed: string[];
  failWorked: string[];
  warnFailed: string[];
  warnWorked: string[];
  passFailed: string[];
  passWorked: string[];
  excluded: string[];
  /** FAIL verdicts that worked although a run made one of the calls the verdict names (true false alarms). */
  failWorkedReached: string[];
}

export function matrices(results: ProgramResult[]): Matrix[] {
  const by = new Map<string, Matrix>();
  for (const r of results) {
    const m = by.get(r.policy) ?? {
      policy: r.policy,
      failFailed: [],
      failWorked: [],
      warnFailed: [],
      warnWorked: [],
      passFailed: [],
      passWorked: [],
      excluded: [],
      failWorkedReached: [],
    };
    by.set(r.policy, m);
    if (!r.baseline || r.check.error) {
      m.excluded.push(r.program);
      continue;
    }
    const failed = r.really === 'failed';
    if (r.check.fatal) {
      (failed ? m.failFailed : m.failWorked).push(r.program);
      if (!failed && r.check.fatalCalls.some((c) => !r.unmade.includes(c))) m.failWorkedReached.push(r.program);
    } else if (r.predicted === 'FAIL') (failed ? m.warnFailed : m.warnWorked).push(r.program);
    else (failed ? m.passFailed : m.passWorked).push(r.program);
  }
  return [...by.values()];
}

/** The text the bench and the short form print: the matrix, and the two disagreement lists. */
export function formatResults(results: ProgramResult[], runner: RunnerKind): string {
  const out: string[] = [];
  out.push(
    runner === 'standin'
      ? '  runner: STAND-IN (sysgate run not in this build): shipped filter + standin-loader, denials from strace -f -i'
      : "  runner: sysgate run (enforced: x86_64 in this machine's kernel, ARM in a real ARM kernel under qemu-system-arm)",
  );
  for (const m of matrices(results)) {
    const n = (a: string[]): string => String(a.length).padStart(3);
    const total = m.failFailed.length + m.failWorked.length + m.warnFailed.length + m.warnWorked.length + m.passFailed.length + m.passWorked.length;
    out.push(`\n  ${m.policy}: ${total} programs`);
    out.push('                                     really failed  really worked');
    out.push(`    FAIL (dies or breaks)            ${n(m.failFailed)}            ${n(m.failWorked)}`);
    out.push(`    PASS with depends or unresolved  ${n(m.warnFailed)}            ${n(m.warnWorked)}`);
    out.push(`    clean PASS                       ${n(m.passFailed)}            ${n(m.passWorked)}`);
    const judged = m.failFailed.length + m.failWorkedReached.length;
    if (judged)
      out.push(
        `    FAIL precision where a run made a named call: ${m.failFailed.length} of ${judged} (${Math.round((100 * m.failFailed.length) / judged)}%)${m.failWorkedReached.length ? `; worked anyway: ${m.failWorkedReached.join(', ')}` : ''}`,
      );
    if (m.passFailed.length) out.push(`    false PASS: ${m.passFailed.join(', ')}`);
    if (m.failWorked.length) out.push(`    FAIL but worked: ${m.failWorked.join(', ')}`);
    if (m.excluded.length) out.push(`    left out (workload fails without a filter, or check could not read it): ${m.excluded.join(', ')}`);
    const rs = results.filter((r) => r.policy === m.policy && r.baseline);
    const unrep = rs.filter((r) => r.unreported.length);
    out.push(`    denied calls runs made that check did not report: ${unrep.length ? '' : 'none'}`);
    for (const r of unrep) out.push(`      ${r.program}: ${r.unreported.join(' ')}`);
    const unmade = rs.filter((r) => r.unmade.length);
    out.push(`    FAIL verdicts whose named call no workload made: ${unmade.length ? '' : 'none'}`);
    for (const r of unmade)
      out.push(`      ${r.program}: ${r.unmade.join(' ')}${r.runs.some((x) => x.killed) ? '  (a run was killed: later calls unseen)' : ''}`);
    const failed = rs.filter((r) => r.really === 'failed');
    if (failed.length) {
      out.push('    how the failed runs ended:');
      for (const r of failed) {
        const bad = r.runs.find((x) => !x.worked)!;
        out.push(
          `      ${r.program}: ${bad.why}${bad.killed ? ` (killed on ${bad.killed.name})` : ''}; denied ${bad.denied.map((d) => d.name).join(' ') || 'nothing'}`,
        );
      }
    }
  }
  return out.join('\n');
}

export function makeCache(root: string): string {
  const dir = join(root, '.cache/reality');
  mkdirSync(dir, { recursive: true });
  return dir;
}
