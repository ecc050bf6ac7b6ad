/**
 * JSON Schema validation of user files with ajv. Compiling a schema costs tens of
 * milliseconds, so it happens only when a user file is loaded, never for shipped targets
 * (those are validated by the build and the test suite), and at most once per schema.
 */
import { excerpt } from './suggest.ts';
import type { ValidateFunction } from 'ajv';
import type { Diagnostic } from '../errors.ts';

const compiled = new Map<object, ValidateFunction>();

async function validator(schema: object): Promise<ValidateFunction> {
  let v = compiled.get(schema);
  if (!v) {
    // ajv is CommonJS: under Node's ESM interop its class is module.exports.default.
    const Ajv = (await import('ajv')).default.default;
    // strictRequired off: if/then blocks require properties declared beside them, not in them.
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Every schema violation in `raw`, each with the file and a JSON pointer. */
export async function validateJson(schema: object, raw: unknown, file: string): Promise<Diagnostic[]> {
  const validate = await validator(schema);
  if (validate(raw)) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // if/then/else reports a summary error besides the real one
    if (e.keyword === 'if') continue;
    let message = e.message ?? 'invalid';
    // An unknown property is located at itself (a root-level one would have no pointer at all).
    let pointer = e.instancePath;
    if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${e.instancePath}/${prop.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      message = `unknown property '${excerpt(prop)}'`;
    }
    if (e.keyword === 'enum') message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'pattern' && /\/action$/.test(e.instancePath)) {
      message = 'bad action (expected allow, log, trap, kill-process, kill-thread, user-notif, errno:NAME, trace:N)';
    }
    const key = `${pointer}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, pointer, message });
  }
  return out;
}
