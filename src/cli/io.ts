import { jsonReplacer, jsonText } from '../util/json-text.ts';

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
  return `${JSON.stringify(value, jsonReplacer, 2)}\n`;
}

/**
 * The bytes `json(value)` would give, written in pieces: a report over a whole directory (with
 * --sysroot) can be past the longest string V8 makes (~512 MB), which JSON.stringify then
 * refuses. Arrays and objects are streamed to `depth` levels; below that each value is
 * stringified whole. Pieces are gathered into writes of about 1 MiB.
 */
export function writeJson(io: Io, value: unknown, depth = 3): void {
  let buf = '';
  const put = (s: string) => {
    buf += s;
    if (buf.length >= 1 << 20) {
      io.out(buf);
      buf = '';
    }
  };
  const leaf = (v: unknown, indent: string) => put(jsonText(v, indent));
  const walk = (v: unknown, indent: string, level: number): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    if (level >= depth || v === null || typeof v !== 'object') return leaf(v, indent);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return put('[]');
      put('[\n');
      v.forEach((x, i) => {
        put(inner);
        // As JSON.stringify: undefined, functions and symbols in an array are null.
        walk(x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : x, inner, level + 1);
        put(i < v.length - 1 ? ',\n' : '\n');
      });
      return put(`${indent}]`);
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol');
    if (entries.length === 0) return put('{}');
    put('{\n');
    entries.forEach(([k, x], i) => {
      put(`${inner}${JSON.stringify(k)}: `);
      walk(typeof x === 'bigint' ? jsonReplacer(k, x) : x, inner, level + 1);
      put(i < entries.length - 1 ? ',\n' : '\n');
    });
    put(`${indent}}`);
  };
  walk(value, '', 0);
  put('\n');
  if (buf) io.out(buf);
}

/**
 * writeJson(array) for an array of `n` elements whose JSON texts `textAt` gives (jsonText
 * indented as elements, asked for one at a time and in order), or (`single`) the one text: the
 * same bytes, in writes of about 1 MiB.
 */
export function writeJsonTexts(io: Io, n: number, textAt: (i: number) => string, single: boolean): void {
  if (single && n === 1) return io.out(`${textAt(0)}\n`);
  if (!n) return io.out('[]\n');
  let buf = '[\n';
  for (let i = 0; i < n; i++) {
    buf += `  ${textAt(i)}${i < n - 1 ? ',\n' : '\n'}`;
    if (buf.length >= 1 << 20) {
      io.out(buf);
      buf = '';
    }
  }
  io.out(`${buf}]\n`);
}

/**
 * writeJsonTexts for texts held as UTF-8 bytes (check --json: its packed reports): the same
 * bytes, written as they are, never decoded to a string and encoded again (check's ~160 MB
 * of reports are written after the last file is checked, so this is the run's last step).
 */
export function writeJsonBytes(io: Io, n: number, bytesAt: (i: number) => Uint8Array, single: boolean): void {
  if (!io.outBytes) return writeJsonTexts(io, n, (i) => Buffer.from(bytesAt(i)).toString('utf8'), single);
  const out = io.outBytes.bind(io);
  if (single && n === 1) return out(Buffer.concat([bytesAt(0), NEWLINE]));
  if (!n) return io.out('[]\n');
  out(OPEN);
  for (let i = 0; i < n; i++) out(Buffer.concat([INDENT, bytesAt(i), i < n - 1 ? COMMA : NEWLINE]));
  out(CLOSE);
}

const OPEN = Buffer.from('[\n');
const INDENT = Buffer.from('  ');
const COMMA = Buffer.from(',\n');
const NEWLINE = Buffer.from('\n');
const CLOSE = Buffer.from(']\n');

/** Left-aligned text table. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(c))));
  return `${rows
    .map(
      (r) =>
        indent +
        r
          .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
          .join('  ')
          .trimEnd(),
    )
    .join('\n')}\n`;
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}
