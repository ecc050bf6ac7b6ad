/**
 * JSON as sysgate writes it: 2-space indent, bigints as 0x hex. One home for the spelling, used
 * by the CLI's writers and by `check`'s workers, which turn their reports into this text
 * themselves (src/check/walk.ts checkPathsJson).
 */
export const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

/** `value` as JSON text; `indent` starts every line after the first (an element nested that deep). */
export function jsonText(value: unknown, indent = ''): string {
  // One level down (an element of an array): JSON.stringify indents it itself, in [value],
  // which is cheaper than indenting its lines after (check's reports are ~150 MB of text).
  if (indent === '  ' && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') {
    const s = stringify([value])!;
    return s.slice(4, -2);
  }
  const s = stringify(value) ?? 'null';
  return indent ? s.replaceAll('\n', `\n${indent}`) : s;
}

/**
 * jsonText(value, indent) as UTF-8. An element's text is cut from its array's bytes, not from
 * its string: the cut of a string is a copy of the report when it is encoded (check: 150 MB
 * more garbage per directory run), and the bytes of "[\n  " and "\n]" are one each.
 */
export function jsonBytes(value: unknown, indent = ''): Buffer {
  if (indent === '  ' && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') {
    const b = Buffer.from(stringify([value])!, 'utf8');
    return b.subarray(4, b.length - 2);
  }
  return Buffer.from(jsonText(value, indent), 'utf8');
}

/**
 * JSON.stringify with jsonReplacer. A replacer function makes V8 leave its fast path (check's
 * JSON: 2 s of a directory run), so the value is tried without one first: only a bigint makes
 * that throw, and then the replacer writes it.
 */
function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, null, 2);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(value, jsonReplacer, 2);
  }
}
