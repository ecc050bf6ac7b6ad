/**
 * The npm package as a user gets it: `npm pack`, install the tarball into an empty project,
 * run the CLI from node_modules/.bin, import the API, and type-check a consumer.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { ROOT } from './helpers/paths.ts';

describe('npm package', function () {
  this.timeout(240_000);
  let dir: string;
  let project: string;
  before(() => {
    dir = tempDir('sysgate-pack-');
    execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack produced no tarball');
    project = join(dir, 'app');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', join(dir, tgz)], { cwd: project, stdio: ['ignore', 'pipe', 'inherit'] });
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
    writeFileSync(join(project, 'bad.json'), JSON.stringify({ id: 'bad', title: 'b', arches: ['arm'], defaultAction: 'kill-process', syscalls: [{ name: 'getrandm' }] }));
    const bad = spawnSync(bin, ['syscalls', '--target', './bad.json'], { encoding: 'utf8', cwd: project });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /did you mean 'getrandom'/);
  });

  it('exports the Node API with type declarations', () => {
    writeFileSync(join(project, 'use.mjs'), `
import { readFileSync } from 'node:fs';
import { loadTarget, resolvePolicy, generate, formatAction, checkElf } from 'sysgate';
const t = await loadTarget('codesafe5');
const p = resolvePolicy(t, { firmware: '13.5', arch: 'arm' });
const [f] = generate(t, { firmware: '13.7', arches: ['arm'], formats: ['bpf'] });
const elf = 'node_modules/sysgate/examples/bin/keygen.arm';
const r = checkElf(readFileSync(elf), elf, t, { firmware: '13.7' });
console.log(JSON.stringify({ rules: p.rules.length, def: formatAction(p.defaultAction), bytes: f.files[0].content.length, fatal: r.fatal }));
`);
    const r = spawnSync(process.execPath, ['use.mjs'], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.def, 'kill-process');
    assert.ok(out.rules > 100 && out.bytes > 100 && out.bytes % 8 === 0);
    assert.equal(out.fatal, true);

    writeFileSync(join(project, 'use.ts'), `
import { loadTarget, resolvePolicy, type Policy } from 'sysgate';
const t = await loadTarget('codesafe5');
const p: Policy = resolvePolicy(t, { firmware: '13.7' });
const n: number = p.rules.length;
export { n };
`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['use.ts'] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
