import { lstatSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../../errors.ts';
import { TEMPLATES } from '../../templates/templates.generated.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { parseArgs } from '../args.ts';
import { json, type Command } from '../io.ts';

const KINDS = {
  cmake: {
    template: 'cmake/Sysgate.cmake',
    file: 'Sysgate.cmake',
    dir: 'cmake',
    usage: (rel: string) => `Add to CMakeLists.txt:
  list(APPEND CMAKE_MODULE_PATH "\${CMAKE_SOURCE_DIR}/${rel}")
  include(Sysgate)
  sysgate_protect(app TARGET codesafe5 FIRMWARE 13.7)   # one line per executable
and #include "sysgate.h" where you want the filter. Its sysgate_codesafe5_install() is for
host tests only (build them with -DSYSGATE_HOST_FILTER): on the device the firmware enforces
the policy and denies the installer's own calls, so device builds must not call it.
`,
  },
  make: {
    template: 'make/sysgate.mk',
    file: 'sysgate.mk',
    dir: '.',
    usage: (rel: string) => `Add to your Makefile:
  SYSGATE_TARGET   := codesafe5
  SYSGATE_FIRMWARE := 13.7
  include ${rel === '.' ? '' : `${rel}/`}sysgate.mk
  app: main.o $(SYSGATE_SHIM_OBJ)
  	$(call sysgate_link,$@,$^)
  main.o: main.c $(SYSGATE_HEADER)
  	$(CC) $(CFLAGS) $(SYSGATE_CFLAGS) -c $< -o $@
`,
  },
} as const;

export const initCommand: Command = {
  name: 'init',
  help: `Usage: sysgate init cmake|make [--dir DIR] [--force] [--json]

Writes sysgate's build integration into your project and prints the lines to add:
  cmake   DIR/Sysgate.cmake (default DIR: ./cmake): sysgate_protect(<exe> TARGET ... FIRMWARE ...)
  make    DIR/sysgate.mk (default DIR: .): $(call sysgate_link,$@,$^)
Both generate the filter header and the libc shim at build time, link the shim, and run
'sysgate check' on the linked executable: a fatal finding fails the build.
An existing file is kept unless --force.

JSON (init --json): {kind (cmake|make), path (the file written), usage (the lines to add)}

Examples:
  sysgate init cmake                 # writes cmake/Sysgate.cmake
  sysgate init make --dir build      # writes build/sysgate.mk
`,
  async run(argv, io) {
    const flags = parseArgs({ '--dir': String, '--force': Boolean, '--json': Boolean, '--help': Boolean, '-h': '--help' }, argv, 'init');
    if (flags['--help']) return (io.out(this.help), 0);
    const kind = flags._[0];
    if (kind !== 'cmake' && kind !== 'make') throw new InputError("say which: 'sysgate init cmake' or 'sysgate init make'");
    const k = KINDS[kind];
    // A directory named '-' is almost surely a mistake for stdout, which init does not offer.
    if (flags['--dir'] === '-') throw new InputError('--dir -: init writes a file into your project; give a directory');
    const dir = resolve(io.cwd, flags['--dir'] ?? k.dir);
    const path = join(dir, k.file);
    // lstat, not exists: a dangling symlink there is an existing name too (it would be replaced).
    if (lstatSync(path, { throwIfNoEntry: false }) && !flags['--force']) throw new InputError(`${path} exists; use --force to overwrite it`);
    writeFilesAtomic(dir, [{ name: k.file, content: TEMPLATES[k.template]! }]);
    const usage = k.usage(relative(io.cwd, dir) || '.');
    io.out(flags['--json'] ? json({ kind, path, usage }) : `wrote ${path}\n${usage}`);
    return 0;
  },
};
