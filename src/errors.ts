/**
 * Errors the library throws for bad input. The CLI turns any of these into a one-line message
 * and exit code 2; anything else is a bug and keeps its stack trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(message: string, readonly hint?: string) {
    super(message);
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
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}${d.pointer ? `#${d.pointer}` : ''}: ${d.message}`;
}
