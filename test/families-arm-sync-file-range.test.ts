/**
 * ARM's sync_file_range2 (issue 11): the kernel's ARM header defines __NR_sync_file_range2 as
 * __NR_arm_sync_file_range (341), while the generated table (libseccomp's names) has only
 * arm_sync_file_range. The family must reach it, or a policy's sync_file_range(2) resolves to
 * nothing on ARM.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { replacementsOf, twinsOf } from '../src/syscalls/families.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { removeDir, sh, tempDir } from './helpers/build.ts';
import { requireTool } from './helpers/tools.ts';

describe('families: ARM sync_file_range2 is arm_sync_file_range (341)', () => {
  it('the ARM kernel header names 341 both ways, and the table has it as arm_sync_file_range', function () {
    requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
    const r = sh('arm-linux-gnueabihf-gcc', ['-dM', '-E', '-x', 'c', '-'], { input: '#include <asm/unistd.h>\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /#define __NR_arm_sync_file_range \(__NR_SYSCALL_BASE ?\+ ?341\)/);
    assert.match(r.stdout, /#define __NR_sync_file_range2 __NR_arm_sync_file_range/);
    assert.equal(syscallNumber('arm', 'arm_sync_file_range'), 341);
    assert.equal(syscallNumber('arm', 'sync_file_range'), null);
    assert.equal(syscallNumber('arm', 'sync_file_range2'), null);
  });

  it('sync_file_range and sync_file_range2 both reach arm_sync_file_range on ARM, its only member there', () => {
    for (const name of ['sync_file_range', 'sync_file_range2']) {
      const onArm = replacementsOf(name)
        .filter((t) => syscallNumber('arm', t.name) !== null)
        .map((t) => t.name);
      assert.deepEqual(onArm, ['arm_sync_file_range'], name);
    }
    assert.deepEqual(
      twinsOf('arm_sync_file_range')
        .map((t) => t.name)
        .sort(),
      ['sync_file_range', 'sync_file_range2'],
    );
  });

  it('a target allowing sync_file_range (or sync_file_range2) allows 341 on ARM; 32-bit and 64-bit PowerPC keep 308', async () => {
    const dir = tempDir();
    try {
      for (const name of ['sync_file_range', 'sync_file_range2']) {
        const file = join(dir, `${name}.json`);
        writeFileSync(
          file,
          JSON.stringify({
            id: `sfr-${name.replace(/_/g, '-')}`,
            title: 'sync_file_range on every arch',
            arches: ['arm', 'ppc', 'ppc64', 'x86_64'],
            defaultAction: 'errno:ENOSYS',
            expandFamilies: 'absent',
            syscalls: [{ name }],
          }),
        );
        const t = await loadTarget(file);
        const arm = resolvePolicy(t, { arch: 'arm' });
        const rule = arm.rules.find((r) => r.nr === 341);
        assert.ok(rule, `${name}: nothing at 341 on ARM; absent: ${JSON.stringify(arm.absent)}`);
        assert.equal(rule.name, 'arm_sync_file_range');
        assert.deepEqual(arm.absent.find((a) => a.name === name)?.replacedBy, ['arm_sync_file_range']);
        for (const arch of ['ppc', 'ppc64'] as const) {
          assert.ok(
            resolvePolicy(t, { arch }).rules.some((r) => r.nr === 308 && r.name === 'sync_file_range2'),
            `${name} ${arch}`,
          );
        }
      }
    } finally {
      removeDir(dir);
    }
  });
});
