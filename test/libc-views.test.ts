/**
 * The shim's view of the C libraries against the libc knowledge base (src/libc): for every
 * symbol the shim can define, the call each libc's implementation enters first, per arch and
 * release, must be the knowledge base's chain[0]. The shim decides from its view whether a
 * symbol needs interposing, so a disagreement is a symbol wrapped for nothing or, worse, a
 * denied call left unwrapped. Either side changing alone fails here.
 */
import assert from 'node:assert/strict';
import { compareVersions, knowledgeBase, LIBCS, lookupFunction, type Libc } from '../src/libc/index.ts';
import { FALLBACKS, SHIM_ARCHES, shimLibcCall } from '../src/shim/index.ts';
import type { ShimSymbol } from '../src/shim/index.ts';
import { ARCHES } from '../src/syscalls/arches.ts';

/** Every release where the knowledge base or the shim's view of `symbol` may change, inside coverage. */
function releases(libc: Libc, s: ShimSymbol): string[] {
  const kb = knowledgeBase(libc);
  const { from, through } = kb.coverage;
  const bounds = new Set([from, through, kb.defaultVersion]);
  for (const e of kb.functions) {
    if (!e.symbols.includes(s.name)) continue;
    for (const v of [e.minVersion, e.beforeVersion, ...e.chain.flatMap((c) => [c.minVersion, c.beforeVersion])]) if (v) bounds.add(v);
  }
  for (const view of s.libcCalls[libc] ?? []) for (const v of [view.since, view.before]) if (v) bounds.add(v);
  return [...bounds].filter((v) => compareVersions(v, from) >= 0 && compareVersions(v, through) <= 0).sort(compareVersions);
}

describe('libc views: the shim against the libc knowledge base', () => {
  const symbols = FALLBACKS.flatMap((e) => e.symbols);

  it('covers every symbol the shim can define', () => {
    assert.ok(symbols.length >= 25, `${symbols.length} symbols`);
    assert.ok(SHIM_ARCHES.length >= 5);
  });

  for (const s of symbols) {
    it(`${s.name}: the call each libc enters first, per arch and release`, () => {
      const wrong: string[] = [];
      for (const libc of LIBCS) {
        for (const arch of SHIM_ARCHES) {
          if (s.only32 && ARCHES[arch].bits !== 32) continue;
          for (const v of releases(libc, s)) {
            const kb = lookupFunction(libc, s.name, arch, v);
            const kbCall = kb && !kb.pure ? (kb.chain[0]?.syscall ?? null) : undefined;
            const shimCall = shimLibcCall(s, libc, arch, v);
            if (kbCall !== shimCall)
              wrong.push(
                `${libc} ${v} ${arch}: knowledge base ${kbCall ?? (kbCall === null ? 'no chain' : 'no entry')}, shim ${shimCall ?? (shimCall === null ? 'no call on the arch' : 'no view')}`,
              );
          }
        }
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('says what the knowledge base says about pipe() on glibc: pipe before 2.35 where the arch has it, pipe2 from 2.35 on', () => {
    const pipe = symbols.find((s) => s.name === 'pipe')!;
    assert.equal(shimLibcCall(pipe, 'glibc', 'x86_64', '2.34'), 'pipe');
    assert.equal(shimLibcCall(pipe, 'glibc', 'aarch64', '2.34'), 'pipe2');
    assert.equal(shimLibcCall(pipe, 'glibc', 'x86_64', '2.35'), 'pipe2');
    assert.equal(lookupFunction('glibc', 'pipe', 'x86_64', '2.34')?.chain[0]?.syscall, 'pipe');
    assert.equal(lookupFunction('glibc', 'pipe', 'arm', '2.36')?.chain[0]?.syscall, 'pipe2');
  });
});
