/**
 * The command registry: adding a command is one file and one entry here. The light policy
 * commands are part of start-up; the others are imported only when run, so that start-up
 * (`sysgate --version`, `sysgate syscalls`) does not pay for the ELF reader, the libc
 * knowledge base or the templates (see bench/, cold start).
 */
import type { Command } from '../io.ts';
import { compatCommand } from './compat.ts';
import { explainCommand } from './explain.ts';
import { syscallsCommand } from './syscalls.ts';
import { targetsCommand } from './targets.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'targets', summary: 'the shipped targets', load: async () => targetsCommand },
  { name: 'syscalls', summary: 'the effective allow list of a target at a firmware version and arch', load: async () => syscallsCommand },
  { name: 'explain', summary: 'allowed or denied, what the app sees, since when, why, and the fix', load: async () => explainCommand },
  { name: 'compat', summary: 'what changes for an app between two firmware versions', load: async () => compatCommand },
  {
    name: 'generate',
    summary: 'seccomp filters for a target: raw BPF, C header, OCI, systemd, libseccomp C, listing',
    load: async () => (await import('./generate.ts')).generateCommand,
  },
  {
    name: 'check',
    summary: "will an ELF binary survive the target's policy? denied syscalls, fallbacks, fatal calls",
    load: async () => (await import('./check.ts')).checkCommand,
  },
  {
    name: 'cc',
    summary: 'compiler wrapper: link the shim, then check the linked binary against the target',
    load: async () => (await import('./cc.ts')).ccCommand,
  },
  {
    name: 'shim',
    summary: 'C source of a libc shim: denied calls mapped to allowed fallbacks, or ENOSYS without the kernel',
    load: async () => (await import('./shim.ts')).shimCommand,
  },
  { name: 'bpf', summary: 'disassemble, run (emulate) or audit any raw seccomp filter', load: async () => (await import('./bpf.ts')).bpfCommand },
  {
    name: 'run',
    summary: "run a program under the device's rules: every denied call, what the device does with it, how it ended",
    load: async () => (await import('./run.ts')).runCommand,
  },
  { name: 'init', summary: 'write the CMake module or the Make fragment into a project', load: async () => (await import('./init.ts')).initCommand },
  { name: 'demo', summary: 'the main job on the bundled example (what `npm start` runs)', load: async () => (await import('./demo.ts')).demoCommand },
];
