/**
 * The commands that are not part of start-up, bundled on their own (dist/commands.js) and
 * loaded by the registry when one of them runs. Under tsx the registry imports each directly.
 */
export { bpfCommand } from './bpf.ts';
export { ccCommand } from './cc.ts';
export { checkCommand } from './check.ts';
export { demoCommand } from './demo.ts';
export { generateCommand } from './generate.ts';
export { initCommand } from './init.ts';
export { runCommand } from './run.ts';
export { shimCommand } from './shim.ts';
