import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { decodeFilter, runFilter } from '../src/bpf/index.ts';
import { generate } from '../src/generate.ts';
import { formatAction } from '../src/policy/action.ts';
import { evaluatePolicy } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy } from '../src/policy/types.ts';
import { ARCHES, type ArchName } from '../src/syscalls/arches.ts';
import { compileC, removeDir, sh, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';
import { ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

const CROSS: Record<string, [string, string]> = {
  x86_64: ['gcc', 'gcc'],
  arm: ['arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf'],
  aarch64: ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
  ppc: ['powerpc-linux-gnu-gcc', 'gcc-powerpc-linux-gnu'],
};

const SHIPPED: [string, string | undefined][] = [
  ['codesafe5', '13.4'],
  ['codesafe5', '13.5'],
  ['codesafe5', '13.7'],
  ['enclave-x86_64', undefined],
];

function fileText(files: { name: string; content: string | Uint8Array }[], suffix: string): string {
  const f = files.find((x) => x.name.endsWith(suffix));
  assert.ok(f, `no ${suffix}`);
  return typeof f.content === 'string' ? f.content : Buffer.from(f.content).toString('latin1');
}

describe('generate', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  it('writes every format, byte-identical on a second run', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const out of [a, b]) {
      const r = await cli(['generate', '--target', 'codesafe5', '--firmware', '13.7', '--arch', 'all', '--out', out, '--quiet']);
      assert.equal(r.code, 0, r.stderr);
    }
    const names = readdirSync(a).sort();
    assert.equal(names.length, 5 * 6); // arm, ppc64, ppc, aarch64, x86_64
    assert.deepEqual(readdirSync(b).sort(), names);
    for (const n of names) assert.ok(readFileSync(join(a, n)).equals(readFileSync(join(b, n))), n);
    assert.ok(names.includes('codesafe5-13.7-arm.bpf') && names.includes('codesafe5-13.7-ppc.oci.json'));
  });

  it('writes nothing when any part fails', async () => {
    const out = join(dir, 'none');
    const r = await cli(['generate', '--target', 'codesafe5', '--format', 'bpf,c,pfc', '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown format 'pfc'/);
    assert.equal(existsSync(out), false);
    const mixed = await cli(['generate', '--target', 'codesafe5', '--arch', 'arm,ppc', '--out', out]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /cannot mix byte orders/);
    assert.equal(existsSync(out), false);
  });

  it('raw bpf is in the target byte order and runs to the policy in the emulator', async () => {
    const t = await loadTarget('codesafe5');
    for (const arch of ['arm', 'ppc', 'aarch64', 'x86_64'] as ArchName[]) {
      const [g] = generate(t, { firmware: '13.7', arches: [arch], formats: ['bpf'] });
      const bytes = g!.files[0]!.content as Uint8Array;
      const insns = decodeFilter(bytes, ARCHES[arch].endian);
      // the first instruction is `ld [arch]`: code 0x20, k 4, in the arch's byte order
      const k = ARCHES[arch].endian === 'big' ? Buffer.from(bytes).readUInt32BE(4) : Buffer.from(bytes).readUInt32LE(4);
      assert.equal(k, 4, arch);
      const p = resolvePolicy(t, { firmware: '13.7', arch });
      for (let nr = 0; nr < 1100; nr++) {
        const got = runFilter(insns, { nr, arch: p.arch.auditArch }, ARCHES[arch].endian).action;
        assert.equal(formatAction(got), formatAction(evaluatePolicy(p, nr)), `${arch} ${nr}`);
      }
      assert.equal(runFilter(insns, { nr: 3, arch: 0x12345678 }, ARCHES[arch].endian).action.kind, 'kill-process');
    }
  });

  it('OCI JSON validates against the runtime-spec schema', async () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'test/schemas/oci-seccomp.schema.json'), 'utf8'));
    const validate = new Ajv.default({ allErrors: true }).compile(schema);
    for (const [id, fw] of SHIPPED) {
      const t = await loadTarget(id);
      for (const g of generate(t, { ...(fw ? { firmware: fw } : {}), arches: 'all', formats: ['oci'] })) {
        const doc: { defaultAction: string; defaultErrnoRet?: number } = JSON.parse(fileText(g.files, '.oci.json'));
        assert.ok(validate(doc as object), `${g.baseName}: ${JSON.stringify(validate.errors)}`);
        assert.equal(doc.defaultAction, fw === '13.7' ? 'SCMP_ACT_ERRNO' : 'SCMP_ACT_KILL_PROCESS');
        if (fw === '13.7') assert.equal(doc.defaultErrnoRet, 38);
      }
    }
  });

  it('systemd drop-in lists the allowed names and the error number', async () => {
    const [g] = generate(await loadTarget('codesafe5'), { firmware: '13.7', arches: ['arm'], formats: ['systemd'] });
    const text = fileText(g!.files, '.systemd.conf');
    assert.match(text, /^SystemCallArchitectures=arm$/m);
    assert.match(text, /^SystemCallErrorNumber=ENOSYS$/m);
    const names = text
      .split('\n')
      .filter((l) => l.startsWith('SystemCallFilter=') && !l.includes('~'))
      .flatMap((l) => l.slice(17).split(' '));
    assert.ok(names.includes('mmap2') && names.includes('set_tls') && !names.includes('getrandom'));
    assert.ok(!names.includes('nice'), 'argument conditions cannot be expressed: fail closed');
  });

  for (const arch of Object.keys(CROSS)) {
    it(`the C header compiles with -std=c99 -Wall -Wextra -Werror for ${arch}`, async function () {
      const [cc, pkg] = CROSS[arch]!;
      requireTool(this, cc, pkg);
      const [g] = generate(await loadTarget('codesafe5'), { firmware: '13.7', arches: [arch], formats: ['c'] });
      writeFileSync(join(dir, `${g!.baseName}.h`), fileText(g!.files, '.h'));
      compileC(cc, dir, `hdr-${arch}`, `#include "${g!.baseName}.h"\nint main(void) { return sysgate_codesafe5_install(); }\n`, [
        '-std=c99',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-DSYSGATE_HOST_FILTER',
        '-c',
      ]);
    });
  }
});

