/**
 * What a benchmark section is. Its own module, below every section and the list of them
 * (./sections.ts), so that a section file never imports the list that imports it.
 */
import type { spawnSync } from 'node:child_process';

export interface BenchContext {
  runs: number;
  root: string;
  cli: string;
  spawnSync: typeof spawnSync;
}

export interface Section {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<void> | void;
}
