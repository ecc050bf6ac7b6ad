/**
 * `sysgate check --format sarif` as GitHub code scanning takes it: the official SARIF 2.1.0
 * schema (the copy Microsoft ships in @microsoft/sarif-multitool-linux, not a hand-written
 * one), GitHub's upload rules checked by Microsoft's SARIF Multitool (`validate`, rule kinds
 * Sarif and Gh) and, independently of it, by this file (help on every rule, a byte region on
 * every result that really holds the instruction or the import's symbol entry, file URIs,
 * fingerprints that name the file), and no log at all on exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import { removeDir, tempDir } from './helpers/build.ts';
import { buildFixture, TOOLCHAINS } from './helpers/check-build.ts';
import { cli, ROOT } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';

const MULTITOOL_DIR = join(ROOT, 'node_modules/@microsoft/sarif-multitool-linux');
const SCHEMA = join(MULTITOOL_DIR, 'sarif-2.1.0.json');
const MULTITOOL = join(MULTITOOL_DIR, 'Sarif.Multitool');

interface Region {
  byteOffset: number;
  byteLength: number;
}
interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string; index: number }; region: Region } }[];
  partialFingerprints: Record<string, string>;
  properties?: { syscall?: string };
}
interface SarifLog {
  $schema: string;
  version: string;
  runs: {
    tool: { driver: { rules: { id: string; help?: { text: string } }[] } };
    originalUriBaseIds?: Record<string, { uri: string }>;
    artifacts: { location: { uri: string; uriBaseId?: string } }[];
    results: SarifResult[];
  }[];
}

/** The official schema, with the four formats it uses checked (ajv has no format set of its own). */
function schemaValidator() {
  // ajv is CommonJS: under Node's ESM interop its class is module.exports.default.
  const Ajv2020 = Ajv2020Module.default;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => URL.canParse(s, 'file:///base/'));
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
}

