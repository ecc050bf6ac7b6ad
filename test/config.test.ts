import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';

describe('sysgate.config.json', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => removeDir(dir));

  it('generate with no flags uses it (found from a subdirectory); flags override it', async () => {
    writeFileSync(
      join(dir, 'sysgate.config.json'),
      JSON.stringify({ target: 'codesafe5', firmware: '13.5', arches: ['ppc'], formats: ['bpf', 'oci'], out: 'gen' }),
    );
    mkdirSync(join(dir, 'src'));
    const r = await cli(['generate', '--quiet'], join(dir, 'src'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(dir, 'gen')).sort(), ['codesafe5-13.5-ppc.bpf', 'codesafe5-13.5-ppc.oci.json']);
    const o = await cli(['generate', '--quiet', '--firmware', '13.7', '--arch', 'arm', '--format', 'c', '--out', 'x'], dir);
    assert.equal(o.code, 0, o.stderr);
    assert.deepEqual(readdirSync(join(dir, 'x')), ['codesafe5-13.7-arm.h']);
    const s = await cli(['syscalls', '--json'], dir);
    assert.equal(JSON.parse(s.stdout).arch, 'ppc');
    assert.equal(JSON.parse(s.stdout).firmware, '13.5.0');
  });

  it('a target path in the config is relative to the config file', async () => {
    mkdirSync(join(dir, 'policy'));
    writeFileSync(
      join(dir, 'policy', 't.json'),
      JSON.stringify({ id: 'mine', title: 'mine', arches: ['x86_64'], defaultAction: 'kill-process', syscalls: [{ name: 'read' }] }),
    );
    writeFileSync(join(dir, 'sysgate.config.json'), JSON.stringify({ target: 'policy/t.json' }));
    const r = await cli(['syscalls', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).target, 'mine');
  });

  it('a bad config is reported with file and pointer, exit 2, nothing written', async () => {
    writeFileSync(join(dir, 'sysgate.config.json'), JSON.stringify({ target: 'codesafe5', formats: ['bpf', 'pdf'], colour: 1 }));
    const r = await cli(['generate'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /sysgate\.config\.json#\/formats\/1: must be one of/);
    assert.match(r.stderr, /unknown property 'colour'/);
    assert.deepEqual(readdirSync(dir), ['sysgate.config.json']);
    const missing = await cli(['generate', '--config', 'nope.json'], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such config file/);
  });

  it('without a config or --target: a one-line usage error', async () => {
    const r = await cli(['generate'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing --target/);
  });

  it('"out": "-" is refused with file and pointer (a directory named "-" is never made)', async () => {
    writeFileSync(join(dir, 'sysgate.config.json'), JSON.stringify({ target: 'codesafe5', out: '-' }));
    const r = await cli(['generate'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `sysgate: ${join(dir, 'sysgate.config.json')}#/out: "-" (stdout) is for --out on the command line; give a directory\n`);
    assert.deepEqual(readdirSync(dir), ['sysgate.config.json']);
  });
});
