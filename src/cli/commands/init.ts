import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../../errors.ts';
import { TEMPLATES } from '../../templates/templates.generated.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { parseArgs } from '../args.ts';
import type { Command } from '../io.ts';

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
  help: `Usage: sysgate init cmake|make [--dir DIR] [--force]

Writes sysgate's build integration into your project and prints the lines to add:
  cmake   DIR/Sysgate.cmake (default DIR: ./cmake): sysgate_protect(<exe> TARGET ... FIRMWARE ...)
  make    DIR/sysgate.mk (default DIR: .): $(call sysgate_link,$@,$^)
Both generate the filter header and the libc shim at build time, link the shim, and run
'sysgate check' on the linked executable: a fatal finding fails the build.
An existing file is kept unless --force.

Examples:
  sysgate init cmake                 # writes cmake/Sysgate.cmake
  sysgate init make --dir build      # writes build/sysgate.mk
`,
  async run(argv, io) {
    const flags = parseArgs({ '--dir': String, '--force': Boolean, '--help': Boolean, '-h': '--help' }, argv, 'init');
    if (flags['--help']) return io.out(this.help), 0;
    const kind = flags._[0];
    if (kind !== 'cmake' && kind !== 'make') throw new InputError("say which: 'sysgate init cmake' or 'sysgate init make'");
    const k = KINDS[kind];
    const dir = resolve(io.cwd, flags['--dir'] ?? k.dir);
    const path = join(dir, k.file);
    if (existsSync(path) && !flags['--force']) throw new InputError(`${path} exists; use --force to overwrite it`);
    writeFilesAtomic(dir, [{ name: k.file, content: TEMPLATES[k.template]! }]);
    io.out(`wrote ${path}\n${k.usage(relative(io.cwd, dir) || '.')}`);
    return 0;
  },
};
