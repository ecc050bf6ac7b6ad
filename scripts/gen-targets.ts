/**
 * Generates the shipped targets and groups from the reviewed seed copies in scripts/data/:
 *
 *   targets/codesafe5.json          <- codesafe5-allowed-syscalls.md (Entrust's vendor table)
 *   targets/enclave-x86_64.json     <- capejail-allowed.txt (its code's allow list) and
 *                                      capejail-syscalls-*.md (its documentation)
 *   targets/groups/systemd.json     <- systemd-syscall-filter-sets.md
 *   docs/targets/codesafe5.md, docs/targets/enclave-x86_64.md
 *
 * Every output is validated against schemas/ with ajv and every syscall name against the
 * generated table; any error aborts before a file is written. Re-running gives identical bytes.
 *
 * One module per generator under scripts/gen-targets/ (codesafe, capejail, systemd, docs), the
 * checks in validate.ts, the shared shapes in common.ts (the loader's own, from src/policy/raw.ts);
 * this entry only runs them and writes.
 *
 *   npm run gen:targets
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { assertKnown, root } from './gen-targets/common.ts';
import { buildCodesafe } from './gen-targets/codesafe.ts';
import { buildCapejail } from './gen-targets/capejail.ts';
import { buildSystemd } from './gen-targets/systemd.ts';
import { capejailDoc, codesafeDoc } from './gen-targets/docs.ts';
import { checkTargetNames, validateAll } from './gen-targets/validate.ts';

function main(): void {
  const cs = buildCodesafe();
  const cj = buildCapejail();
  const sd = buildSystemd();
  checkTargetNames(cs.target);
  checkTargetNames(cj.target);
  for (const g of Object.values(sd.file.groups)) for (const n of g.syscalls) if (!n.startsWith('@')) assertKnown(n, 'systemd groups');

  const json = (x: unknown): string => `${JSON.stringify(x, null, 2)}\n`;
  const outputs = [
    { path: 'targets/codesafe5.json', schema: 'schemas/target.schema.json', data: cs.target as unknown, text: json(cs.target) },
    { path: 'targets/enclave-x86_64.json', schema: 'schemas/target.schema.json', data: cj.target as unknown, text: json(cj.target) },
    { path: 'targets/groups/systemd.json', schema: 'schemas/groups.schema.json', data: sd.file as unknown, text: json(sd.file) },
  ];
  // Validate what will be written, as re-read from the bytes.
  validateAll(outputs.map((o) => ({ ...o, data: JSON.parse(o.text) as unknown })));

  const files: [string, string][] = [
    ...outputs.map((o): [string, string] => [o.path, o.text]),
    ['docs/targets/codesafe5.md', codesafeDoc(cs.target, cs.rows)],
    ['docs/targets/enclave-x86_64.md', capejailDoc(cj)],
  ];
  for (const [rel, text] of files) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    console.log(`wrote ${relative(root, abs)}`);
  }
  const v = (x: string): number => cs.rows.filter((r) => r.since === x).length;
  console.log(
    `codesafe5: ${cs.target.syscalls.length} syscalls (13.4: ${v('13.4')}, 13.5: ${v('13.5')}, 13.7: ${v('13.7')}), ` + `${cs.target.deny.length} deny`,
  );
  console.log(
    `enclave-x86_64: ${cj.target.syscalls.length} of ${cj.codeCount} code names allowed, ${cj.target.deny.length} deny; ` +
      `disagreements: ${cj.disagreements.map((d) => `${d.name} (${d.kind})`).join(', ')}`,
  );
  if (cj.unknownDocNames.length) console.log(`enclave-x86_64: documented names not in the table: ${cj.unknownDocNames.join(', ')}`);
  console.log(
    `systemd: ${Object.keys(sd.file.groups).length} groups; omitted ${sd.omitted.join(', ') || 'none'}; dropped ` +
      (sd.dropped.map((d) => `${d.name} from ${d.group} (${d.why})`).join(', ') || 'none'),
  );
}

main();
