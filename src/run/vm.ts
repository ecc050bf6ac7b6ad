/**
 * `sysgate run` for ARM and AArch64 programs: a real kernel of their arch under qemu-system.
 *
 * The guest is an initramfs (cpio newc, written here) holding /init (templates/run/init.c), the
 * supervisor (the same C source the host runs, built `<triplet>-gcc -static`), the shipped filter
 * bytes, the program, and for dynamic programs its interpreter and every DT_NEEDED library
 * (transitively) from the sysroot. /init runs `supervise /filter /report -- PROGRAM ARGS...` and
 * prints the program's stdout, stderr and the supervisor's report hex-encoded between markers on
 * the console, then powers off. Each boot is bounded by a timeout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { defaultCacheDir } from '../buildsys/shim-cache.ts';
import { retToAction } from '../bpf/types.ts';
import { readElf } from '../elf/reader.ts';
import type { ElfInfo } from '../elf/types.ts';
import { InputError } from '../errors.ts';
import { formatAction } from '../policy/action.ts';
import type { Policy } from '../policy/types.ts';
import { syscallName } from '../syscalls/table.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { TEMPLATES } from '../templates/templates.generated.ts';
import { FunctionNamer, parseSupervisorReport } from './host.ts';
import { findKernel, vmMachine, type VmMachine } from './kernels.ts';
import type { RunDenied, RunOptions, RunReport, RunWhere } from './types.ts';

const MAX_WHERE = 8;
const DEFAULT_TIMEOUT_S = 120;

export async function runInVm(opts: RunOptions, policy: Policy, filter: Uint8Array): Promise<RunReport> {
  const arch = policy.arch.name;
  const m = vmMachine(arch);
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? defaultCacheDir(env);
  if (!onPath(m.qemu, env)) throw new InputError(`${m.qemu} not found: apt-get install ${m.qemuPackage}`);
  const kernel = findKernel(arch, env, opts.cacheDir);
  const program = resolve(opts.program);
  const guest = collectGuest(program, arch, m, opts.sysroot);
  const supervisor = guestTool(m, 'supervise', supervisorSource(), cacheDir);
  const init = guestTool(m, 'init', TEMPLATES['run/init.c']!, cacheDir);

  // One word: the supervisor's report separates fields by spaces.
  const progGuest = `/prog/${basename(program).replace(/[^\w.+-]/g, '_')}`;
  const files: CpioEntry[] = [
    dir('/dev'),
    dir('/proc'),
    dir('/sys'),
    dir('/tmp'),
    dir('/lib'),
    dir('/prog'),
    { path: '/dev/console', mode: 0o020600, rdev: [5, 1] },
    { path: '/init', mode: 0o100755, data: readFileSync(init) },
    { path: '/supervise', mode: 0o100755, data: readFileSync(supervisor) },
    { path: '/filter', mode: 0o100644, data: filter },
    { path: '/args', mode: 0o100644, data: Buffer.from([progGuest, ...opts.args].map((a) => `${a}\0`).join('')) },
    { path: progGuest, mode: 0o100755, data: readFileSync(program) },
  ];
  for (const g of guest.files) {
    for (const d of parents(g.guest)) if (!files.some((f) => f.path === d)) files.push(dir(d));
    files.push({ path: g.guest, mode: 0o100755, data: readFileSync(g.host) });
  }
  if (opts.io?.stdin) files.push({ path: '/stdin', mode: 0o100644, data: opts.io.stdin });
  // Files the arguments name go in at their host paths, and the program runs in the host's
  // working directory, so `run -- prog data.txt` reads the same bytes in the guest.
  const argFiles = argumentFiles(opts.args, opts.cwd ?? process.cwd());
  for (const f of argFiles) {
    for (const d of parents(f.guest)) if (!files.some((e) => e.path === d)) files.push(dir(d));
    // With the host file's mode and time: programs look at both (gzip keeps the time, and warns
    // and exits 2 on a file dated 1970 with mtime 0).
    const st = statSync(f.host);
    if (!files.some((e) => e.path === f.guest))
      files.push({ path: f.guest, mode: 0o100000 | (st.mode & 0o7777), data: readFileSync(f.host), mtime: Math.floor(st.mtimeMs / 1000) });
  }
  const cwd = resolve(opts.cwd ?? process.cwd());
  for (const d of [...parents(join(cwd, 'x'))]) if (!files.some((e) => e.path === d)) files.push(dir(d));
  files.push({ path: '/cwd', mode: 0o100644, data: Buffer.from(cwd) });

  const work = mkdtempSync(join(tmpdir(), 'sysgate-vm-'));
  try {
    const initrd = join(work, 'initrd.cpio');
    writeFileSync(initrd, cpioNewc(files));
    const args = [
      ...m.machine,
      '-m',
      '256',
      '-kernel',
      kernel.path,
      '-initrd',
      initrd,
      '-append',
      `console=${m.console} quiet panic=-1`,
      '-nographic',
      '-no-reboot',
      '-nic',
      'none',
    ];
    const timeout = (opts.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
    const t0 = performance.now();
    const boot = await runQemu(m.qemu, args, timeout, env);
    const seconds = (performance.now() - t0) / 1000;
    const detail = `${m.qemu} ${m.machine.join(' ')} -m 256, Linux ${kernel.version}, boot and run ${seconds.toFixed(1)} s`;
    const base = {
      program: opts.program,
      target: policy.target.id,
      firmware: policy.firmware,
      arch,
      mode: 'enforced' as const,
      runner: { kind: 'qemu-system' as const, detail },
    };
    if (boot.timedOut) {
      return { ...base, exit: { code: null, signal: null }, denied: [], notes: [`the guest did not finish within ${timeout / 1000} s and was stopped`] };
    }
    const out = parseConsole(boot.console);
    if (!out) {
      const last =
        boot.console
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean)
          .pop() ?? `${m.qemu} exited with status ${boot.status}`;
      throw new InputError(`the ${arch} guest ended without a report: ${last}`);
    }
    const io = opts.io ?? { stdout: (b: Uint8Array) => process.stdout.write(b), stderr: (b: Uint8Array) => process.stderr.write(b) };
    if (out.files.out1?.length) io.stdout(out.files.out1);
    if (out.files.out2?.length) io.stderr(out.files.out2);
    const reportText = out.files.report ? Buffer.from(out.files.report).toString('utf8') : '';
    const objects = new Map<string, string>([[progGuest, program], ...guest.files.map((g) => [g.guest, g.host] as [string, string])]);
    const report = reportFromSupervise(reportText, arch, objects);
    if (!report.exit) {
      const why = out.files.out2
        ? Buffer.from(out.files.out2)
            .toString('utf8')
            .split('\n')
            .find((l) => l.startsWith('supervise:'))
        : undefined;
      throw new InputError(`the ${arch} guest's supervisor gave no exit status: ${why ?? `init status ${out.status}`}`);
    }
    const notes: string[] = [];
    if (report.killed) notes.push(`killed (SIGSYS on the device) at ${report.killed.name}`);
    notes.push(`booted in a real ${arch} kernel (Linux ${kernel.version}) under ${m.qemu}: ${seconds.toFixed(1)} s from start to power-off`);
    if (opts.io?.stdin === undefined) notes.push("the program's stdin was /dev/null (the guest gets its stdin before boot)");
    if (argFiles.length) notes.push(`copied into the guest: ${argFiles.map((f) => f.host).join(', ')}`);
    return { ...base, exit: report.exit, ...(report.killed ? { killed: report.killed } : {}), denied: report.denied, notes };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const MAX_ARG_FILE = 64 << 20;

/** Regular files (up to 64 MiB) the program's arguments name, relative to cwd. */
export function argumentFiles(args: readonly string[], cwd: string): GuestFile[] {
  const out: GuestFile[] = [];
  for (const a of args) {
    if (!a || (a.startsWith('-') && !a.includes('/'))) continue;
    const host = resolve(cwd, a);
    try {
      const st = statSync(host);
      if (st.isFile() && st.size <= MAX_ARG_FILE && host !== '/' && !host.startsWith('/proc/') && !host.startsWith('/sys/') && !host.startsWith('/dev/'))
        out.push({ guest: host, host });
    } catch {
      /* not a file here: passed as it is */
    }
  }
  return out;
}

