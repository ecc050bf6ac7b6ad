/**
 * The npm package as a user gets it: `npm pack`, install the tarball into an empty project,
 * run the CLI from node_modules/.bin, import the API, and type-check a consumer.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { ROOT } from './helpers/paths.ts';

describe('npm package', function () {
  this.timeout(240_000);
  let dir: string;
  let project: string;
  let packed: { size: number; unpackedSize: number; files: { path: string; size: number }[] };
  before(() => {
    dir = tempDir('sysgate-pack-');
    packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }),
    )[0];
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack produced no tarball');
    project = join(dir, 'app');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', join(dir, tgz)], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  });
  after(() => removeDir(dir));

  it('installs a working sysgate executable', () => {
    const bin = join(project, 'node_modules/.bin/sysgate');
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    const demo = spawnSync(bin, ['demo'], { encoding: 'utf8', cwd: project });
    assert.equal(demo.status, 0, demo.stderr);
    const s = spawnSync(bin, ['syscalls', '--target', 'codesafe5', '--arch', 'ppc', '--json'], { encoding: 'utf8', cwd: project });
    assert.equal(s.status, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).allowed.filter((a: { provenance: { kind: string } }) => a.provenance.kind === 'target').length, 170);
    // a user target file goes through the schema (ajv, loaded on demand from the package's dependencies)
    writeFileSync(
      join(project, 'bad.json'),
      JSON.stringify({ id: 'bad', title: 'b', arches: ['arm'], defaultAction: 'kill-process', syscalls: [{ name: 'getrandm' }] }),
    );
    const bad = spawnSync(bin, ['syscalls', '--target', './bad.json'], { encoding: 'utf8', cwd: project });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /did you mean 'getrandom'/);
  });

  it("installs sysgate-cc, which finds its package through npm's .bin symlink", () => {
    const bin = join(project, 'node_modules/.bin/sysgate-cc');
    writeFileSync(join(project, 'x.c'), 'int main(void) { return 0; }\n');
    const env = { ...process.env, SYSGATE_CACHE_DIR: join(dir, 'cache'), SYSGATE_NODE: process.execPath };
    const c = spawnSync(bin, ['--target', 'codesafe5', '--', 'gcc', '-c', 'x.c', '-o', 'x.o'], { encoding: 'utf8', cwd: project, env });
    assert.equal(c.status, 0, c.stderr);
    const l = spawnSync(bin, ['--target', 'codesafe5', '--quiet', '--', 'gcc', '-o', 'x', 'x.o'], { encoding: 'utf8', cwd: project, env });
    assert.equal(l.status, 0, l.stderr);
    assert.equal(spawnSync(join(project, 'x')).status, 0);
  });

  it('exports the Node API with type declarations', () => {
    writeFileSync(
      join(project, 'use.mjs'),
      `
import { readFileSync } from 'node:fs';
import { loadTarget, resolvePolicy, generate, formatAction, checkElf } from 'sysgate';
const t = await loadTarget('codesafe5');
const p = resolvePolicy(t, { firmware: '13.5', arch: 'arm' });
const [f] = generate(t, { firmware: '13.7', arches: ['arm'], formats: ['bpf'] });
const elf = 'node_modules/sysgate/examples/bin/keygen.arm';
const r = checkElf(readFileSync(elf), elf, t, { firmware: '13.5' }); // killed: fatal
console.log(JSON.stringify({ rules: p.rules.length, def: formatAction(p.defaultAction), bytes: f.files[0].content.length, fatal: r.fatal }));
`,
    );
    const r = spawnSync(process.execPath, ['use.mjs'], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.def, 'kill-process');
    assert.ok(out.rules > 100 && out.bytes > 100 && out.bytes % 8 === 0);
    assert.equal(out.fatal, true);

    writeFileSync(
      join(project, 'use.ts'),
      `
import { loadTarget, resolvePolicy, type Policy } from 'sysgate';
const t = await loadTarget('codesafe5');
const p: Policy = resolvePolicy(t, { firmware: '13.7' });
const n: number = p.rules.length;
export { n };
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['use.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('no source maps, and a small tarball of the files users need', () => {
    const paths = packed.files.map((f) => f.path);
    assert.deepEqual(
      paths.filter((p) => p.endsWith('.map')),
      [],
    );
    for (const p of [
      'package.json',
      'README.md',
      'dist/cli.js',
      'dist/commands.js',
      'dist/index.js',
      'dist/index.cjs',
      'dist/types-cjs/src/index.d.ts',
      'dist/types-cjs/package.json',
      'dist/check-worker.js',
      'dist/types/src/index.d.ts',
      'targets/codesafe5.json',
      'schemas/target.schema.json',
    ]) {
      assert.ok(paths.includes(p), `${p} is not in the package`);
    }
    // Nothing from the development tree.
    assert.deepEqual(
      paths.filter((p) => /^(src|test|scripts|bench|node_modules|\.ci)\//.test(p)),
      [],
    );
    // Measured: with the maps the bundles packed to 1.23 MB (5.9 MB unpacked, 3.7 MB of it maps);
    // without them, and with the CommonJS bundle and its declarations added, 0.67 MB (3.0 MB unpacked);
    // with ppc64, container runtimes, firmware spans, the shim manifest and `sysgate run` (its C
    // sources in templates/ and in each bundle), about 0.85 MB (3.7 MB). A map of any bundle
    // would be past these budgets at once. With the knowledge base's ~140 new entries, libraries.json
    // and the call graph (issue 13): 1.01 MB packed (4.49 MB unpacked); with .eh_frame function
    // extents and static programs' reachability (in four bundles each): 1.04 MB (4.59 MB); with
    // syscall() recovery on the scanners' trackers, the library store and the bounded reports:
    // 1.09 MB (4.77 MB); with the knowledge base grown for the armhf/arm64 imports, the time64
    // names and the libc family's exports, and the AArch64 call graph (in four bundles each):
    // 1.16 MB (about 5.1 MB).
    assert.ok(packed.size < 1_200_000, `tarball ${packed.size} bytes`);
    assert.ok(packed.unpackedSize < 5_300_000, `unpacked ${packed.unpackedSize} bytes`);
  });

  it("require('sysgate') from CommonJS: the API, a user target through ajv, check's worker threads", () => {
    const cjs = join(dir, 'cjs');
    mkdirSync(cjs);
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'cjs-app', version: '1.0.0', private: true }));
    // The installed package of the ESM project, seen from a CommonJS one beside it.
    execFileSync('ln', ['-s', join(project, 'node_modules'), join(cjs, 'node_modules')]);
    writeFileSync(
      join(cjs, 'bad.json'),
      JSON.stringify({ id: 'bad', title: 'b', arches: ['arm'], defaultAction: 'kill-process', syscalls: [{ name: 'getrandm' }] }),
    );
    writeFileSync(
      join(cjs, 'use.cjs'),
      `
const { readFileSync } = require('node:fs');
const sysgate = require('sysgate');
(async () => {
  const t = await sysgate.loadTarget('codesafe5');
  const p = sysgate.resolvePolicy(t, { firmware: '13.5', arch: 'arm' });
  const [f] = sysgate.generate(t, { firmware: '13.7', arches: ['arm'], formats: ['bpf'] });
  const bin = 'node_modules/sysgate/examples/bin';
  const one = sysgate.checkElf(readFileSync(bin + '/keygen.arm'), 'keygen.arm', t, { firmware: '13.5' }); // killed: fatal
  const walked = await sysgate.checkPaths([bin], t, { firmware: '13.7', jobs: 2 });
  let bad = '';
  try { await sysgate.loadTarget('./bad.json', { cwd: __dirname }); } catch (e) { bad = String(e.message) + (e.diagnostics || []).map((d) => d.message).join(';'); }
  console.log(JSON.stringify({ version: sysgate.VERSION, rules: p.rules.length, def: sysgate.formatAction(p.defaultAction), bytes: f.files[0].content.length, fatal: one.fatal, walked: walked.map((r) => r.file.split('/').pop()), bad }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const r = spawnSync(process.execPath, ['use.cjs'], { cwd: cjs, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.version, /^\d+\.\d+\.\d+$/);
    assert.equal(out.def, 'kill-process');
    assert.ok(out.rules > 100 && out.bytes > 100 && out.bytes % 8 === 0);
    assert.equal(out.fatal, true);
    assert.deepEqual(out.walked, ['keygen.arm', 'sensor-log.arm']);
    assert.match(out.bad, /getrandom/); // "did you mean": the schema and names were checked

    // A TypeScript consumer compiled to CommonJS, both with the classic resolution and node16's.
    writeFileSync(
      join(cjs, 'use.ts'),
      `
import { loadTarget, resolvePolicy, type Policy } from 'sysgate';
import sysgate = require('sysgate');
export async function main(): Promise<number> {
  const t = await loadTarget('codesafe5');
  const p: Policy = resolvePolicy(t, { firmware: '13.7' });
  return p.rules.length + sysgate.ARCH_NAMES.length;
}
`,
    );
    for (const [module, moduleResolution] of [
      ['commonjs', 'node10'],
      ['node16', 'node16'],
    ]) {
      writeFileSync(
        join(cjs, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { module, moduleResolution, target: 'ES2022', strict: true, outDir: 'out', skipLibCheck: false, types: [] },
          files: ['use.ts'],
        }),
      );
      const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', cjs], { encoding: 'utf8' });
      assert.equal(tsc.status, 0, `${module}: ${tsc.stdout}${tsc.stderr}`);
      const run = spawnSync(process.execPath, ['-e', "require('./out/use.js').main().then((n) => console.log(n))"], { cwd: cjs, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.ok(Number(run.stdout) > 100, run.stdout);
    }
  });
});
