/** Timing helpers for the benchmark. */
import { spawnSync } from 'node:child_process';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Wall-clock milliseconds of `cmd args` over `runs` runs (after one warm-up unless told not to). */
export function timeCommand(cmd: string, args: string[], runs: number, cwd?: string, warmUp = true): number[] {
  if (warmUp) spawnSync(cmd, args, { stdio: 'ignore', cwd });
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', cwd });
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return out;
}

/** Milliseconds per call of fn, best of `rounds` rounds of `n` calls. */
export function timeFn(fn: () => unknown, n = 1, rounds = 5): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6 / n);
  }
  return best;
}

export const ms = (x: number) => `${x.toFixed(1)} ms`;