function supervisorSource(): string {
  const s = TEMPLATES['run/supervise.c'];
  if (!s) throw new Error('templates/run/supervise.c is not bundled (npm run gen:templates)');
  return s;
}

/** Whether `name` is on PATH (of env, default this process's). */
export function onPath(name: string, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { PATH: env.PATH ?? '' } }).status === 0;
}

// ---- the guest's files --------------------------------------------------------------------

export interface GuestFile {
  guest: string;
  host: string;
}

/** The interpreter and the DT_NEEDED closure of a program, found in the sysroot. */
export function collectGuest(program: string, arch: ArchName, m: VmMachine, sysrootOpt?: string): { elf: ElfInfo; files: GuestFile[] } {
  const elf = readProgram(program);
  if (elf.arch !== arch) throw new InputError(`${program}: an ${elf.arch ?? 'unknown-arch'} program, not ${arch}`);
  if (elf.static) return { elf, files: [] };
  const sysroot = resolve(sysrootOpt ?? `/usr/${m.triplet}`);
  if (!existsSync(sysroot) || !statSync(sysroot).isDirectory()) {
    throw new InputError(`sysroot ${sysroot} not found: pass --sysroot DIR${sysrootOpt ? '' : ` or apt-get install ${m.libcDevPackage}`}`);
  }
  const files: GuestFile[] = [];
  if (elf.interp) {
    const cands = [join(sysroot, elf.interp), join(sysroot, 'lib', basename(elf.interp)), join(sysroot, 'lib', m.triplet, basename(elf.interp))];
    const host = cands.map((c) => inSysroot(sysroot, c)).find((c) => c !== undefined);
    if (!host) throw new InputError(`${program}: its interpreter ${elf.interp} is not in the sysroot ${sysroot} (--sysroot DIR)`);
    files.push({ guest: elf.interp, host });
  }
  const dirs = (e: ElfInfo, file: string): string[] => [
    ...[e.rpath, e.runpath]
      .filter((x): x is string => !!x)
      .flatMap((r) => r.split(':'))
      .map((d) => d.replace(/\$\{?ORIGIN\}?/g, dirname(file)))
      .map((d) => (d.startsWith(dirname(file)) ? d : join(sysroot, d))),
    join(sysroot, 'lib', m.triplet),
    join(sysroot, 'usr/lib', m.triplet),
    join(sysroot, 'lib'),
    join(sysroot, 'usr/lib'),
  ];
  const seen = new Set<string>();
  const queue: [ElfInfo, string][] = [[elf, program]];
  while (queue.length) {
    const [e, file] = queue.shift()!;
    for (const name of e.needed) {
      if (seen.has(name)) continue;
      seen.add(name);
      const real = (isAbsolute(name) ? [join(sysroot, name)] : dirs(e, file).map((d) => join(d, name)))
        .map((p) => inSysroot(sysroot, p))
        .find((p) => p !== undefined);
      if (!real) throw new InputError(`${basename(file)} needs ${name}, which is not in the sysroot ${sysroot} (--sysroot DIR)`);
      const guest = isAbsolute(name) ? name : `/lib/${name}`;
      if (files.some((f) => f.guest === guest)) continue; // the interpreter, already there
      files.push({ guest, host: real });
      queue.push([readProgram(real), real]);
    }
  }
  return { elf, files };
}

