/**
 * Integration tests need real tools (cross compilers, qemu-user, libseccomp). Locally a missing
 * tool skips the test with the Debian package to install; in CI (CI=true) it fails instead.
 */
import { spawnSync } from 'node:child_process';

const found = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
    found.set(name, ok);
  }
  return ok;
}

/** Call in a mocha hook or test: skip (locally) or fail (CI) when `name` is not installed. */
export function requireTool(ctx: Mocha.Context, name: string, debianPackage: string): void {
  if (hasTool(name)) return;
  const msg = `${name} not found: apt-get install ${debianPackage}`;
  if (process.env.CI) throw new Error(`${msg} (CI must have it: see .ci/run)`);
  console.warn(`      skipped: ${msg}`);
  ctx.skip();
}
