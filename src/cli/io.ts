/** What a command may touch: output streams and a few facts about the terminal. */
export interface Io {
  out(text: string): void;
  /** Raw bytes to stdout (binary output such as `generate --format bpf --out -`). */
  outBytes?(bytes: Uint8Array): void;
  err(text: string): void;
  /** Colour and progress are for terminals only, and never with NO_COLOR. */
  color: boolean;
  isTTY: boolean;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  name: string;
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

/** Colour on a terminal only, never with NO_COLOR (any value, https://no-color.org) or TERM=dumb. */
export function wantColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb';
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
