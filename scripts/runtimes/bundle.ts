/**
 * An OCI bundle for a static program, and the command that runs it under a runtime as root.
 * Shared by the measuring script and the container tests, so both start containers the same way.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type OciRuntime = 'runc' | 'crun';

/** A minimal bundle: read-only rootfs with the program at /probe, /proc, no network. */
export function writeBundle(dir: string, program: string, args: string[], seccomp: unknown): void {
  mkdirSync(join(dir, 'rootfs/proc'), { recursive: true });
  mkdirSync(join(dir, 'rootfs/dev'), { recursive: true });
  mkdirSync(join(dir, 'rootfs/tmp'), { recursive: true });
  copyFileSync(program, join(dir, 'rootfs/probe'));
  chmodSync(join(dir, 'rootfs/probe'), 0o755);
  const config = {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/probe', ...args], env: ['PATH=/'], cwd: '/', noNewPrivileges: true },
    root: { path: 'rootfs', readonly: true },
    hostname: 'sysgate',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }], seccomp },
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * `unshare -m` + a fresh cgroup2 mount: this host's /sys/fs/cgroup is a v1/v2 hybrid, which crun
 * refuses; a private mount namespace keeps the host's mounts untouched. runc runs the same way.
 * `--root` keeps the runtime's state out of /run so parallel runs never share container ids.
 */
export function runCommand(runtime: OciRuntime, bundle: string, id: string, stateRoot: string, prefix: string[] = []): string[] {
  const run = [...prefix, runtime, '--root', stateRoot, 'run', '--bundle', bundle, id].map(shellQuote).join(' ');
  return ['unshare', '-m', 'sh', '-c', `mount -t cgroup2 none /sys/fs/cgroup && exec ${run}`];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
