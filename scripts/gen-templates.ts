/**
 * Bundles every file under templates/ into src/templates/templates.generated.ts, so that the
 * CLI bundle, tsx and mocha all read the same text without touching the file system:
 *   npm run gen:templates
 * Committed, and checked by test/templates.test.ts. Re-running gives identical bytes.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TEMPLATE_DIR = join(ROOT, 'templates');
export const GENERATED = join(ROOT, 'src/templates/templates.generated.ts');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

export function renderTemplatesModule(dir = TEMPLATE_DIR): string {
  const lines = walk(dir).map((p) => `  ${JSON.stringify(relative(dir, p).split('\\').join('/'))}: ${JSON.stringify(readFileSync(p, 'utf8'))},`);
  return (
    '// Generated from templates/ by scripts/gen-templates.ts (npm run gen:templates): do not edit.\n' +
    '/** Text of every file under templates/, keyed by its path there (e.g. "shim/pipe2.c.tmpl"). */\n' +
    `export const TEMPLATES: Readonly<Record<string, string>> = {\n${lines.join('\n')}\n};\n`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED, renderTemplatesModule());
  console.log(`wrote ${GENERATED}`);
}