describe('generated filters in the kernel', () => {
  let dir: string;
  before(function () {
    requireTool(this, 'gcc', 'gcc');
    dir = tempDir();
  });
  after(() => dir && removeDir(dir));

  const program = (header: string, cname: string, extra = '') => `#define _GNU_SOURCE
#define SYSGATE_HOST_FILTER
#include "${header}"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  (void)argc;
  if (${cname}_install() != 0) { perror("install"); return 10; }
  char *buf = malloc(1 << 20);
  if (!buf) return 11;
  memset(buf, 'x', 1 << 20);
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror("fopen"); return 12; }
  fprintf(f, "hello %ld\\n", (long)time(NULL));
  fclose(f);
  f = fopen(argv[1], "r");
  if (!f || !fgets(buf, 100, f)) return 13;
  fclose(f);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ${extra}
  printf("ok %s", buf);
  free(buf);
  return 0;
}
`;

  for (const [id, fw] of [
    ['codesafe5', '13.7'],
    ['enclave-x86_64', undefined],
  ] as const) {
    it(`a C program (file I/O, malloc, time, printf) exits cleanly under ${id}${fw ? ` ${fw}` : ''} on x86_64`, async () => {
      const [g] = generate(await loadTarget(id), { ...(fw ? { firmware: fw } : {}), arches: ['x86_64'], formats: ['c'] });
      writeFileSync(join(dir, `${g!.baseName}.h`), fileText(g!.files, '.h'));
      const cname = `sysgate_${id.replace(/-/g, '_')}`;
      const exe = compileC('gcc', dir, `prog-${id}`, program(`${g!.baseName}.h`, cname), ['-O1']);
      const r = sh(exe, [join(dir, `out-${id}.txt`)]);
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^ok hello \d+/);
    });
  }

  it('enforces: getrandom gets ENOSYS on 13.7 and kills the process on 13.5, SIGSYS handler or not', async () => {
    const t = await loadTarget('codesafe5');
    for (const fw of ['13.7', '13.5']) {
      const [g] = generate(t, { firmware: fw, arches: ['x86_64'], formats: ['c'] });
      writeFileSync(join(dir, `${g!.baseName}.h`), fileText(g!.files, '.h'));
      // A SIGSYS handler would catch a seccomp TRAP; kill-process ends the process before any handler runs.
      const probe = `{ char b[8]; signal(SIGSYS, on_sys); long rc = syscall(SYS_getrandom, b, 8, 0); if (rc != -1) return 20; printf("errno=%d\\n", errno); fflush(stdout); }`;
      const src = program(`${g!.baseName}.h`, 'sysgate_codesafe5', probe).replace(
        '#include <stdio.h>',
        '#include <stdio.h>\n#include <errno.h>\n#include <signal.h>\n#include <unistd.h>\nstatic void on_sys(int s) { (void)s; write(1, "caught\\n", 7); _exit(7); }',
      );
      const exe = compileC('gcc', dir, `enforce-${fw}`, src, ['-O1']);
      const r = sh(exe, [join(dir, `enf-${fw}.txt`)]);
      if (fw === '13.7') {
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /errno=38/);
      } else {
        assert.equal(r.signal, 'SIGSYS', `${r.status} ${r.stdout}`);
        assert.doesNotMatch(r.stdout, /caught/);
      }
    }
  });
});

