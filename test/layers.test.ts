/**
 * The module layering of src/ (and bench/), checked on the real import statements: no cycle between
 * files, and no import from a lower layer to a higher one. A module's layer is its top folder under
 * src/ (src/elf/sites/x86.ts is `elf`), or its own name for the files at the top of src/.
 *
 * The order, lowest first, and why each sits where it does:
 *   errors, version  the error types and the version string: imported by everything, import nothing
 *   util             file writing, input reading, JSON validation, suggestions; C syntax (escaping for
 *                    every generator of C: the emitters and the shim)
 *   templates        generated data: the C templates as strings
 *   syscalls         the per-arch tables and arch records
 *   libc             the libc knowledge base (data about glibc and musl, keyed by syscall)
 *   policy           targets, actions, errno names, firmware, the reference evaluator
 *   bpf              compile, assemble, encode, emulate, analyse a Policy's program
 *   elf              reading programs (knows arches, nothing of policies)
 *   shim             the libc shim's C source from a Policy
 *   emit             the output formats; its registry lists the shim's format, so emit is above shim
 *   generate         target + firmware + formats -> files (uses emit)
 *   buildsys         the compiler wrapper and the cached shim object
 *   check            ELF + libc knowledge + Policy -> findings
 *   run              running programs under the filter (uses buildsys for the supervisor)
 *   config           sysgate.config.json, read by the commands
 *   index            the Node API
 *   cli              the executable and its commands
 * Two modules of one layer may import each other's files as long as no file cycle forms.
 *
 * bench/ sits above all of src/ and may not be imported by it; its own files must form no cycle.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/paths.ts';

const LAYERS = [
  ['errors', 'version'],
  ['util'],
  ['templates'],
  ['syscalls'],
  ['libc'],
  ['policy'],
  ['bpf'],
  ['elf'],
  ['shim'],
  ['emit'],
  ['generate'],
  ['buildsys'],
  ['check'],
  ['run'],
  ['config'],
  ['index'],
  ['cli'],
];

function rank(layer: string): number {
  const i = LAYERS.findIndex((names) => names.includes(layer));
  // A folder or top file not written above has no place yet: it must be given one, not pass silently.
  if (i < 0) throw new Error(`module layer '${layer}' is not in LAYERS of test/layers.test.ts`);
  return i;
}

/** src/elf/sites/x86.ts -> elf; src/generate.ts -> generate. */
function layerOf(file: string): string {
  const parts = relative(join(ROOT, 'src'), file).split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Every relative import of a file, resolved to a path: static imports and re-exports (type-only
 * ones too: a type from a higher layer is still a dependency on it) and dynamic import()s.
 * TypeScript's own pre-processor reads them, so comments and strings cannot fake or hide one.
 */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

type Graph = Map<string, string[]>;

function graphOf(files: string[]): Graph {
  return new Map(files.map((f) => [f, importsOf(f)]));
}

/** Each cycle found by a depth-first walk, as the list of its files (relative to the repo). */
function cycles(graph: Graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (!graph.has(g)) continue;
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(ROOT, x)));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

/** Upward imports of src/: "src/a/x.ts (a) -> src/b/y.ts (b)" for each import of a higher layer. */
function upward(graph: Graph): string[] {
  const src = `${join(ROOT, 'src')}/`;
  const bad: string[] = [];
  for (const [f, targets] of graph) {
    for (const t of targets) {
      const show = `${relative(ROOT, f)} (${layerOf(f)}) -> ${relative(ROOT, t)}`;
      if (!t.startsWith(src)) {
        // Data files (package.json for the version, the shipped targets, the schemas) are bundled in;
        // code outside src/ (bench/, test/, scripts/) is not part of the tool.
        if (t.endsWith('.ts')) bad.push(`${show}: code outside src/`);
        continue;
      }
      if (rank(layerOf(t)) > rank(layerOf(f))) bad.push(`${show} (${layerOf(t)})`);
    }
  }
  return bad.sort();
}

describe('layers: module imports', () => {
  const srcGraph = graphOf(tsFiles(join(ROOT, 'src')));
  const benchGraph = graphOf(tsFiles(join(ROOT, 'bench')));

  it('reads the imports it checks (the parser is not blind)', () => {
    // If the reader lost imports, every rule below would pass on nothing.
    const emitIndex = srcGraph.get(join(ROOT, 'src/emit/index.ts'));
    assert.ok(emitIndex?.includes(join(ROOT, 'src/emit/asm.ts')), 'src/emit/index.ts imports ./asm.ts');
    assert.ok(srcGraph.size > 100, `${srcGraph.size} files in src/`);
    const dynamic = [...srcGraph.values()].flat().filter((t) => t.includes('/cli/commands/'));
    assert.ok(dynamic.length > 0, "the command registry's imports are seen");
    assert.deepEqual(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
      [['a', 'b', 'c', 'a']],
    );
  });

  it('every file of src/ has a layer', () => {
    for (const f of srcGraph.keys()) rank(layerOf(f));
  });

  it('no cycle between files of src/', () => {
    assert.deepEqual(cycles(srcGraph), []);
  });

  it('no import from a lower layer of src/ to a higher one', () => {
    assert.deepEqual(upward(srcGraph), []);
  });

  it('no cycle between files of bench/, and src/ imports nothing of bench/ or test/', () => {
    assert.deepEqual(cycles(benchGraph), []);
    // Covered by upward() too (anything outside src/ is refused); named here for the bench.
    const out = [...srcGraph.values()].flat().filter((t) => t.startsWith(`${join(ROOT, 'bench')}/`) || t.startsWith(`${join(ROOT, 'test')}/`));
    assert.deepEqual(out, []);
  });
});
