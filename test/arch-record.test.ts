// Holds issue 10's rule: a per-arch fact lives on the arch record (src/syscalls/arches.ts), so
// no module decides a behaviour by comparing an arch's name against a literal. Per-ISA scanners
// (src/elf/sites/) name their ISA by design and are exempt. The x32 rule was the first fact moved
// (ArchInfo.x32); the last comparisons went with issue 10's second part, so none is allowed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ARCHES } from '../src/syscalls/arches.ts';

const ROOT = join(__dirname, '..', 'src');
const EXEMPT = (rel: string): boolean => rel === 'syscalls/arches.ts' || rel.startsWith('elf/sites/') || rel.endsWith('.generated.ts');
// `arch.name === 'x86_64'`, `arch !== 'aarch64'`, `isa === 'i386'` and the like.
const COMPARE = /\b(?:arch|isa|name)\s*[!=]==\s*'(?:arm|aarch64|x86_64|i386|ppc|ppc64|thumb)'/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('arch record holds every per-arch fact', () => {
  it('no module outside the record and the ISA scanners compares an arch name to a literal', () => {
    const found: Record<string, number> = {};
    for (const p of files(ROOT)) {
      const rel = relative(ROOT, p).split('\\').join('/');
      if (EXEMPT(rel)) continue;
      const n = (readFileSync(p, 'utf8').match(COMPARE) ?? []).length;
      if (n > 0) found[rel] = n;
    }
    for (const [rel, n] of Object.entries(found)) {
      assert.ok(n === 0, `${rel}: ${n} arch-name comparison(s); put the fact on ArchInfo instead`);
    }
  });

  it('the x32 rule is a field of the record', () => {
    assert.deepEqual(
      Object.values(ARCHES)
        .filter((a) => a.x32)
        .map((a) => a.name),
      ['x86_64'],
    );
  });
});
