// Bundles the CLI (dist/cli.js), the Node API as an ES module (dist/index.js) and as CommonJS
// (dist/index.cjs, for require('sysgate')), and check's worker entry (dist/check-worker.js).
// Deterministic: no timestamps, no absolute paths. Source maps only with --sourcemap: they
// were 3.3 MB of the 3.9 MB package and no user needs them (the tests run the sources).
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';

const sourcemap = process.argv.includes('--sourcemap');

// Chunk names carry content hashes: start clean so that old chunks do not pile up.
rmSync('dist', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (ajv) need require() inside an ES module bundle.
  banner: { js: "import { createRequire as __sysgateRequire } from 'node:module'; const require = __sysgateRequire(import.meta.url);" },
};

// Start-up stays small (see bench/, cold start): dist/cli.js holds start-up and the light
// policy commands; the other commands (with the ELF reader, the libc knowledge base, the
// templates) are dist/commands.js, which the command registry imports when one of them runs.
// The Node API and check's worker entry are files of their own; all sit in dist/, where
// `check` finds its worker (check-worker.js). ajv is needed only to validate a user's file:
// loaded from node_modules on demand.
const HEAVY = /^\.\/(bpf|cc|check|demo|generate|init|run|shim)\.ts$/;
const heavyCommands = {
  name: 'heavy-commands',
  setup(b) {
    b.onResolve({ filter: HEAVY }, (args) => (args.importer.endsWith('src/cli/commands/index.ts') ? { path: './commands.js', external: true } : undefined));
  },
};
await build({
  ...common,
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: '[name]-[hash]',
  external: ['ajv'],
  plugins: [heavyCommands],
});
await build({
  ...common,
  entryPoints: { commands: 'src/cli/commands/heavy.ts', index: 'src/index.ts', 'check-worker': 'src/check/worker-entry.ts' },
  outdir: 'dist',
  external: ['ajv'],
});

// require('sysgate'): the same API bundled as CommonJS. import.meta.url (the package root, the
// schema for firmware ranges, check's worker next to it) becomes the bundle's own file URL;
// check's workers still run dist/check-worker.js, an ES module, which a CommonJS parent can start.
await build({
  ...common,
  format: 'cjs',
  banner: { js: "const __sysgateImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__sysgateImportMetaUrl' },
  entryPoints: { index: 'src/index.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  external: ['ajv'],
});
chmodSync('dist/cli.js', 0o755);
