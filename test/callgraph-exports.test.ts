/**
 * CallGraph's index of exported names (one node per name, or several: foo@V1 and foo@@V2 at
 * two addresses, or aliases of two stretches): entering a name runs every node that exports it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { CallGraph, type CallGraphData } from '../src/elf/callgraph.ts';

/** Nodes 0..4 at 0x1000, 0x1100, ...; `exports[i]` names node i exports; `edges[i]` nodes it calls. */
function graph(exports: string[][], edges: number[][]): CallGraph {
  const names = [...new Set(exports.flat())];
  const csr = (lists: number[][]) => {
    const start = new Int32Array(lists.length + 1);
    lists.forEach((l, i) => (start[i + 1] = start[i]! + l.length));
    return { start, items: Int32Array.from(lists.flat()) };
  };
  const e = csr(edges);
  const x = csr(exports.map((l) => l.map((n) => names.indexOf(n))));
  const data: CallGraphData = {
    starts: Float64Array.from(exports, (_, i) => 0x1000 + i * 0x100),
    ends: Float64Array.from(exports, (_, i) => 0x1000 + i * 0x100 + 0x80),
    edgeStart: e.start,
    edges: e.items,
    names,
    useStart: new Int32Array(exports.length + 1),
    uses: new Int32Array(0),
    exportStart: x.start,
    exports: x.items,
    roots: new Int32Array(0),
    dataUses: [],
  };
  return new CallGraph(data);
}

const at = (i: number) => 0x1000 + i * 0x100;

describe('callgraph: a name several nodes export', () => {
  it('entering it runs each of them and what they call; other exports stay unreached', () => {
    // node 0: f (v1), node 1: g, node 2: f (v2) and h, node 3: called by node 2, node 4: f (v3)
    const g = graph([['f'], ['g'], ['f', 'h'], [], ['f']], [[], [], [3], [], []]);
    const r = g.reach(new Set(['f']));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => r.counts(at(i))),
      [true, false, true, true, true],
    );
    const h = g.reach(new Set(['h']));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => h.counts(at(i))),
      [false, false, true, true, false],
    );
    const none = g.reach(new Set(['nothing']));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => none.counts(at(i))),
      [false, false, false, false, false],
    );
  });
});
