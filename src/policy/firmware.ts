/** Firmware versions: parsing what users type and gating by `since`. */
// Function subpaths keep the rest of semver out of the bundle (start-up time).
import semverCompare from 'semver/functions/compare.js';
import semverValid from 'semver/functions/valid.js';
import semverSatisfies from 'semver/functions/satisfies.js';
import semverValidRange from 'semver/ranges/valid.js';
import { InputError } from '../errors.ts';

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

/** "13.7", "v13.7", "13.7.2" -> "13.7.0"/"13.7.2"; anything else is an InputError. */
export function parseFirmware(text: string): string {
  const m = VERSION.exec(text.trim());
  if (!m) {
    throw new InputError(
      `bad firmware version '${text}': expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 13.7 or 13.7.2`,
    );
  }
  const v = `${Number(m[1])}.${Number(m[2])}.${Number(m[3] ?? 0)}`;
  if (!semverValid(v)) throw new InputError(`bad firmware version '${text}'`);
  return v;
}

/** Shortest display form: 13.7.0 -> 13.7. */
export function showFirmware(v: string): string {
  return v.endsWith('.0') ? v.slice(0, -2) : v;
}

export function firmwareAtLeast(v: string, since: string | undefined): boolean {
  return since === undefined || semverCompare(v, since) >= 0;
}

export function firmwareBefore(v: string, until: string | undefined): boolean {
  return until === undefined || semverCompare(v, until) < 0;
}

export function compareFirmware(a: string, b: string): number {
  return semverCompare(a, b);
}

export function satisfiesRange(v: string, range: string): boolean {
  return semverSatisfies(v, range);
}

export function isValidRange(range: string): boolean {
  return semverValidRange(range) !== null;
}
