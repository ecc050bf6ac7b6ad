/** "Did you mean" suggestions by edit distance. */

function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Past this length nothing is suggested: no name is that long, and the distance is O(n*m). */
const MAX_SUGGEST_LENGTH = 128;

/** Up to `max` candidates close to `word`, closest first, ties by name. */
export function suggest(word: string, candidates: Iterable<string>, max = 3): string[] {
  if (word.length > MAX_SUGGEST_LENGTH) return [];
  const limit = Math.max(2, Math.floor(word.length / 3));
  const scored: [number, string][] = [];
  for (const c of candidates) {
    // The distance is at least the difference in length: skip what cannot be close enough.
    if (c.length > MAX_SUGGEST_LENGTH || Math.abs(c.length - word.length) > limit) continue;
    const d = distance(word, c);
    if (d <= limit) scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, max).map(([, c]) => c);
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s.length ? ` (did you mean ${s.map((x) => `'${x}'`).join(', ')}?)` : '';
}

/** Past this many characters a name in a message is cut (a 1 MB name makes a 1 MB line). */
const MAX_SHOWN = 80;

/**
 * A user-given name as messages show it: control characters escaped (messages are one line)
 * and cut to a bounded excerpt with its full length.
 */
export function excerpt(s: string): string {
  const cut = s.length > MAX_SHOWN ? s.slice(0, MAX_SHOWN) : s;
  // eslint-disable-next-line no-control-regex
  const safe = cut.replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > MAX_SHOWN ? `${safe}... (${s.length} characters)` : safe;
}
