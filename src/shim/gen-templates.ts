/**
 * Regenerates src/shim/templates.generated.ts from templates/shim/*.c.tmpl:
 *   node --import tsx src/shim/gen-templates.ts
 * Committed, and checked by test/shim.test.ts ("templates.generated.ts is up to date").
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const TEMPLATE_DIR = join(ROOT, 'templates/shim');
export const GENERATED = join(ROOT, 'src/shim/templates.generated.ts');

export function renderTemplatesModule(dir = TEMPLATE_DIR): string {
  const names = readdirSync(dir).filter((n) => n.endsWith('.c.tmpl')).sort();
  const lines = names.map((n) => `  ${JSON.stringify(n)}: ${JSON.stringify(readFileSync(join(dir, n), 'utf8'))},`);
  return `// Generated from templates/shim/*.c.tmpl by src/shim/gen-templates.ts: do not edit.\n`
    + `export const TEMPLATES: Readonly<Record<string, string>> = {\n${lines.join('\n')}\n};\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED, renderTemplatesModule());
  console.log(`wrote ${GENERATED}`);
}
