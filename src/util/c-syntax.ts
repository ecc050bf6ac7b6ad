/** Pieces of generated C, each checked or escaped: no user string reaches C unescaped. */
import { InputError } from '../errors.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A C identifier from a target id or name: non-alphanumerics become '_', checked. */
export function cIdent(...parts: string[]): string {
  const s = parts.join('_').replace(/[^A-Za-z0-9_]/g, '_');
  if (!IDENT.test(s)) throw new InputError(`cannot make a C identifier from '${parts.join('_')}'`);
  return s;
}

/** Text safe inside a C block comment, on one line. */
export function cComment(text: string): string {
  return text
    .replace(/\*\//g, '* /')
    .replace(/[\r\n]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** A C string literal. */
export function cString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
