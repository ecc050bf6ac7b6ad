/**
 * Writes scripts/vm-kernels.generated.tsv, the table scripts/fetch-kernels.sh reads: for each arch
 * whose programs `sysgate run` boots in a qemu-system guest, its Debian architecture and the
 * kernel's meta package, from the arch record (ArchInfo.runner.vm.kernelFlavour, debianArch,
 * through src/run/kernels.ts's vmMachine):
 *   npm run gen:vm-kernels
 * A data file rather than a node call in the script: .ci/run fetches the kernels before `npm ci`,
 * and the script needs only bash and apt. Committed, and checked by test/arch-record.test.ts.
 * Re-running gives identical bytes.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VM_ARCHES, vmMachine } from '../src/run/kernels.ts';

export const VM_KERNELS = join(dirname(fileURLToPath(import.meta.url)), 'vm-kernels.generated.tsv');

export function renderVmKernels(): string {
  const rows = VM_ARCHES.map((arch) => {
    const m = vmMachine(arch);
    return [arch, m.debianArch, m.kernelMeta].join('\t');
  });
  return (
    '# Generated from the arch records (src/syscalls/arches.ts) by scripts/gen-vm-kernels.ts\n' +
    '# (npm run gen:vm-kernels): do not edit. Read by scripts/fetch-kernels.sh.\n' +
    '# arch\tdebian arch\tkernel meta package\n' +
    `${rows.join('\n')}\n`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(VM_KERNELS, renderVmKernels());
  console.log(`wrote ${VM_KERNELS}`);
}
