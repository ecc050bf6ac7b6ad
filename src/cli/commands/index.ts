/** The command registry: adding a command is one file and one entry here. */
import type { Command } from '../io.ts';
import { bpfCommand } from './bpf.ts';
import { ccCommand } from './cc.ts';
import { checkCommand } from './check.ts';
import { compatCommand } from './compat.ts';
import { demoCommand } from './demo.ts';
import { explainCommand } from './explain.ts';
import { generateCommand } from './generate.ts';
import { initCommand } from './init.ts';
import { shimCommand } from './shim.ts';
import { syscallsCommand } from './syscalls.ts';
import { targetsCommand } from './targets.ts';

export const COMMANDS: readonly Command[] = [
  targetsCommand,
  syscallsCommand,
  explainCommand,
  compatCommand,
  generateCommand,
  checkCommand,
  ccCommand,
  shimCommand,
  bpfCommand,
  initCommand,
  demoCommand,
];
