/**
 * Which glibc release a libc.so.6 is. Its banner ("GNU C Library (Debian GLIBC 2.36-9) stable
 * release version 2.36.") names the release exactly. The newest GLIBC_x.y version it defines is
 * only a lower bound: releases that add no symbol define no version of their own (2.37 and 2.40
 * define nothing past 2.36 and 2.39), so a 2.40 libc would pass for 2.39.
 */
import { compareVersions } from './index.ts';

const BANNER = Buffer.from(' release version ');

/** The release named in a glibc banner inside `bytes`, e.g. '2.36'; undefined without one. */
export function glibcBannerRelease(bytes: Uint8Array): string | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = buf.indexOf(BANNER);
  while (at >= 0) {
    // Only the banner's own words count: "GNU C Library ... release version X.Y."
    const head = buf.subarray(Math.max(0, at - 120), at).toString('latin1');
    const tail = buf.subarray(at + BANNER.length, at + BANNER.length + 16).toString('latin1');
    const m = /^(\d+\.\d+)(?:\.\d+)?\./.exec(tail);
    if (m && head.includes('GNU C Library')) return m[1]!;
    at = buf.indexOf(BANNER, at + 1);
  }
  return undefined;
}

/** The newest GLIBC_x.y among version definitions (a libc.so.6's verdefs): a lower bound. */
export function newestGlibcVersion(names: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const v of names) {
    const m = /^GLIBC_(\d+\.\d+(?:\.\d+)?)$/.exec(v);
    if (m && (best === undefined || compareVersions(m[1]!, best) > 0)) best = m[1]!;
  }
  return best;
}
