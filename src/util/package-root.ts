/** The installed package's root (where package.json, targets/ and examples/ are). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  // The same walk works from src/ (tsx) and from the dist/ bundle.
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sysgate') return (root = dir);
    if (dirname(dir) === dir) throw new Error('sysgate package root not found');
  }
}
