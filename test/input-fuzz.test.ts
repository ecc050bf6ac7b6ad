/**
 * Every failure a user can cause is an InputError: each kind of input file (target, config,
 * filter, ELF) gets seeded random mutations of a real one and goes through the CLI in-process.
 * A mutation may still be a valid input (exit 0 or 1); when it is not, the CLI must say so on
 * lines that name the file (exit 2). Exit 3 (internal error) or a stack trace is a bug: some
 * reader let a JS exception out that the boundary did not turn into an InputError. Seeds are
 * fixed, so a failure names a case that replays.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { ROOT } from './helpers/cli.ts';
import { prng } from './helpers/prng.ts';
import { run } from '../src/cli/run.ts';

const CASES_PER_KIND = 100;

/** Values a structural mutation puts in place of a JSON value: wrong types, edges, junk. */
const HOSTILE: unknown[] = [
  null,
  true,
  -1,
  1e308,
  0.5,
  2 ** 64,
  '',
  '0x',
  '0xffffffffffffffffff',
  '@',
  '../../etc/passwd',
  '\u0000',
  [],
  {},
  [[]],
  { '': {} },
  'x'.repeat(300),
  '13.7.999999999999',
  '*',
  '>=',
  '__proto__',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Byte mutations: flip, overwrite, truncate, insert, repeat a slice. */
function mutateBytes(r: () => number, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 4);
  let cur = out;
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * Math.max(cur.length, 1));
    const op = Math.floor(r() * 5);
    if (op === 0 && cur.length) cur[at] = cur[at]! ^ (1 << Math.floor(r() * 8));
    else if (op === 1 && cur.length) cur[at] = Math.floor(r() * 256);
    else if (op === 2) cur = cur.subarray(0, at);
    else if (op === 3) cur = Buffer.concat([cur.subarray(0, at), Buffer.from([Math.floor(r() * 256), Math.floor(r() * 256)]), cur.subarray(at)]);
    else cur = Buffer.concat([cur.subarray(0, at), cur.subarray(at, at + 64), cur.subarray(at)]);
  }
  return cur;
}

/** A structural mutation: one value somewhere in the document replaced by a hostile one. */
function mutateJson(r: () => number, doc: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  if (r() < 0.05) return pick(r, HOSTILE);
  let node = copy as Record<string, unknown>;
  for (let depth = 0; depth < 8; depth++) {
    const keys = Object.keys(node);
    if (!keys.length) break;
    const k = pick(r, keys);
    const child = node[k];
    if (typeof child === 'object' && child !== null && r() < 0.7) {
      node = child as Record<string, unknown>;
      continue;
    }
    if (r() < 0.15) delete node[k];
    else node[k] = pick(r, HOSTILE);
    break;
  }
  return copy;
}

async function cliInProcess(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await run(args, { out: () => {}, outBytes: () => {}, err: (t) => void (stderr += t), isTTY: false, color: false, cwd, env: {} });
  return { code, stderr };
}

/** `names`: what each line may name, the file itself or (for a config) a path the config gave. */
function judge(what: string, names: string, r: { code: number; stderr: string }, okCodes: number[]): void {
  const where = `${what}: ${r.stderr.slice(0, 2000)}`;
  assert.notEqual(r.code, 3, `internal error on ${where}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, where);
  assert.ok([...okCodes, 2].includes(r.code), `exit ${r.code} on ${where}`);
  if (r.code !== 2) return;
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length >= 1 && lines[0] !== '', where);
  for (const l of lines)
    assert.ok(l.startsWith('sysgate: ') && l.includes(names), `a line that does not name ${names}: ${l}\n(all of stderr: ${r.stderr.slice(0, 3000)})`);
}

describe('input fuzz: hostile bytes in every input kind give exit 2 naming the file, never an internal error', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => removeDir(dir));

  const target = readFileSync(join(ROOT, 'targets/codesafe5.json'));
  const config = Buffer.from(JSON.stringify({ target: 'codesafe5', firmware: '13.7', arches: ['arm'], formats: ['c'], out: 'o' }));
  const filter = readFileSync(join(ROOT, 'test/golden/generate/codesafe5-13.7-x86_64.bpf'));
  const elf = readFileSync(join(ROOT, 'examples/bin/keygen.arm'));

  const kinds: { kind: string; seed: number; name: string; bytes: Buffer; json: boolean; args: (f: string) => string[]; ok: number[]; names?: 'dir' }[] = [
    {
      kind: 'target',
      seed: 1,
      name: 'target.json',
      bytes: target,
      json: true,
      args: (f) => ['syscalls', '--target', f, '--firmware', '13.7', '--arch', 'arm'],
      ok: [0],
    },
    { kind: 'config', seed: 2, name: 'sysgate.config.json', bytes: config, json: true, args: (f) => ['generate', '--config', f], ok: [0], names: 'dir' },
    { kind: 'filter (disasm)', seed: 3, name: 'f.bpf', bytes: filter, json: false, args: (f) => ['bpf', 'disasm', f, '--arch', 'x86_64'], ok: [0] },
    { kind: 'filter (audit)', seed: 4, name: 'g.bpf', bytes: filter, json: false, args: (f) => ['bpf', 'audit', f, '--arch', 'x86_64'], ok: [0, 1] },
    { kind: 'ELF', seed: 5, name: 'app.elf', bytes: elf, json: false, args: (f) => ['check', f, '--target', 'codesafe5', '--firmware', '13.7'], ok: [0, 1] },
  ];
  for (const k of kinds) {
    it(`${k.kind}: ${CASES_PER_KIND} mutations (seed ${k.seed})`, async () => {
      const r = prng(k.seed);
      // Each kind in its own directory: a config left by another kind would be found upwards.
      const home = join(dir, `seed-${k.seed}`);
      mkdirSync(home);
      const file = join(home, k.name);
      const doc = k.json ? (JSON.parse(k.bytes.toString('utf8')) as unknown) : undefined;
      for (let i = 0; i < CASES_PER_KIND; i++) {
        const bytes = k.json && r() < 0.6 ? Buffer.from(JSON.stringify(mutateJson(r, doc))) : mutateBytes(r, k.bytes);
        writeFileSync(file, bytes);
        judge(`${k.kind} case ${i}`, k.names === 'dir' ? home : file, await cliInProcess(k.args(file), home), k.ok);
      }
    });
  }
});
