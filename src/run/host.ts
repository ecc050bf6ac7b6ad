/**
 * `sysgate run` on this machine (x86_64 programs): the supervisor (templates/run/supervise.c),
 * compiled once into the cache, runs the program under the recording copy of the shipped filter
 * and answers each denied call as the device would. Also the parts vm.ts shares: the
 * supervisor's source, the REPORT parser and the report builder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '../buildsys/shim-cache.ts';
import { readElf } from '../elf/index.ts';
import { ElfFile } from '../elf/source.ts';
import type { ElfInfo } from '../elf/types.ts';
import { InputError } from '../errors.ts';
import { formatAction } from '../policy/action.ts';
import type { Policy } from '../policy/types.ts';
import { retToAction } from '../bpf/types.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { syscallName } from '../syscalls/table.ts';
import { TEMPLATES } from '../templates/templates.generated.ts';
import { signalName, type RunDenied, type RunOptions, type RunReport, type RunWhere } from './types.ts';

export const SUPERVISOR_TEMPLATE = 'run/supervise.c';
export const CFLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror'];

export function supervisorSource(): string {
  const s = TEMPLATES[SUPERVISOR_TEMPLATE];
  if (s === undefined) throw new Error(`template ${SUPERVISOR_TEMPLATE} missing: run npm run gen:templates`);
  return s;
}

/**
 * The supervisor built by `compiler` (e.g. ['cc'] or ['arm-linux-gnueabihf-gcc', '-static']),
 * cached under cacheDir/run/<hash of source + compiler>/supervise.
 */
