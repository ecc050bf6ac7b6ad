/**
 * `--json` on every command that reports, each shape documented in the command's --help.
 * The documentation is the test's expectation: each "JSON (...): {...}" block of a help text
 * is parsed into its keys (a trailing `?` marks an optional one; `key: {...}` / `key: [{...}]`
 * documents a nested shape), the command is run, and its output must parse as JSON with
 * exactly the documented keys: none missing, none undocumented.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli, cliProcess, ROOT } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';
import { COMMANDS } from '../src/cli/commands/index.ts';

interface Shape {
  array: boolean;
  keys: Map<string, { optional: boolean; sub?: Shape }>;
}

/** The balanced group that starts at s[i] ('{' or '['). */
function group(s: string, i: number): string {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if ('{[('.includes(s[j]!)) depth++;
    else if ('}])'.includes(s[j]!) && --depth === 0) return s.slice(i, j + 1);
  }
  throw new Error(`unbalanced: ${s.slice(i, i + 80)}`);
}

/** Parses `{a, b?, c: {d}, e: [{f}], g (a note)}` or `[{...}]`. */
function parseShape(text: string): Shape {
  const t = text.trim();
  const array = t.startsWith('[');
  const body = array ? group(t, t.indexOf('{')) : t;
  const inner = body.slice(1, -1);
  const keys: Shape['keys'] = new Map();
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c !== undefined && '{[('.includes(c)) depth++;
    else if (c !== undefined && '}])'.includes(c)) depth--;
    else if ((c === ',' || c === undefined) && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  for (const p of parts) {
    const m = /^\s*([A-Za-z]\w*)(\?)?\s*(:\s*([[{]))?/.exec(p);
    assert.ok(m, `cannot read a key in '${p}'`);
    const sub = m[4] ? parseShape(group(p, p.indexOf(m[4], m[0].length - 1))) : undefined;
    keys.set(m[1]!, { optional: !!m[2], ...(sub ? { sub } : {}) });
  }
  return { array, keys };
}

/** Every "JSON (label): shape" block of a help text. */
function jsonDocs(help: string): Map<string, Shape> {
  const out = new Map<string, Shape>();
  for (const m of help.matchAll(/^JSON \(([^)]+)\): /gm)) {
    const at = m.index! + m[0].length;
    const open = help.slice(at).search(/[[{]/);
    out.set(m[1]!, parseShape(group(help, at + open)));
  }
  return out;
}

function conforms(value: unknown, shape: Shape, where: string): void {
  if (shape.array) {
    assert.ok(Array.isArray(value) && value.length > 0, `${where}: expected a non-empty array`);
    value.forEach((v, i) => conforms(v, { array: false, keys: shape.keys }, `${where}[${i}]`));
    return;
  }
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${where}: expected an object`);
  const got = Object.keys(value);
  const undocumented = got.filter((k) => !shape.keys.has(k));
  assert.deepEqual(undocumented, [], `${where}: keys not in --help`);
  for (const [k, spec] of shape.keys) {
    if (!spec.optional) assert.ok(k in value, `${where}: documented key '${k}' missing`);
    const v = (value as Record<string, unknown>)[k];
    if (spec.sub && v !== undefined) {
      if (spec.sub.array) {
        assert.ok(Array.isArray(v), `${where}.${k}: expected an array`);
        v.forEach((x, i) => conforms(x, { array: false, keys: spec.sub!.keys }, `${where}.${k}[${i}]`));
      } else conforms(v, spec.sub, `${where}.${k}`);
    }
  }
}

describe('--json on every command that reports, as its --help documents', function () {
  this.timeout(120_000);
  let dir: string;
  const helps = new Map<string, string>();
  before(async () => {
    dir = tempDir('sysgate-json-');
    for (const c of COMMANDS) helps.set(c.name, (await cli([c.name, '--help'])).stdout);
  });
  after(() => dir && removeDir(dir));

  const bpf = () => join(dir, 'codesafe5-13.7-arm.bpf');
  // label in the help -> command line, expected exit code
  const RUNS: Record<string, () => { argv: string[]; code: number; process?: boolean; stderr?: boolean }> = {
    'targets --json': () => ({ argv: ['targets', '--json'], code: 0 }),
    'syscalls --json': () => ({ argv: ['syscalls', '-t', 'codesafe5', '--arch', 'arm', '--json'], code: 0 }),
    'explain --json': () => ({
      argv: ['explain', '-t', 'codesafe5', '--firmware', '13.5', 'getrandom', 'ptrace', 'nice', 'mmap', '--arch', 'arm', '--json'],
      code: 0,
    }),
    'compat --json': () => ({ argv: ['compat', '-t', 'codesafe5', '--from', '13.5', '--to', '13.7', '--json'], code: 0 }),
    'generate --json': () => ({ argv: ['generate', '-t', 'codesafe5', '--firmware', '13.7', '-a', 'arm', '--format', 'bpf,c', '-o', dir, '--json'], code: 0 }),
    'shim --json': () => ({ argv: ['shim', '-t', 'codesafe5', '-a', 'arm', '-o', dir, '--json'], code: 0 }),
    'shim --flags --json': () => ({ argv: ['shim', '-t', 'codesafe5', '-a', 'arm', '--flags', '--json'], code: 0 }),
    'bpf disasm --json': () => ({ argv: ['bpf', 'disasm', bpf(), '--arch', 'arm', '--json'], code: 0 }),
    'bpf run --json': () => ({ argv: ['bpf', 'run', bpf(), '--arch', 'arm', '--syscall', 'getrandom', '--json'], code: 0 }),
    'bpf audit --json': () => ({ argv: ['bpf', 'audit', bpf(), '--arch', 'arm', '--json'], code: 0 }),
    'init --json': () => ({ argv: ['init', 'make', '--dir', join(dir, 'proj'), '--json'], code: 0 }),
    'check --json': () => ({ argv: ['check', join(ROOT, 'examples/bin/keygen.arm'), '-t', 'codesafe5', '--firmware', '13.7', '--json'], code: 0 }), // getrandom depends: a warning
    // run's report goes to stderr (stdout is the program's); /bin/true makes calls 13.7 denies.
    'run --json': () => ({ argv: ['run', '-t', 'codesafe5', '--firmware', '13.7', '--json', '--', '/bin/true'], code: 0, process: true, stderr: true }),
    'cc --json': () => ({
      argv: ['cc', '--target', 'enclave-x86_64', '--no-shim', '--json', '--', 'gcc', '-o', join(dir, 'app'), join(dir, 'app.c')],
      code: 1,
      process: true,
    }),
  };

  it('every command whose help mentions --json documents its JSON, and every documented shape is tested here', () => {
    const labels: string[] = [];
    for (const [name, help] of helps) {
      const docs = jsonDocs(help);
      if (/--json/.test(help)) assert.ok(docs.size > 0, `${name} --help mentions --json but documents no JSON shape`);
      labels.push(...docs.keys());
    }
    assert.deepEqual(labels.sort(), Object.keys(RUNS).sort());
    // The commands the issue names all report JSON.
    for (const c of ['targets', 'syscalls', 'explain', 'compat', 'check', 'bpf', 'generate', 'shim', 'init', 'cc']) {
      assert.ok(jsonDocs(helps.get(c)!).size > 0, c);
    }
  });

  for (const [label, make] of Object.entries(RUNS)) {
    it(`${label}: parses, and has exactly the documented keys`, async function () {
      if (label === 'cc --json') {
        requireTool(this, 'gcc', 'gcc');
        writeFileSync(join(dir, 'app.c'), '#include <sys/mount.h>\nint main(void) { return mount("a", "b", "c", 0, 0); }\n');
      }
      if (label.startsWith('bpf ')) await cli(RUNS['generate --json']!().argv);
      const doc = [...helps.values()]
        .map(jsonDocs)
        .find((d) => d.has(label))!
        .get(label)!;
      const { argv, code, process: inProcess, stderr } = make();
      if (label === 'run --json' && process.arch !== 'x64') this.skip();
      const r = inProcess ? cliProcess(argv) : await cli(argv);
      assert.equal(r.code, code, r.stderr);
      let value: unknown;
      const out = stderr ? r.stderr : r.stdout;
      assert.doesNotThrow(() => (value = JSON.parse(out)), `${label}: not JSON: ${out.slice(0, 200)}`);
      conforms(value, doc, label);
    });
  }

  it('the parser reads what the helps write', () => {
    const s = parseShape('{a, b? (a note, with a comma), c: {d, e}, f: [{g, h?}], i (x|y)}');
    assert.deepEqual([...s.keys.keys()], ['a', 'b', 'c', 'f', 'i']);
    assert.equal(s.keys.get('b')!.optional, true);
    assert.deepEqual([...s.keys.get('c')!.sub!.keys.keys()], ['d', 'e']);
    assert.equal(s.keys.get('f')!.sub!.array, true);
    assert.throws(() => conforms({ a: 1, c: { d: 1, e: 2 }, f: [], i: 0, z: 1 }, s, 'x'), /keys not in --help/);
    assert.throws(() => conforms({ c: { d: 1, e: 2 }, f: [], i: 0 }, s, 'x'), /'a' missing/);
  });
});