/**
 * The regular file `path` (inside the sysroot) stands for, following symlinks as the guest would:
 * an absolute link target is inside the sysroot (Debian's /lib/ld-linux-armhf.so.3 ->
 * /lib/arm-linux-gnueabihf/ld-linux-armhf.so.3), not on this machine. undefined: no such file.
 */
export function inSysroot(sysroot: string, path: string): string | undefined {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      return undefined;
    }
    if (st.isFile()) return p;
    if (!st.isSymbolicLink()) return undefined;
    const t = readlinkSync(p);
    p = isAbsolute(t) ? join(sysroot, t) : join(dirname(p), t);
  }
  return undefined;
}

function readProgram(file: string): ElfInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return readElf(bytes, file);
}

/** A static guest binary built from C source with the arch's cross compiler, cached by content. */
export function guestTool(m: VmMachine, name: string, source: string, cacheDir: string): string {
  const flags = ['-static', '-O2', '-w'];
  const key = createHash('sha256').update(source).update('\0').update(m.cc).update('\0').update(flags.join(' ')).digest('hex').slice(0, 20);
  const dirPath = join(cacheDir, 'run', `${m.arch}-${name}-${key}`);
  const bin = join(dirPath, name);
  if (existsSync(bin)) return bin;
  if (!onPath(m.cc)) throw new InputError(`${m.cc} not found: apt-get install ${m.ccPackage} (it builds the guest's ${name})`);
  mkdirSync(dirPath, { recursive: true });
  const src = join(dirPath, `${name}.c`);
  writeFileSync(src, source);
  const tmp = join(dirPath, `.${name}.${process.pid}`);
  const r = spawnSync(m.cc, [...flags, src, '-o', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr.split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`).trim();
    throw new InputError(`cannot build the guest's ${name} with ${m.cc}: ${why}`);
  }
  renameSync(tmp, bin);
  return bin;
}

// ---- cpio newc ----------------------------------------------------------------------------

export interface CpioEntry {
  path: string;
  mode: number;
  data?: Uint8Array;
  rdev?: [number, number] /** seconds since the epoch (default 0) */;
  mtime?: number;
}

function dir(path: string): CpioEntry {
  return { path, mode: 0o040755 };
}

function parents(p: string): string[] {
  const out: string[] = [];
  for (let d = dirname(p); d !== '/' && d !== '.'; d = dirname(d)) out.unshift(d);
  return out;
}

/** An initramfs archive (cpio "newc"), deterministic: inode numbers in order, uid 0, mtime 0 unless an entry gives one. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  const pad = (len: number) => Buffer.alloc((4 - (len % 4)) % 4);
  const add = (name: string, mode: number, data: Uint8Array, ino: number, rdev: [number, number] = [0, 0], mtime = 0) => {
    const nameBytes = Buffer.from(`${name}\0`);
    const header = `070701${[ino, mode, 0, 0, (mode & 0o170000) === 0o040000 ? 2 : 1, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0].map(hex).join('')}`;
    chunks.push(Buffer.from(header, 'ascii'), nameBytes, pad(110 + nameBytes.length));
    chunks.push(Buffer.from(data), pad(data.length));
  };
  entries.forEach((e, i) => add(e.path.replace(/^\/+/, ''), e.mode, e.data ?? new Uint8Array(0), i + 1, e.rdev, e.mtime));
  add('TRAILER!!!', 0, new Uint8Array(0), 0);
  return Buffer.concat(chunks);
}

// ---- the boot -----------------------------------------------------------------------------

interface Boot {
  console: string;
  status: number | null;
  timedOut: boolean;
}

function runQemu(qemu: string, args: string[], timeoutMs: number, env: Readonly<Record<string, string | undefined>>): Promise<Boot> {
  return new Promise((resolveBoot, reject) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new InputError(`${qemu}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      const console = Buffer.concat(out).toString('latin1');
      const stderr = Buffer.concat(err).toString('utf8').trim();
      resolveBoot({ console: stderr && !console.includes('@@SYSGATE-END@@') ? `${console}\n${stderr}` : console, status, timedOut });
    });
  });
}

export interface ConsoleOut {
  status: number;
  files: Record<string, Uint8Array>;
}

/** The part of the console between /init's markers: its files, decoded. */
export function parseConsole(text: string): ConsoleOut | undefined {
  const begin = text.indexOf('@@SYSGATE-BEGIN@@');
  const end = text.indexOf('@@SYSGATE-END@@', begin);
  if (begin < 0 || end < 0) return undefined;
  const lines = text
    .slice(begin, end)
    .split(/\r?\n/)
    .map((l) => l.replace(/\r/g, ''));
  let status = -1;
  const files: Record<string, Uint8Array> = {};
  let cur: { name: string; hex: string[] } | undefined;
  const flush = () => {
    if (cur) files[cur.name] = Buffer.from(cur.hex.join(''), 'hex');
    cur = undefined;
  };
  for (const l of lines) {
    let mm: RegExpMatchArray | null;
    if ((mm = l.match(/^@@SYSGATE-STATUS (-?\d+)@@/))) status = Number(mm[1]);
    else if ((mm = l.match(/^@@SYSGATE-FILE (\S+) (-?\d+)@@/))) {
      flush();
      if (Number(mm[2]) >= 0) cur = { name: mm[1]!, hex: [] };
    } else if (cur && /^[0-9a-f]+$/.test(l)) cur.hex.push(l);
  }
  flush();
  return { status, files };
}

// ---- the supervisor's report --------------------------------------------------------------

export interface SuperviseLine {
  nr: number;
  arch: number;
  ip: bigint;
  ret: number;
  obj?: string;
  off?: bigint;
}

/** Lines of the supervisor's REPORT file (see the contract in templates/run/supervise.c). */
export function parseSupervise(text: string): { calls: SuperviseLine[]; exit?: { code: number | null; signal: number | null } } {
  // One reader of the supervisor's REPORT format, the host runner's.
  const r = parseSupervisorReport(text);
  const calls = r.events.map(
    (e): SuperviseLine => ({
      nr: e.nr,
      arch: e.auditArch,
      ip: e.ip,
      ret: e.ret,
      ...(e.object !== undefined ? { obj: e.object, off: e.offset ?? 0n } : {}),
    }),
  );
  return { calls, ...(r.exit ? { exit: r.exit } : {}) };
}

export function signalName(n: number): string {
  const found = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return found ? found[0] : `SIG${n}`;
}

/**
 * Denied calls grouped by number (first-seen order), their device answers and where from;
 * `objects` maps paths as the guest saw them to the host files (for function names).
 */
export function reportFromSupervise(
  text: string,
  arch: ArchName,
  objects: ReadonlyMap<string, string>,
): { denied: RunDenied[]; killed?: RunReport['killed']; exit?: RunReport['exit'] } {
  const parsed = parseSupervise(text);
  const byNr = new Map<number, RunDenied & { ips: Set<string> }>();
  let killed: RunReport['killed'];
  const functions = new FunctionNamer();
  const namer = (file: string, off: bigint) => functions.name(file, off);
  for (const c of parsed.calls) {
    const action = retToAction(c.ret);
    if (action.kind === 'allow' || action.kind === 'log') continue;
    const name = syscallName(arch, c.nr) ?? `nr_${c.nr}`;
    let d = byNr.get(c.nr);
    if (!d) byNr.set(c.nr, (d = { name, nr: c.nr, count: 0, action: formatAction(action), where: [], ips: new Set() }));
    d.count++;
    const ip = `0x${c.ip.toString(16)}`;
    if (!d.ips.has(ip) && d.ips.size < MAX_WHERE) {
      d.ips.add(ip);
      const w: RunWhere = { ip };
      if (c.obj !== undefined) {
        const host = objects.get(c.obj) ?? c.obj;
        w.object = host;
        w.offset = `0x${c.off!.toString(16)}`;
        const fn = namer(host, c.off!);
        if (fn) w.function = fn;
      }
      d.where.push(w);
    }
    if (!killed && (action.kind === 'kill-process' || action.kind === 'kill-thread')) killed = { name, nr: c.nr, ip };
  }
  const denied = [...byNr.values()].map(({ ips: _ips, ...d }) => d);
  const exit = parsed.exit ? { code: parsed.exit.code, signal: parsed.exit.signal === null ? null : signalName(parsed.exit.signal) } : undefined;
  return { denied, ...(killed ? { killed } : {}), ...(exit ? { exit } : {}) };
}