/** Section headers as binutils' readelf sees them: an independent reader. */
function sections(file: string): Map<string, { offset: number; size: number }> {
  const r = spawnSync('readelf', ['-SW', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, { offset: number; size: number }>();
  for (const m of r.stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)) {
    out.set(m[1]!, { offset: parseInt(m[2]!, 16), size: parseInt(m[3]!, 16) });
  }
  return out;
}

/** Runs the SARIF Multitool's validator with GitHub's rules; its findings, as a SARIF log of its own. */
function multitool(dir: string, log: string): SarifResult[] {
  const input = join(dir, `${log}.sarif`);
  const output = join(dir, `${log}.validation.sarif`);
  const r = spawnSync(MULTITOOL, ['validate', '--rule-kind', 'Sarif;Gh', '--log', 'ForceOverwrite', '-o', output, input], {
    encoding: 'utf8',
    // .NET wants a writable home for its caches; no telemetry from tests.
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `Sarif.Multitool validate failed: ${r.stdout}${r.stderr}`);
  // A result without a level is a warning (SARIF 3.27.10).
  return (JSON.parse(readFileSync(output, 'utf8')) as SarifLog).runs[0]!.results.map((x) => ({ ...x, level: x.level ?? 'warning' }));
}

describe('check --format sarif: what GitHub code scanning accepts', function () {
  this.timeout(180_000);
  let dir: string;
  let rel: SarifLog;
  let abs: SarifLog;
  const files = { static: 'static-app', dynamic: 'dyn app #1' };

  before(async function () {
    const gcc = TOOLCHAINS.find((t) => t.arch === 'x86_64')!;
    requireTool(this, gcc.cc, gcc.pkg);
    requireTool(this, 'readelf', 'binutils');
    dir = tempDir('sysgate-sarif-');
    copyFileSync(buildFixture(gcc, 'calls', ['-static']), join(dir, files.static));
    copyFileSync(buildFixture(gcc, 'calls'), join(dir, files.dynamic));
    const r = await cli(['check', files.static, files.dynamic, '--target', 'enclave-x86_64', '--format', 'sarif', '--jobs', '1'], dir);
    assert.equal(r.code, 1, r.stderr); // the enclave kills some of these calls
    rel = JSON.parse(r.stdout);
    writeFileSync(join(dir, 'rel.sarif'), r.stdout);
    const a = await cli(['check', join(dir, files.static), join(dir, files.dynamic), '--target', 'enclave-x86_64', '--format', 'sarif', '--jobs', '1']);
    assert.equal(a.code, 1, a.stderr);
    abs = JSON.parse(a.stdout);
    writeFileSync(join(dir, 'abs.sarif'), a.stdout);
  });
  after(() => dir && removeDir(dir));

  it('passes the official SARIF 2.1.0 schema', () => {
    const validate = schemaValidator();
    for (const log of [rel, abs]) {
      assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
      assert.ok(log.runs[0]!.results.length > 10);
    }
    // The validator is not vacuous: a result without a message breaks the schema.
    const broken = structuredClone(rel);
    delete (broken.runs[0]!.results[0] as Partial<SarifResult>).message;
    assert.equal(validate(broken), false);
  });

  it('every rule has help text (GH2012)', () => {
    for (const rule of rel.runs[0]!.tool.driver.rules) assert.ok(rule.help && rule.help.text.length > 20, `${rule.id} has no help`);
  });

  it('every result has a byte region, on the instruction of a site or the Elf_Sym of an import', () => {
    let sites = 0;
    let imports = 0;
    for (const res of rel.runs[0]!.results) {
      const loc = res.locations[0]!.physicalLocation;
      const file = join(dir, decodeURIComponent(loc.artifactLocation.uri));
      const bytes = readFileSync(file);
      const { byteOffset: off, byteLength: len } = loc.region;
      assert.ok(Number.isInteger(off) && Number.isInteger(len) && len > 0 && off + len <= bytes.length, `${res.message.text}: region ${off}+${len}`);
      const secs = sections(file);
      const dynsym = secs.get('.dynsym');
      const dynstr = secs.get('.dynstr');
      // What the region should hold: the result's first way of reaching the call, or the site itself (SG008).
      const head = res.ruleId === 'SG008' ? res.message.text : (res.message.text.split('. Via ')[1] ?? '');
      if (/^syscall at/.test(head)) {
        // x86-64 `syscall` is 0f 05: the region is the trap itself.
        assert.equal(bytes.subarray(off, off + len).toString('hex'), '0f05', res.message.text);
        sites++;
      } else if (/^syscall\(\) at/.test(head)) {
        assert.equal(bytes[off], 0xe8, `call rel32 at the region: ${res.message.text}`);
        assert.equal(len, 5);
        sites++;
      } else if (/^import /.test(head)) {
        // The region is one Elf64_Sym of .dynsym whose st_name is the imported symbol.
        assert.ok(dynsym && dynstr, 'an import without .dynsym');
        assert.equal(len, 24);
        assert.ok(off >= dynsym.offset && off + len <= dynsym.offset + dynsym.size && (off - dynsym.offset) % 24 === 0);
        const nameAt = dynstr.offset + bytes.readUInt32LE(off);
        const name = bytes.subarray(nameAt, bytes.indexOf(0, nameAt)).toString('latin1');
        assert.equal(name, /^import ([^@ ;]+)/.exec(head)![1], res.message.text);
        imports++;
      } else {
        // No bytes of its own (the C library's start-up): the ELF identification.
        assert.deepEqual(loc.region, { byteOffset: 0, byteLength: 16 }, res.message.text);
        assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF');
      }
    }
    assert.ok(sites > 3 && imports > 3, `sites ${sites}, imports ${imports}`);
  });

  it('relative paths carry uriBaseId SRCROOT (the working directory), absolute ones are file:// URIs', () => {
    const run = rel.runs[0]!;
    assert.deepEqual(run.originalUriBaseIds, { SRCROOT: { uri: pathToFileURL(`${dir}/`).href } });
    assert.deepEqual(
      run.artifacts.map((a) => a.location),
      [
        { uri: 'static-app', uriBaseId: 'SRCROOT' },
        { uri: 'dyn%20app%20%231', uriBaseId: 'SRCROOT' },
      ],
    );
    for (const res of run.results) assert.equal(res.locations[0]!.physicalLocation.artifactLocation.uriBaseId, 'SRCROOT');
    const a = abs.runs[0]!;
    assert.equal(a.originalUriBaseIds, undefined);
    assert.deepEqual(
      a.artifacts.map((x) => x.location.uri),
      [pathToFileURL(join(dir, files.static)).href, pathToFileURL(join(dir, files.dynamic)).href],
    );
    assert.ok(a.artifacts.every((x) => x.location.uri.startsWith('file:///') && x.location.uriBaseId === undefined));
  });

  it('partial fingerprints name the file: the same call in two binaries is two alerts', () => {
    const results = rel.runs[0]!.results;
    const fp = results.map((r) => Object.values(r.partialFingerprints).join());
    assert.equal(new Set(fp).size, fp.length, 'fingerprints are unique');
    for (const r of results)
      assert.ok(Object.values(r.partialFingerprints).join().includes(decodeURIComponent(r.locations[0]!.physicalLocation.artifactLocation.uri)));
    const bySyscall = (file: string) =>
      new Set(
        results
          .filter(
            (r) =>
              r.locations[0]!.physicalLocation.artifactLocation.index === rel.runs[0]!.artifacts.findIndex((a) => decodeURIComponent(a.location.uri) === file),
          )
          .map((r) => r.properties?.syscall),
      );
    const both = [...bySyscall(files.static)].filter((s) => s && bySyscall(files.dynamic).has(s));
    assert.ok(both.length > 0, 'some call is in both binaries');
  });

  it("passes Microsoft's SARIF Multitool with GitHub's rules (and the Multitool catches what was wrong before)", function () {
    if (!existsSync(MULTITOOL)) {
      const msg = 'Sarif.Multitool not found: npm install (devDependency @microsoft/sarif-multitool-linux)';
      if (process.env.CI) throw new Error(msg);
      console.warn(`      skipped: ${msg}`);
      this.skip();
    }
    try {
      accessSync(MULTITOOL, constants.X_OK);
    } catch {
      // npm may leave the package's postinstall (chmod u+x) unrun when install scripts are not allowed.
      spawnSync('chmod', ['u+x', MULTITOOL]);
    }
    for (const log of ['rel', 'abs']) {
      const problems = multitool(dir, log).filter((r) => r.level === 'error' || r.level === 'warning');
      assert.deepEqual(
        problems.map((p) => `${p.ruleId}: ${p.message.text}`),
        [],
        log,
      );
    }
    // The old shape (no help, no region, a bare relative path) is what the Multitool refuses.
    const old = structuredClone(rel);
    for (const rule of old.runs[0]!.tool.driver.rules) delete rule.help;
    for (const res of old.runs[0]!.results) delete (res.locations[0]!.physicalLocation as Partial<SarifResult['locations'][0]['physicalLocation']>).region;
    writeFileSync(join(dir, 'old.sarif'), JSON.stringify(old));
    const ids = new Set(
      multitool(dir, 'old')
        .filter((r) => r.level === 'error' || r.level === 'warning')
        .map((r) => r.ruleId),
    );
    assert.ok(ids.has('GH2012') && ids.has('SARIF2017'), [...ids].join(' '));
  });

  it('no SARIF and no JSON on exit 2: only the error line on stderr', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'not an ELF file\n');
    for (const format of ['sarif', 'json']) {
      const r = await cli(['check', files.static, 'notes.txt', '--target', 'enclave-x86_64', '--format', format, '--jobs', '1'], dir);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '', format);
      assert.equal(r.stderr, 'sysgate: notes.txt: not an ELF file\n');
    }
  });
});
