/**
 * Firmware versions: parsing what users type, comparing, and semver ranges.
 *
 * Versions are normalised to MAJOR.MINOR.PATCH release versions (no pre-release), so they
 * compare numerically. Ranges are semver ranges; the forms targets use (`<13.7`, `>=13.7.2`,
 * `13.7`, `*`, spaces and `||`) are evaluated here with semver's semantics, and anything else
 * goes to the semver package, loaded only then. Start-up stays free of semver's regex tables
 * (see bench/, cold start); test/firmware.test.ts checks the fast path against semver.
 */
import { createRequire } from 'node:module';
import { InputError } from '../errors.ts';

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

/** "13.7", "v13.7", "13.7.2" -> "13.7.0"/"13.7.2"; anything else is an InputError. */
export function parseFirmware(text: string): string {
  const m = VERSION.exec(text.trim());
  if (!m) {
    throw new InputError(`bad firmware version '${text}': expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 13.7 or 13.7.2`);
  }
  const parts = [m[1], m[2], m[3] ?? '0'].map(Number);
  if (parts.some((n) => !Number.isSafeInteger(n))) throw new InputError(`bad firmware version '${text}': number too large`);
  return parts.join('.');
}

/** Shortest display form: 13.7.0 -> 13.7. */
export function showFirmware(v: string): string {
  return v.endsWith('.0') ? v.slice(0, -2) : v;
}

type Triple = [number, number, number];

function triple(v: string): Triple {
  const [a = 0, b = 0, c = 0] = v.split('.').map(Number);
  return [a, b, c];
}

function cmp(x: Triple, y: Triple): number {
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** Order of two normalised versions. */
export function compareFirmware(a: string, b: string): number {
  return Math.sign(cmp(triple(a), triple(b)));
}

export function firmwareAtLeast(v: string, since: string | undefined): boolean {
  return since === undefined || compareFirmware(v, since) >= 0;
}

export function firmwareBefore(v: string, until: string | undefined): boolean {
  return until === undefined || compareFirmware(v, until) < 0;
}

type Test = (v: Triple) => boolean;

const COMPARATOR = /^(<=|>=|<|>|=)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;

/**
 * A release-version test for the simple range forms, with semver's meaning of partial
 * versions (`<13.7` is `<13.7.0`, `<=13.7` is `<13.8.0`, `>13.7` is `>=13.8.0`, `13.7` is
 * `>=13.7.0 <13.8.0`); undefined for any other form.
 */
function simpleRange(range: string): Test | undefined {
  const sets: Test[][] = [];
  for (const part of range.split('||')) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    const set: Test[] = [];
    for (const w of words) {
      if (w === '*' || w === 'x' || w === 'X') continue;
      const m = COMPARATOR.exec(w);
      if (!m) return undefined;
      const op = m[1] ?? '';
      const nums = [m[2], m[3], m[4]].filter((x) => x !== undefined).map(Number);
      if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
      const lo: Triple = [nums[0]!, nums[1] ?? 0, nums[2] ?? 0];
      // The first version past the partial one: 13 -> 14.0.0, 13.7 -> 13.8.0, 13.7.2 -> 13.7.3.
      const next: Triple = nums.length === 1 ? [lo[0] + 1, 0, 0] : nums.length === 2 ? [lo[0], lo[1] + 1, 0] : [lo[0], lo[1], lo[2] + 1];
      switch (op) {
        case '<':
          set.push((v) => cmp(v, lo) < 0);
          break;
        case '>=':
          set.push((v) => cmp(v, lo) >= 0);
          break;
        case '<=':
          set.push((v) => cmp(v, next) < 0);
          break;
        case '>':
          set.push((v) => cmp(v, next) >= 0);
          break;
        default:
          set.push((v) => cmp(v, lo) >= 0 && cmp(v, next) < 0);
      }
    }
    sets.push(set);
  }
  return (v) => sets.some((set) => set.every((t) => t(v)));
}

const require = createRequire(import.meta.url);
type Semver = { satisfies(v: string, r: string): boolean; validRange(r: string): string | null };
let semverPkg: Semver | undefined;

/** The semver package, for the range forms the fast path does not take. */
function semver(): Semver {
  semverPkg ??= {
    satisfies: require('semver/functions/satisfies.js') as Semver['satisfies'],
    validRange: require('semver/ranges/valid.js') as Semver['validRange'],
  };
  return semverPkg;
}

const compiled = new Map<string, Test | null>();

/** Whether normalised version `v` is in semver range `range`. */
export function satisfiesRange(v: string, range: string): boolean {
  let t = compiled.get(range);
  if (t === undefined) compiled.set(range, (t = simpleRange(range) ?? null));
  return t ? t(triple(v)) : semver().satisfies(v, range);
}

export function isValidRange(range: string): boolean {
  return simpleRange(range) !== undefined || semver().validRange(range) !== null;
}
