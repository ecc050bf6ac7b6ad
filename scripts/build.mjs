// Bundles the CLI into dist/cli.js (one file, with a sourcemap) and the Node API into
// dist/index.js. Deterministic: no timestamps, no absolute paths in the output.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (ajv) need require() inside an ES module bundle.
  banner: { js: "import { createRequire as __sysgateRequire } from 'node:module'; const require = __sysgateRequire(import.meta.url);" },
};

// ajv is needed only to validate a user's target file: loaded from node_modules on demand so
// that its 250 kB stay out of every start-up (see bench/).
await build({ ...common, entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' }, outdir: 'dist', external: ['ajv'] });
chmodSync('dist/cli.js', 0o755);