export function supervisorBinary(compiler: readonly string[], cacheDir: string): { path: string; built: boolean } {
  const source = supervisorSource();
  const key = createHash('sha256').update(source).update('\0').update(compiler.join('\0')).update('\0').update(CFLAGS.join(' ')).digest('hex').slice(0, 24);
  const dir = join(cacheDir, 'run', key);
  const bin = join(dir, 'supervise');
  if (existsSync(bin)) return { path: bin, built: false };
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'supervise.c');
  writeFileSync(src, source);
  const tmp = join(dir, `.supervise.${process.pid}`);
  const [cmd, ...pre] = compiler;
  const r = spawnSync(cmd!, [...pre, ...CFLAGS, '-o', tmp, src], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`).trim();
    throw new InputError(`cannot compile the sysgate supervisor with ${compiler.join(' ')}: ${why}${r.error ? ' (apt-get install gcc)' : ''}`);
  }
  renameSync(tmp, bin);
  return { path: bin, built: true };
}

/** One line of the supervisor's REPORT. */
export interface SupervisorEvent {
  nr: number;
  auditArch: number;
  ip: bigint;
  /** The shipped filter's return value (action | data). */
  ret: number;
  object?: string;
  offset?: bigint;
  pid?: number;
}

export interface SupervisorReport {
  events: SupervisorEvent[];
  exit: { code: number | null; signal: number | null } | null;
}

const EVENT = /^nr=(-?\d+) arch=0x([0-9a-f]+) ip=0x([0-9a-f]+) ret=0x([0-9a-f]+) obj=(\S+) off=0x([0-9a-f]+)(?: pid=(\d+))?$/;

export function parseSupervisorReport(text: string): SupervisorReport {
  const events: SupervisorEvent[] = [];
  let exit: SupervisorReport['exit'] = null;
  for (const line of text.split('\n')) {
    const m = EVENT.exec(line);
    if (m) {
      const obj = m[5]!.replace(/\\x([0-9a-f]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16)));
      events.push({
        nr: Number(m[1]) >>> 0,
        auditArch: parseInt(m[2]!, 16) >>> 0,
        ip: BigInt(`0x${m[3]}`),
        ret: parseInt(m[4]!, 16) >>> 0,
        ...(obj !== '-' ? { object: obj, offset: BigInt(`0x${m[6]}`) } : {}),
        ...(m[7] !== undefined ? { pid: Number(m[7]) } : {}),
      });
      continue;
    }
    const e = /^exit (code|signal)=(\d+)$/.exec(line);
    if (e) exit = e[1] === 'code' ? { code: Number(e[2]), signal: null } : { code: null, signal: Number(e[2]) };
  }
  return { events, exit };
}

const MAX_WHERE = 8;

/** Names the function enclosing a file offset of an ELF object (its exec segments and symbols). */
export class FunctionNamer {
  private readonly elves = new Map<string, ElfInfo | null>();

  /** resolve: where an object path of the run is on this machine (a VM's paths live in its initramfs). */
  constructor(private readonly resolve: (object: string) => string | undefined = (o) => o) {}

  name(object: string, offset: bigint): string | undefined {
    const elf = this.elf(object);
    if (!elf) return undefined;
    const off = Number(offset);
    const region = elf.exec.find((r) => off >= r.offset && off < r.offset + r.size);
    if (!region) return undefined;
    const addr = region.addr + (off - region.offset);
    let best: { name: string; value: number; size: number } | undefined;
    for (const s of elf.symbols) {
      if (s.type !== 'func' || s.value > addr) continue;
      if (s.size > 0 ? addr < s.value + s.size : addr - s.value < 4096) {
        if (!best || s.value >= best.value) best = s;
      }
    }
    return best?.name;
  }

  private elf(object: string): ElfInfo | null {
    let e = this.elves.get(object);
    if (e !== undefined) return e;
    e = null;
    const path = this.resolve(object);
    if (path) {
      try {
        const f = ElfFile.open(path);
        try {
          e = readElf(f, path);
        } finally {
          f.close();
        }
      } catch {
        e = null;
      }
    }
    this.elves.set(object, e);
    return e;
  }
}

export interface BuildReportInput {
  program: string;
  policy: Policy;
  arch: ArchName;
  mode: RunReport['mode'];
  runner: RunReport['runner'];
  report: SupervisorReport;
  namer?: FunctionNamer;
  notes?: string[];
}

/** The JSON report from the supervisor's events (shared by the host and the VM runners). */
export function buildReport(input: BuildReportInput): RunReport {
  const { report, policy, arch } = input;
  const namer = input.namer ?? new FunctionNamer();
  const notes = [...(input.notes ?? [])];
  const denied = new Map<string, RunDenied & { ips: Set<string> }>();
  let killed: RunReport['killed'];
  for (const ev of report.events) {
    const action = retToAction(ev.ret);
    if (action.kind === 'allow' || action.kind === 'log') continue; // LOG runs: not a denial
    const foreign = ev.auditArch !== policy.arch.auditArch;
    const x32 = !foreign && policy.arch.x32 && ev.nr !== 0xffffffff && (ev.nr & 0x40000000) !== 0;
    const name = foreign
      ? `nr ${ev.nr} (audit arch 0x${ev.auditArch.toString(16)})`
      : x32
        ? `x32 nr ${ev.nr & ~0x40000000}`
        : (syscallName(arch, ev.nr) ?? `nr ${ev.nr}`);
    const act = formatAction(action);
    const key = `${ev.auditArch}:${ev.nr}:${act}`;
    let d = denied.get(key);
    if (!d) {
      d = { name, nr: ev.nr, count: 0, action: act, where: [], ips: new Set() };
      denied.set(key, d);
    }
    d.count++;
    const ip = `0x${ev.ip.toString(16)}`;
    if (!d.ips.has(ip) && d.where.length < MAX_WHERE) {
      d.ips.add(ip);
      const w: RunWhere = { ip };
      if (ev.object !== undefined && ev.offset !== undefined) {
        w.object = ev.object;
        w.offset = `0x${ev.offset.toString(16)}`;
        const fn = namer.name(ev.object, ev.offset);
        if (fn) w.function = fn;
      }
      d.where.push(w);
    }
    if (!killed && (action.kind === 'kill-process' || action.kind === 'kill-thread')) killed = { name, nr: ev.nr, ip };
  }
  if (killed) notes.push(`killed (SIGSYS on the device) by ${killed.name}: the run was stopped there`);
  const exit = report.exit
    ? { code: report.exit.code, signal: report.exit.signal === null ? null : signalName(report.exit.signal) }
    : { code: null, signal: null };
  if (!report.exit) notes.push('the supervisor did not report how the program ended');
  return {
    program: input.program,
    target: policy.target.id,
    firmware: policy.firmware,
    arch,
    mode: input.mode,
    runner: input.runner,
    exit,
    ...(killed ? { killed } : {}),
    denied: [...denied.values()].map(({ ips: _ips, ...d }) => d),
    notes,
  };
}

function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Runs an x86_64 program on this machine's kernel under the policy's filter. */
export async function runOnHost(opts: RunOptions, policy: Policy, filter: Uint8Array): Promise<RunReport> {
  if (process.arch !== 'x64' || process.platform !== 'linux') {
    throw new InputError(`x86_64 programs run natively only on an x86_64 Linux host (this is ${process.platform}/${process.arch})`);
  }
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? defaultCacheDir(env);
  const cc = env.CC ? env.CC.split(/\s+/).filter(Boolean) : ['cc'];
  const sup = supervisorBinary(cc, cacheDir);
  const dir = mkdtempSync(join(tmpdir(), 'sysgate-run-'));
  try {
    const filterPath = join(dir, 'filter.bpf');
    const reportPath = join(dir, 'report.txt');
    writeFileSync(filterPath, filter);
    const stderrNotes: string[] = [];
    // SIGINT/SIGTERM/SIGHUP go on to the supervisor, which passes them to the program's group;
    // this process stays to write the report.
    let forward: ((sig: NodeJS.Signals) => void) | undefined;
    const hold = (sig: NodeJS.Signals) => forward?.(sig);
    const held: NodeJS.Signals[] = opts.io ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of held) process.on(s, hold);
    const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      const io = opts.io;
      const child = spawn(sup.path, [filterPath, reportPath, '--', opts.program, ...opts.args], {
        stdio: io ? [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] : 'inherit',
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        env: env as NodeJS.ProcessEnv,
      });
      child.on('error', reject);
      forward = (sig) => void child.kill(sig);
      if (io) {
        child.stdout!.on('data', (b: Buffer) => io.stdout(b));
        child.stderr!.on('data', (b: Buffer) => io.stderr(b));
        if (io.stdin) {
          child.stdin!.on('error', () => {}); // the program need not read it all
          child.stdin!.end(io.stdin);
        }
      }
      child.on('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => {
      for (const s of held) process.off(s, hold);
    });
    const text = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '';
    const parsed = parseSupervisorReport(text);
    if (!parsed.exit && (status.code === 2 || status.code === 125)) {
      throw new InputError(`the supervisor could not start ${opts.program} (exit ${status.code}; its message is above)`);
    }
    if (status.signal) stderrNotes.push(`the supervisor itself ended by ${status.signal}`);
    return buildReport({
      program: opts.program,
      policy,
      arch: policy.arch.name,
      mode: 'enforced',
      runner: { kind: 'host', detail: `Linux ${kernelRelease()}, seccomp user notification (supervisor ${sup.path})` },
      report: parsed,
      notes: stderrNotes,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
