/**
 * Errors the library throws for bad input. The CLI turns any of these into a one-line message
 * and exit code 2; anything else is a bug and keeps its stack trace.
 *
 * The CLI is several bundles (start-up and the heavier commands), each with its own copy of
 * these classes, so `instanceof` checks a brand that every copy shares, not the class itself.
 */
const KINDS = Symbol.for('sysgate.error-kinds');

type Branded = { [KINDS]?: readonly string[] };

export class InputError extends Error {
  static readonly kind: string = 'InputError';
  override readonly name: string = 'InputError';
  readonly [KINDS]: readonly string[];

  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    const kinds: string[] = [];
    for (let c = new.target as unknown as { kind?: string } | null; c?.kind; c = Object.getPrototypeOf(c)) kinds.push(c.kind);
    this[KINDS] = kinds;
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the check is called on (each brand its own kind)
    return typeof x === 'object' && x !== null && !!(x as Branded)[KINDS]?.includes((this as unknown as { kind: string }).kind);
  }
}

/** One problem found in a file, located by JSON pointer (RFC 6901). */
export interface Diagnostic {
  file: string;
  pointer: string;
  message: string;
}

/** Several problems in one input, reported together. */
export class DiagnosticsError extends InputError {
  static override readonly kind: string = 'DiagnosticsError';
  override readonly name: string = 'DiagnosticsError';

  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}${d.pointer ? `#${d.pointer}` : ''}: ${d.message}`;
}
