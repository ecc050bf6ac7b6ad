/**
 * `sysgate run` where no kernel of the program's arch can be had (ppc64 and ppc: Debian ships no
 * big-endian PowerPC kernel, and qemu-user refuses PR_SET_SECCOMP): the program runs under
 * `qemu-<arch> -L SYSROOT -strace` with no filter, every observed call is judged against the policy
 * (src/policy/evaluate.ts), and the report says so: mode "observed", and where the device would
 * have stopped the program (the first denied call and its answer).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readElf } from '../elf/reader.ts';
import { InputError } from '../errors.ts';
import { formatAction, isAllow } from '../policy/action.ts';
import { callOutcome, evaluatePolicy } from '../policy/call.ts';
import type { Policy } from '../policy/types.ts';
import { ARCH_NAMES, ARCHES, type ArchName } from '../syscalls/arches.ts';
import { syscallName, syscallNumber } from '../syscalls/table.ts';
import type { RunDenied, RunOptions, RunReport } from './types.ts';
import { onPath } from './vm.ts';

interface UserEmu {
  qemu: string;
  triplet: string;
  sysrootPackage: string;
}

/** Arches whose programs are observed under qemu-user, in ARCH_NAMES order. */
export const OBSERVED_ARCHES: readonly ArchName[] = ARCH_NAMES.filter((a) => ARCHES[a].runner?.kind === 'observed');

/** qemu-user for an arch (ArchInfo.runner), with the record's first triplet as the default sysroot /usr/<triplet>. */
export function userEmu(arch: ArchName): UserEmu {
  const a = ARCHES[arch];
  if (a.runner?.kind !== 'observed') throw new InputError(`${arch} programs are not observed under qemu-user (${OBSERVED_ARCHES.join(' and ')} are)`);
  return { qemu: a.runner.qemuUser, triplet: a.triplets[0]!, sysrootPackage: `libc6-dev-${a.debianArch}-cross` };
}

/** One call from qemu's -strace log. */
export interface ObservedCall {
  pid: number;
  name: string;
  args: string[] /** qemu's `Unknown syscall N` (a call it has no strace name for, e.g. rseq in qemu 7.2). */;
  nr?: number;
}

/**
 * Calls of a qemu-user strace log: `PID name(args...) = result`, or the `PID name(args...` half of
 * a call that blocked (its ` = result` comes on a line of its own). Signals (`--- SIG...`) and
 * results are not calls.
 */
