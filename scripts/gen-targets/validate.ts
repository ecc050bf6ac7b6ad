/** The checks every output passes before any file is written: its schema, and the syscall table. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { assertKnown, fail, root, type Target } from './common.ts';

export function validateAll(outputs: { path: string; schema: string; data: unknown }[]): void {
  // strictRequired off: an `if: {required: [...]}` discriminator names properties its own subschema
  // does not define, which is valid JSON Schema. Every other strict check stays on.
  const ajv = new Ajv.default({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  for (const o of outputs) {
    let v = compiled.get(o.schema);
    if (!v) {
      v = ajv.compile(JSON.parse(readFileSync(join(root, o.schema), 'utf8')) as object);
      compiled.set(o.schema, v);
    }
    if (!v(o.data)) fail(`${o.path} is not valid against ${o.schema}:\n${ajv.errorsText(v.errors, { separator: '\n' })}`);
  }
}

export function checkTargetNames(t: Target): void {
  const seen = new Set<string>();
  for (const s of t.syscalls) {
    assertKnown(s.name, `${t.id} syscalls`);
    if (seen.has(s.name)) fail(`${t.id}: duplicate ${s.name}`);
    seen.add(s.name);
  }
  const denied = new Set<string>();
  for (const d of t.deny) {
    assertKnown(d.name, `${t.id} deny`);
    if (seen.has(d.name)) fail(`${t.id}: ${d.name} is both allowed and denied`);
    if (denied.has(d.name)) fail(`${t.id}: duplicate deny ${d.name}`);
    denied.add(d.name);
  }
}
