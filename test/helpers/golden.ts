/**
 * The golden outputs: every emitted format for every shipped target, firmware and arch, the JSON
 * of `syscalls`, `explain`, `compat` and `check` on the bundled examples, and the check verdicts
 * on the fixtures as row tables. Produced through the CLI in-process (the interface users see),
 * so a reshape of the code underneath cannot change them unnoticed.
 *
 * `goldenSets()` returns each set as a map from a path under test/golden/ to its bytes; the test
 * compares them byte for byte and `npm run golden` (UPDATE_GOLDEN=1) rewrites them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run } from '../../src/cli/run.ts';
import { buildFixture, TOOLCHAINS, type Toolchain } from './check-build.ts';
import { ROOT } from './paths.ts';
import { hasTool } from './tools.ts';

export const GOLDEN_DIR = join(ROOT, 'test/golden');

export type Golden = Map<string, Buffer>;

interface Captured {
  code: number;
  out: Buffer;
  err: string;
}

async function cli(args: string[]): Promise<Captured> {
  const chunks: Buffer[] = [];
  let err = '';
  const code = await run(args, {
    out: (t) => void chunks.push(Buffer.from(t, 'utf8')),
    outBytes: (b) => void chunks.push(Buffer.from(b)),
    err: (t) => void (err += t),
    color: false,
    isTTY: false,
    errColor: false,
    errIsTTY: false,
    cwd: ROOT,
    env: {},
  });
  return { code, out: Buffer.concat(chunks), err };
}

async function ok(args: string[], codes: number[] = [0]): Promise<Buffer> {
  const r = await cli(args);
  if (!codes.includes(r.code)) throw new Error(`sysgate ${args.join(' ')}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/** Shipped targets with their firmwares ('' when the target has none) and arches. */
export async function shippedMatrix(): Promise<{ id: string; firmwares: string[]; arches: string[] }[]> {
  const list = JSON.parse((await ok(['targets', '--json'])).toString('utf8')) as {
    id: string;
    firmwares: string[];
    arches: string[];
  }[];
  return list.map((t) => ({
    id: t.id,
    firmwares: t.firmwares.length ? t.firmwares.map((f) => f.replace(/\.0$/, '')) : [''],
    arches: t.arches,
  }));
}

const fw = (f: string): string[] => (f ? ['--firmware', f] : []);

