/** Firmware versions: parsing what users type and gating by `since`. */
import semver from 'semver';
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
  if (!semver.valid(v)) throw new InputError(`bad firmware version '${text}'`);
  return v;
}

/** Shortest display form: 13.7.0 -> 13.7. */
export function showFirmware(v: string): string {
  return v.endsWith('.0') ? v.slice(0, -2) : v;
}

export function firmwareAtLeast(v: string, since: string | undefined): boolean {
  return since === undefined || semver.gte(v, since);
}

export function firmwareBefore(v: string, until: string | undefined): boolean {
  return until === undefined || semver.lt(v, until);
}

export function compareFirmware(a: string, b: string): number {
  return semver.compare(a, b);
}

export function satisfiesRange(v: string, range: string): boolean {
  return semver.satisfies(v, range);
}

export function isValidRange(range: string): boolean {
  return semver.validRange(range) !== null;
}