export function parseQemuStrace(text: string): ObservedCall[] {
  const calls: ObservedCall[] = [];
  for (const line of text.split('\n')) {
    const u = line.match(/^(\d+) Unknown syscall (\d+)/);
    if (u) {
      calls.push({ pid: Number(u[1]), name: '', args: [], nr: Number(u[2]) });
      continue;
    }
    const m = line.match(/^(\d+) ([a-z_][a-z0-9_]*)\((.*)$/);
    if (!m) continue;
    calls.push({ pid: Number(m[1]), name: m[2]!, args: splitArgs(m[3]!) });
  }
  return calls;
}

/** The top-level, comma-separated arguments up to the closing parenthesis. */
function splitArgs(rest: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '',
    quoted = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (quoted) {
      cur += c;
      if (c === '\\') cur += rest[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') {
      quoted = true;
      cur += c;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        out.push(cur.trim());
        return out.filter((a, j) => a !== '' || j > 0);
      }
      depth--;
    }
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** A numeric argument as the kernel would see it (u64), or undefined for symbolic ones. */
function argValue(a: string): bigint | undefined {
  if (a === 'NULL') return 0n;
  if (/^0x[0-9a-f]+$/i.test(a)) return BigInt(a);
  if (/^-?\d+$/.test(a)) return BigInt.asUintN(64, BigInt(a));
  return undefined;
}

/** Judge observed calls against the policy: denied calls in first-seen order, and notes. */
export function judgeObserved(
  calls: readonly ObservedCall[],
  policy: Policy,
): { denied: RunDenied[]; first?: { name: string; nr: number; action: string }; notes: string[] } {
  const byName = new Map<string, RunDenied>();
  const notes: string[] = [];
  const unknown = new Set<string>();
  const symbolic = new Set<string>();
  let first: { name: string; nr: number; action: string } | undefined;
  for (const c of calls) {
    const nr = c.nr ?? syscallNumber(policy.arch.name, c.name);
    if (nr === null) {
      unknown.add(c.name);
      continue;
    }
    const name = c.nr !== undefined ? (syscallName(policy.arch.name, c.nr) ?? `nr_${c.nr}`) : c.name;
    const args = c.args.map(argValue);
    if (callOutcome(policy, nr).conditional && args.some((a) => a === undefined)) symbolic.add(name);
    const action = evaluatePolicy(
      policy,
      nr,
      args.map((a) => a ?? 0n),
    );
    if (isAllow(action)) continue;
    const text = formatAction(action);
    let d = byName.get(name);
    if (!d) byName.set(name, (d = { name, nr, count: 0, action: text, where: [] }));
    d.count++;
    first ??= { name, nr, action: text };
  }
  if (unknown.size) notes.push(`calls qemu named but the ${policy.arch.name} table does not know, not judged: ${[...unknown].sort().join(', ')}`);
  if (symbolic.size) notes.push(`arguments qemu printed symbolically were judged as 0: ${[...symbolic].sort().join(', ')}`);
  return { denied: [...byName.values()], ...(first ? { first } : {}), notes };
}

export async function runObserved(opts: RunOptions, policy: Policy, _filter: Uint8Array): Promise<RunReport> {
  const arch = policy.arch.name;
  const emu = userEmu(arch);
  const env = opts.env ?? process.env;
  if (!onPath(emu.qemu, env)) throw new InputError(`${emu.qemu} not found: apt-get install qemu-user`);
  const program = resolve(opts.program);
  let elf: ReturnType<typeof readElf>;
  try {
    elf = readElf(readFileSync(program), program);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${program}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (elf.arch !== arch) throw new InputError(`${program}: an ${elf.arch ?? 'unknown-arch'} program, not ${arch}`);
  const sysroot = resolve(opts.sysroot ?? `/usr/${emu.triplet}`);
  if (!elf.static && (!existsSync(sysroot) || !statSync(sysroot).isDirectory())) {
    throw new InputError(`sysroot ${sysroot} not found: pass --sysroot DIR${opts.sysroot ? '' : ` or apt-get install ${emu.sysrootPackage}`}`);
  }
  const work = mkdtempSync(join(tmpdir(), 'sysgate-observe-'));
  const log = join(work, 'strace.log');
  const args = ['-L', sysroot, '-d', 'strace', '-D', log, program, ...opts.args];
  const timeout = (opts.timeoutSeconds ?? 120) * 1000;
  try {
    const io = opts.io ?? { stdout: (b: Uint8Array) => process.stdout.write(b), stderr: (b: Uint8Array) => process.stderr.write(b) };
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((done, reject) => {
      const child = spawn(emu.qemu, args, {
        stdio: [opts.io?.stdin ? 'pipe' : 'inherit', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeout);
      child.stdout!.on('data', (b: Buffer) => io.stdout(b));
      child.stderr!.on('data', (b: Buffer) => io.stderr(b));
      if (opts.io?.stdin && child.stdin) child.stdin.end(Buffer.from(opts.io.stdin));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new InputError(`${emu.qemu}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        done({ code, signal, timedOut });
      });
    });
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const judged = judgeObserved(parseQemuStrace(text), policy);
    const notes = [
      `observed, not enforced: no ${arch} kernel can be had here, so the program ran under ${emu.qemu} -strace with no filter and every call it made was judged against the policy`,
    ];
    if (judged.first) {
      const kills = judged.denied.find((d) => d.action.startsWith('kill'));
      notes.push(
        kills
          ? `on the device it would have been killed (SIGSYS) at its first ${kills.name} call${judged.first.name !== kills.name ? ` (denied before that: ${judged.first.name}, ${judged.first.action})` : ''}; the calls listed after it were observed here and would not have happened there`
          : `on the device its first denied call is ${judged.first.name} (${judged.first.action}); what it does with that answer is only known from an enforced run`,
      );
    }
    notes.push(
      `${emu.qemu} answers some calls itself, unlike a kernel (set_robust_list and rseq get ENOSYS there): what the program did after a call may differ from the device`,
    );
    if (result.timedOut) notes.push(`the run did not finish within ${timeout / 1000} s and was stopped`);
    notes.push(...judged.notes);
    const kill = judged.denied.find((d) => d.action.startsWith('kill'));
    // qemu-user exits with the guest's status; a guest killed by a signal kills qemu with it.
    const exit = result.timedOut ? { code: null, signal: null } : result.signal ? { code: null, signal: result.signal } : { code: result.code, signal: null };
    return {
      program: opts.program,
      target: policy.target.id,
      firmware: policy.firmware,
      arch,
      mode: 'observed',
      runner: { kind: 'qemu-user', detail: `${emu.qemu} -L ${sysroot} -strace` },
      exit,
      ...(kill ? { killed: { name: kill.name, nr: kill.nr } } : {}),
      denied: judged.denied,
      notes,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
