/** What a command may touch: output streams and a few facts about the terminal. */
export interface Io {
  out(text: string): void;
  /** Raw bytes to stdout (binary output such as `generate --format bpf --out -`). */
  outBytes?(bytes: Uint8Array): void;
  err(text: string): void;
  /** Colour in what goes to stdout (see `wantColor`). */
  color: boolean;
  /** stdout is a terminal. */
  isTTY: boolean;
  /**
   * The same two facts for stderr, which can be a terminal while stdout is a pipe
   * (`sysgate check dir --json > out.json`) and the other way round. Progress and anything
   * painted on stderr follow these, never stdout's. Absent: not a terminal, no colour.
   */
  errColor?: boolean;
  errIsTTY?: boolean;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  name: string;
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

export const COLOR_MODES = ['auto', 'always', 'never'] as const;
export type ColorMode = (typeof COLOR_MODES)[number];

/**
 * The one rule for colour on a stream. `--color always|never` decides outright. In `auto`:
 * NO_COLOR set to anything but "" means never (https://no-color.org); FORCE_COLOR set and not
 * "0" means colour even when the stream is not a terminal (CI logs that render ANSI), "0"
 * means none; TERM=dumb means none; otherwise colour exactly when the stream is a terminal.
 */
export function wantColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>, mode: ColorMode = 'auto'): boolean {
  if (mode !== 'auto') return mode === 'always';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  if (env.TERM === 'dumb') return false;
  return isTTY;
}

/** The Io as seen by text that goes to stderr: the helpers below then paint by stderr's state. */
export function errIo(io: Io): Io {
  return { ...io, out: io.err, color: !!io.errColor, isTTY: !!io.errIsTTY };
}

export function paint(io: Io, code: string, text: string): string {
  return io.color ? `\x1b[${code}m${text}\x1b[0m` : text;
}
export const bold = (io: Io, t: string) => paint(io, '1', t);
export const red = (io: Io, t: string) => paint(io, '31', t);
export const green = (io: Io, t: string) => paint(io, '32', t);
export const yellow = (io: Io, t: string) => paint(io, '33', t);
export const dim = (io: Io, t: string) => paint(io, '2', t);

/** Stable JSON: 2-space indent, trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2)}\n`;
}

/** Left-aligned text table. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(c))));
  return rows
    .map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ').trimEnd())
    .join('\n') + '\n';
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}
