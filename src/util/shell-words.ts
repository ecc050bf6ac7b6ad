/**
 * Words for a POSIX shell command line, the way pkg-config prints flags: one line, words
 * separated by single spaces; a word with nothing the shell would interpret stays as it is
 * (so `$(sysgate shim --cflags)` splits it right), any other word is single-quoted (right where
 * the text is pasted into a command line and parsed: make recipes, eval, a script).
 */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellWord(w: string): string {
  return PLAIN.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

export function shellWords(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}