describe('libseccomp builds the same policy', () => {
  let dir: string;
  before(function () {
    requireTool(this, 'gcc', 'gcc');
    if (!existsSync('/usr/include/seccomp.h')) {
      if (process.env.CI) throw new Error('seccomp.h missing: apt-get install libseccomp-dev');
      this.skip();
    }
    dir = tempDir();
  });
  after(() => dir && removeDir(dir));

  for (const [id, fw] of SHIPPED) {
    it(`${id}${fw ? ` ${fw}` : ''}: same action for every number 0..1023, ARM private calls and a foreign arch`, async () => {
      const t = await loadTarget(id);
      const arches = (id === 'codesafe5' ? ['arm', 'aarch64', 'ppc', 'x86_64'] : ['x86_64']) as ArchName[];
      for (const arch of arches) {
        const [g] = generate(t, { ...(fw ? { firmware: fw } : {}), arches: [arch], formats: ['bpf', 'libseccomp'] });
        const src = join(dir, `${g!.baseName}.libseccomp.c`);
        writeFileSync(src, fileText(g!.files, '.libseccomp.c'));
        const exe = join(dir, g!.baseName);
        const cc = sh('gcc', ['-O1', '-DSYSGATE_EXPORT_MAIN', '-o', exe, src, '-lseccomp']);
        assert.equal(cc.status, 0, cc.stderr);
        const run = spawnSync(exe, [], { maxBuffer: 1 << 24 });
        assert.equal(run.status, 0, run.stderr.toString());
        const unresolved = new Set([...run.stderr.toString().matchAll(/unresolved: (\S+)/g)].map((m) => m[1]!));
        const theirs = decodeFilter(new Uint8Array(run.stdout), ARCHES[arch].endian); // exported in the target's byte order
        const ours = decodeFilter(g!.files.find((f) => f.name.endsWith('.bpf'))!.content as Uint8Array, ARCHES[arch].endian);
        const p: Policy = resolvePolicy(t, { ...(fw ? { firmware: fw } : {}), arch });
        const numbers = [...Array(1024).keys(), ...(arch === 'arm' ? [0xf0001, 0xf0002, 0xf0003, 0xf0004, 0xf0005, 0xf0006] : [])];
        const differences: string[] = [];
        for (const nr of numbers) {
          const a = formatAction(runFilter(ours, { nr, arch: p.arch.auditArch }, ARCHES[arch].endian).action);
          const b = formatAction(runFilter(theirs, { nr, arch: p.arch.auditArch }, ARCHES[arch].endian).action);
          if (a === b) continue;
          const rule = p.rules.find((r) => r.nr === nr);
          // Known: libseccomp 2.5.4 does not know this name, so its filter leaves it out (denied).
          if (rule && unresolved.has(rule.name)) continue;
          differences.push(`${arch} nr ${nr} (${rule?.name ?? '-'}): sysgate ${a}, libseccomp ${b}`);
        }
        const foreign = (insns: typeof ours, e: 'little' | 'big') => formatAction(runFilter(insns, { nr: 1, arch: 0xdeadbeef }, e).action);
        assert.equal(foreign(ours, ARCHES[arch].endian), foreign(theirs, ARCHES[arch].endian));
        assert.deepEqual(differences, [], `${g!.baseName}`);
      }
    });
  }
});
