/** Small pure pieces of the build integration: the linker choice and pkg-config-style words. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { exportModeFor, exportModeFromEnv, exportSymbols } from '../src/buildsys/link-export.ts';
import { InputError } from '../src/errors.ts';
import { shellWords } from '../src/util/shell-words.ts';
import { cli } from './helpers/cli.ts';

describe('linker export mode', () => {
  it('GNU ld from 2.35 on, gold, lld and mold get --export-dynamic-symbol; older ld and unknown linkers the list', () => {
    const rows: [string, string][] = [
      ['GNU ld (GNU Binutils for Debian) 2.40\nCopyright (C) 2023', 'export-dynamic-symbol'],
      ['GNU ld (GNU Binutils) 2.35', 'export-dynamic-symbol'],
      ['GNU ld (GNU Binutils) 2.35.2', 'export-dynamic-symbol'],
      ['GNU ld (GNU Binutils) 3.0', 'export-dynamic-symbol'],
      ['GNU ld (GNU Binutils) 2.34', 'dynamic-list'],
      ['GNU ld version 2.30-79.el8', 'dynamic-list'],
      ['GNU ld (crosstool-NG 1.24.0) 2.31.1', 'dynamic-list'],
      ['collect2 version 8.3.0\n/usr/bin/ld ... --version\nGNU ld (GNU Binutils for Ubuntu) 2.30', 'dynamic-list'],
      ['GNU gold (GNU Binutils 2.40) 1.16', 'export-dynamic-symbol'],
      ['LLD 14.0.6 (compatible with GNU linkers)', 'export-dynamic-symbol'],
      ['mold 1.10.1 (compatible with GNU ld)', 'export-dynamic-symbol'],
      ['', 'dynamic-list'],
      ['some vendor linker 9.9', 'dynamic-list'],
    ];
    for (const [text, mode] of rows) assert.equal(exportModeFor(text), mode, text);
  });

  it('SYSGATE_SHIM_EXPORT forces a mode; anything else is refused', () => {
    assert.equal(exportModeFromEnv({}), undefined);
    assert.equal(exportModeFromEnv({ SYSGATE_SHIM_EXPORT: 'dynamic-list' }), 'dynamic-list');
    assert.throws(() => exportModeFromEnv({ SYSGATE_SHIM_EXPORT: 'yes' }), InputError);
  });

  it('shim --cc with a compiler that cannot run: one line, exit 2, nothing printed', async () => {
    const r = await cli(['shim', '--target', 'codesafe5', '--arch', 'x86_64', '--libs', '--cc', 'no-such-gcc-sysgate']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sysgate: cannot run 'no-such-gcc-sysgate -Wl,--version' \(ENOENT\)[^\n]*\n$/);
  });

  it('reads the symbol names back from the export flags', () => {
    assert.deepEqual(exportSymbols(['-Wl,--export-dynamic-symbol=getrandom', '-O2', '-Wl,--export-dynamic-symbol=syscall']), ['getrandom', 'syscall']);
  });
});

describe('shell words (shim --cflags/--libs)', () => {
  it('leaves plain flags bare and quotes the rest so that the shell reads back the same words', () => {
    const words = ['-O2', '-Wl,--export-dynamic-symbol=getrandom', '-Wl,--dynamic-list=/tmp/a b/shim.dynlist', "it's", '$HOME', '*', ''];
    const line = shellWords(words);
    assert.ok(line.startsWith('-O2 -Wl,--export-dynamic-symbol=getrandom '), line);
    const r = spawnSync('sh', ['-c', `eval "set -- ${line.replace(/["\\$`]/g, '\\$&')}"; printf '%s\\n' "$#" "$@"`], { encoding: 'utf8' });
    assert.equal(r.stdout, `${words.length}\n${words.join('\n')}\n`);
  });
});
