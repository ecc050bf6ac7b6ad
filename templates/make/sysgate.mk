# sysgate.mk: CodeSafe 5 / enclave syscall policy for Make builds (written by `sysgate init make`).
#
#   SYSGATE_TARGET   := codesafe5        # shipped id or path to a target .json
#   SYSGATE_FIRMWARE := 13.7             # optional: default is the newest the target knows
#   include sysgate.mk
#
#   app: main.o $(SYSGATE_SHIM_OBJ)
#   	$(call sysgate_link,$@,$^)
#
#   main.o: main.c $(SYSGATE_HEADER)     # #include "sysgate.h"
#   	$(CC) $(CFLAGS) $(SYSGATE_CFLAGS) -c $< -o $@
#
# The header's sysgate_<target>_install() exists only with -DSYSGATE_HOST_FILTER, for host
# tests: on the device the firmware enforces the policy and denies the installer's own calls.
# Including this file does not change the Makefile's default goal.
#
# sysgate_link links with the shim's flags, then runs `sysgate check` on the result: a call that
# kills the app or breaks code known to fail on it fails the build and removes the binary;
# SYSGATE_STRICT=1 (it may be set per target) fails it also when an error reaches the program
# and nothing known says it copes (check --strict: depends, unmodelled imports, unresolved).
# Optional: SYSGATE_ARCH (default: from $(CC) -dumpmachine), SYSGATE_SYSROOT, SYSGATE_DIR,
# SYSGATE (how to run sysgate; default: sysgate on PATH or node_modules/.bin).

# The rules below must not become the includer's default goal: keep the one make had.
_sysgate_default_goal := $(.DEFAULT_GOAL)

SYSGATE ?= $(shell command -v sysgate 2>/dev/null || echo node_modules/.bin/sysgate)
SYSGATE_DIR ?= build/sysgate
SYSGATE_ARCH ?= $(shell $(CC) -dumpmachine | sed -e 's/-.*//' -e 's/^arm.*/arm/' -e 's/^powerpc64.*/ppc64/' -e 's/^powerpc$$/ppc/' -e 's/^i[3-6]86$$/i386/')
ifndef SYSGATE_TARGET
$(error sysgate.mk: set SYSGATE_TARGET before including it)
endif

SYSGATE_POLICY := --target $(SYSGATE_TARGET) --arch $(SYSGATE_ARCH) $(if $(SYSGATE_FIRMWARE),--firmware $(SYSGATE_FIRMWARE))
SYSGATE_HEADER := $(SYSGATE_DIR)/sysgate.h
SYSGATE_SHIM_SRC := $(SYSGATE_DIR)/sysgate.shim.c
SYSGATE_SHIM_OBJ := $(SYSGATE_DIR)/sysgate.shim.o
SYSGATE_CFLAGS := -I$(SYSGATE_DIR)
# --cc: the linker is asked its version (once, cached); before GNU ld 2.35 the flags name a
# dynamic list written to $(SYSGATE_DIR) instead of -Wl,--export-dynamic-symbol.
SYSGATE_LDFLAGS := $(shell $(SYSGATE) shim $(SYSGATE_POLICY) --libs --cc '$(CC)' --out $(SYSGATE_DIR))
SYSGATE_SHIM_CFLAGS := $(shell $(SYSGATE) shim $(SYSGATE_POLICY) --cflags)

# One command writes both (grouped target: GNU make >= 4.3).
$(SYSGATE_HEADER) $(SYSGATE_SHIM_SRC) &:
	$(SYSGATE) generate $(SYSGATE_POLICY) --format c,shim --name sysgate --out $(SYSGATE_DIR) --quiet

$(SYSGATE_SHIM_OBJ): $(SYSGATE_SHIM_SRC)
	$(CC) $(SYSGATE_SHIM_CFLAGS) -c $< -o $@

# $(call sysgate_link,OUTPUT,INPUTS): link, then check; a fatal finding fails and removes OUTPUT.
sysgate_link = $(CC) $(LDFLAGS) -o $(1) $(2) $(SYSGATE_LDFLAGS) $(LDLIBS) && \
	$(SYSGATE) check $(1) --target $(SYSGATE_TARGET) $(if $(SYSGATE_FIRMWARE),--firmware $(SYSGATE_FIRMWARE)) $(if $(SYSGATE_SYSROOT),--sysroot $(SYSGATE_SYSROOT)) $(if $(SYSGATE_STRICT),--strict) --delete-on-fatal --quiet

# Empty when nothing was defined before the include: make then takes the includer's next target.
.DEFAULT_GOAL := $(_sysgate_default_goal)
