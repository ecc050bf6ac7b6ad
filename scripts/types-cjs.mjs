// The declarations of the CommonJS entry (dist/index.cjs): the same .d.ts files as dist/types,
// in a folder whose package.json says "commonjs". TypeScript reads a .d.ts as ES module or
// CommonJS by the nearest package.json, and the package's own says "module": under
// module=node16/nodenext a require() of ES module declarations is an error (TS1479).
import { cpSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist/types-cjs', { recursive: true, force: true });
cpSync('dist/types', 'dist/types-cjs', { recursive: true });
writeFileSync('dist/types-cjs/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