/** generate: all formats, every target x firmware x arch; the paired programs; runtime profiles. */
export async function generateSet(): Promise<Golden> {
  const out: Golden = new Map();
  const dir = mkdtempSync(join(tmpdir(), 'sysgate-golden-'));
  try {
    const runs: string[][] = [];
    for (const t of await shippedMatrix()) {
      for (const f of t.firmwares) {
        runs.push(['--target', t.id, ...fw(f), '--arch', 'all']);
        if (t.arches.includes('arm') && t.arches.includes('aarch64')) runs.push(['--target', t.id, ...fw(f), '--arch', 'arm,aarch64']);
        if (t.arches.includes('x86_64')) {
          for (const rt of ['runc', 'crun']) runs.push(['--target', t.id, ...fw(f), '--arch', 'x86_64', '--format', 'oci', '--runtime', rt]);
        }
      }
    }
    for (const args of runs) {
      const sub = mkdtempSync(join(dir, 'g-'));
      await ok(['generate', ...args, '--out', sub]);
      for (const name of readdirSync(sub)) out.set(`generate/${name}`, readFileSync(join(sub, name)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/**
 * The shim (C source and its --json: files, flags, every wrapper with its fallback) for every
 * shipped target, firmware and arch it supports, and the --sigsys variant where a denial traps
 * (the trap-firmware fixture target: no shipped target traps). An arch or target the shim refuses
 * (exit 2) is recorded as refused, so a newly refused one shows as a change too.
 */
export async function shimSet(): Promise<Golden> {
  const out: Golden = new Map();
  const cases: { stem: string; args: string[] }[] = [];
  for (const t of await shippedMatrix()) {
    for (const f of t.firmwares)
      for (const arch of t.arches) cases.push({ stem: `${t.id}${f ? `-${f}` : ''}-${arch}`, args: ['--target', t.id, ...fw(f), '--arch', arch] });
  }
  const trap = 'test/fixtures/targets/extends-codesafe5.json';
  for (const f of ['13.4', '13.5']) {
    for (const arch of ['x86_64', 'aarch64', 'arm', 'ppc', 'ppc64'])
      cases.push({ stem: `trap-${f}-${arch}-sigsys`, args: ['--target', trap, '--firmware', f, '--arch', arch, '--sigsys'] });
  }
  for (const c of cases) {
    const src = await cli(['shim', ...c.args, '--out', '-']);
    if (src.code === 2) {
      out.set(`shim/${c.stem}.refused`, Buffer.from(`${src.err.replaceAll(ROOT, '<root>')}`, 'utf8'));
      continue;
    }
    if (src.code !== 0) throw new Error(`sysgate shim ${c.args.join(' ')}: exit ${src.code}: ${src.err}`);
    out.set(`shim/${c.stem}.shim.c`, src.out);
    out.set(`shim/${c.stem}.json`, await ok(['shim', ...c.args, '--flags', '--json']));
  }
  return out;
}

/** Names explained on every arch: a sample of allowed, denied, absent and arch-specific calls. */
const EXPLAIN_SAMPLE = [
  'read',
  'write',
  'openat',
  'open',
  'getrandom',
  'mount',
  'ptrace',
  'rseq',
  'set_robust_list',
  'clone3',
  'fadvise64',
  'fadvise64_64',
  'arm_fadvise64_64',
  'statx',
  'fstat',
  'stat64',
  'fcntl64',
  'mmap2',
  '_llseek',
  'clock_gettime64',
  'socket',
  'socketcall',
  'ipc',
  'signalfd4',
  'inotify_init1',
  'epoll_pwait2',
  'kill',
  'futex',
  'ioctl',
  'prctl',
  'seccomp',
  'capget',
  'execve',
  'ugetrlimit',
  'getuid32',
];

/** syscalls, explain and compat JSON for every target x firmware x arch. */
export async function policySet(): Promise<Golden> {
  const out: Golden = new Map();
  for (const t of await shippedMatrix()) {
    for (const arch of t.arches) {
      for (const f of t.firmwares) {
        const stem = `${t.id}${f ? `-${f}` : ''}-${arch}`;
        const listed = await ok(['syscalls', '--target', t.id, ...fw(f), '--arch', arch, '--json']);
        out.set(`syscalls/${stem}.json`, listed);
        const names = new Set<string>(EXPLAIN_SAMPLE);
        for (const s of JSON.parse(listed.toString('utf8')).syscalls ?? []) names.add(s.name);
        out.set(`explain/${stem}.json`, await ok(['explain', '--target', t.id, ...fw(f), '--arch', arch, '--json', ...[...names].sort()]));
      }
      const fws = t.firmwares.filter(Boolean);
      for (const from of fws) {
        for (const to of fws) {
          if (from === to) continue;
          out.set(`compat/${t.id}-${arch}-${from}-to-${to}.json`, await ok(['compat', '--target', t.id, '--from', from, '--to', to, '--arch', arch, '--json']));
        }
      }
    }
  }
  return out;
}

/** check of the bundled examples: JSON, text and SARIF, at each firmware and across all. */
export async function examplesSet(): Promise<Golden> {
  const out: Golden = new Map();
  const files = readdirSync(join(ROOT, 'examples/bin')).sort();
  for (const t of await shippedMatrix()) {
    if (t.id !== 'codesafe5') continue; // the examples are ARM CodeSafe applications
    for (const name of files) {
      const file = `examples/bin/${name}`;
      for (const f of [...t.firmwares, 'all']) {
        const stem = `check/${name}-${t.id}-${f}`;
        out.set(`${stem}.json`, await ok(['check', file, '--target', t.id, '--firmware', f, '--format', 'json'], [0, 1]));
        out.set(`${stem}.txt`, await ok(['check', file, '--target', t.id, '--firmware', f], [0, 1]));
      }
      // SARIF names the checkout as SRCROOT's URI: the one byte string that depends on where the
      // repository lies, so it is written as file:///SRCROOT/ in the golden copy.
      const sarif = (await ok(['check', file, '--target', t.id, '--firmware', '13.7', '--format', 'sarif'], [0, 1])).toString('utf8');
      out.set(`check/${name}-${t.id}-13.7.sarif`, Buffer.from(sarif.split(pathToFileURL(`${ROOT}/`).href).join('file:///SRCROOT/'), 'utf8'));
    }
  }
  return out;
}

/** The fixtures the verdict table is made of: name, link and extra compiler flags. */
const VERDICT_FIXTURES: { name: string; link: string; flags: string[] }[] = [
  { name: 'hello', link: 'dynamic', flags: [] },
  { name: 'hello', link: 'static', flags: ['-static'] },
  { name: 'returns', link: 'dynamic', flags: [] },
  { name: 'calls', link: 'dynamic', flags: [] },
  { name: 'calls', link: 'static', flags: ['-static'] },
  { name: 'stdio', link: 'dynamic', flags: [] },
  { name: 'entropy', link: 'dynamic', flags: [] },
  { name: 'entropy', link: 'static', flags: ['-static'] },
  { name: 'entropy', link: 'static-stripped', flags: ['-static', '-s'] },
  { name: 'dynamic-number', link: 'dynamic', flags: [] },
  { name: 'operations', link: 'dynamic', flags: [] },
  { name: 'operations', link: 'dynamic-advise', flags: ['-DADVISE'] },
  { name: 'signalfd', link: 'dynamic', flags: [] },
];

interface CheckJson {
  syscalls: { name: string; verdict: string; how?: string; severity: string }[];
  unresolved: unknown[];
  unknownImports: string[];
  summary: { fatal: number; warnings: number; unresolved: number; unmodelled: number };
}

function rows(fixture: string, arch: string, link: string, target: string, firmware: string, j: CheckJson, code: number): string[] {
  const head = `${fixture} ${arch} ${link} ${target} ${firmware || '-'}`;
  const lines = [
    `${head} = ${code === 0 ? 'PASS' : 'FAIL'} fatal=${j.summary.fatal} warnings=${j.summary.warnings} unresolved=${j.summary.unresolved} unmodelled=${j.summary.unmodelled}`,
  ];
  for (const s of j.syscalls) {
    if (s.verdict === 'allowed') continue; // allowed calls are the `syscalls` set's business
    lines.push(`${head} ${s.name} -> ${s.how ? `${s.verdict}:${s.how}` : s.verdict} ${s.severity}`);
  }
  // Each import the knowledge base does not model is a depends finding of its own.
  for (const n of j.unknownImports) lines.push(`${head} import ${n} -> depends warning`);
  return lines;
}

const TABLE_HEADER = [
  '# sysgate check verdicts on test/fixtures/check, built by the Debian cross compilers (rows in the',
  "# style of libseccomp's .tests files). One line per file and policy, then one per call that is not",
  '# simply allowed:',
  '#   fixture arch link target firmware = PASS|FAIL fatal=N warnings=N unresolved=N unmodelled=N',
  '#   fixture arch link target firmware syscall -> verdict[:how] severity',
  '#   fixture arch link target firmware import NAME -> depends warning   (not modelled)',
  '# Regenerate with `npm run golden` and review the diff.',
  '',
];

/** The compilers the table needs; the table for an arch is made only when its compiler is here. */
export function verdictToolchains(): { present: Toolchain[]; missing: Toolchain[] } {
  const present: Toolchain[] = [];
  const missing: Toolchain[] = [];
  for (const tc of TOOLCHAINS) (hasTool(tc.cc) ? present : missing).push(tc);
  return { present, missing };
}

/** Check verdict row tables, one file per arch (test/golden/verdicts/<arch>.tests). */
export async function verdictSet(toolchains: Toolchain[]): Promise<Golden> {
  const out: Golden = new Map();
  const matrix = await shippedMatrix();
  for (const tc of toolchains) {
    const lines = [...TABLE_HEADER];
    const builds: { fixture: string; link: string; file: string }[] = [];
    for (const fx of VERDICT_FIXTURES) builds.push({ fixture: fx.name, link: fx.link, file: buildFixture(tc, fx.name, fx.flags) });
    if (tc.arch === 'x86_64' && hasTool('musl-gcc')) {
      builds.push({ fixture: 'musl-random', link: 'static-musl', file: muslBuild() });
    }
    for (const b of builds) {
      for (const t of matrix) {
        if (!t.arches.includes(tc.arch)) continue;
        for (const f of t.firmwares) {
          const r = await cli(['check', b.file, '--target', t.id, ...fw(f), '--format', 'json']);
          if (r.code !== 0 && r.code !== 1) throw new Error(`check ${b.fixture} ${tc.arch} ${b.link}: exit ${r.code}: ${r.err}`);
          lines.push(...rows(b.fixture, tc.arch, b.link, t.id, f, JSON.parse(r.out.toString('utf8')) as CheckJson, r.code));
        }
      }
    }
    out.set(`verdicts/${tc.arch}.tests`, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  }
  return out;
}

let musl: string | undefined;
function muslBuild(): string {
  if (musl) return musl;
  const dir = mkdtempSync(join(tmpdir(), 'sysgate-golden-musl-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  musl = join(dir, 'musl-random');
  const r = spawnSync('musl-gcc', ['-O2', '-static', '-o', musl, join(ROOT, 'test/fixtures/check/musl-random.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`musl-gcc musl-random.c: ${r.stderr}`);
  return musl;
}

/** Every golden file under test/golden/ (path -> bytes), for comparing with what is made now. */
export function readGoldenTree(sub: string): Golden {
  const out: Golden = new Map();
  const base = join(GOLDEN_DIR, sub);
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return out;
  }
  for (const name of names.sort()) out.set(`${sub}/${name}`, readFileSync(join(base, name)));
  return out;
}
