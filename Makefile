# tokemb - a suite of small C programs for LLM tokens and embeddings.
# make [V=1] [SAN=1] [CUDA=1] [NATIVE=1] [CC=clang]; make check; make install PREFIX=... DESTDIR=...
# make fuzz [FUZZ_SECONDS=30]: libFuzzer harnesses (t/fuzz/) built with clang, each run N seconds

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
PKG_CONFIG ?= pkg-config

# Debian package that provides each pkg-config module
PKGS     = libutf8proc openblas libpcre2-8 oniguruma libcjson
DEB_libutf8proc = libutf8proc-dev
DEB_openblas    = libopenblas-dev
DEB_libpcre2-8  = libpcre2-dev
DEB_oniguruma   = libonig-dev
DEB_libcjson    = libcjson-dev

ifeq ($(filter clean lint,$(MAKECMDGOALS)),)
find_missing = $(strip $(foreach p,$(PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,$(p))))
MISSING := $(find_missing)
# "make demo" sets a fresh machine up: it installs what is missing itself
ifneq ($(and $(MISSING),$(filter demo,$(MAKECMDGOALS))),)
$(shell ./share/deps.sh pkg-config $(foreach p,$(MISSING),$(DEB_$(p))) >&2)
MISSING := $(find_missing)
endif
ifneq ($(MISSING),)
$(error missing libraries: $(MISSING); install the Debian packages: $(foreach p,$(MISSING),$(DEB_$(p))) (see INSTALL))
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS))
endif

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Wno-unused-parameter
CPPFLAGS += -Ilib -Icmd/common -D_FILE_OFFSET_BITS=64
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -pthread

BUILD ?= build
# gcc's "undefined" leaves float-cast-overflow out (a number from a file cast
# to an int before its range check); clang builds go to a directory of their own
SANITIZE = address,undefined,float-cast-overflow
ifeq ($(SAN),1)
BUILD := build-san$(if $(findstring clang,$(notdir $(CC))),-clang)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow
LDFLAGS += -fsanitize=$(SANITIZE)
endif
# the library and harnesses instrumented for libFuzzer (make fuzz sets FUZZ=1)
ifeq ($(FUZZ),1)
BUILD := build-fuzz
ALL_CFLAGS += -fsanitize=fuzzer-no-link,$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow
LDFLAGS += -fsanitize=fuzzer,$(SANITIZE)
endif
ifeq ($(NATIVE),1)
ALL_CFLAGS += -march=native
endif
ifeq ($(CUDA),1)
BUILD := $(BUILD)-cuda
CPPFLAGS += -DTE_CUDA
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
LDLIBS += -L$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
NVFLAGS ?= -O2 -std=c++17 -Xcompiler -fPIC,-Wall -Ilib
CU_SRC = $(wildcard lib/*_cuda.cu)
endif

PROGS   = $(basename $(notdir $(wildcard cmd/*.c)))
LIB_SRC = $(wildcard lib/*.c lib/tok/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o) $(CU_SRC:lib/%.cu=$(BUILD)/lib/%.o)
CMD_COMMON = $(BUILD)/cmd/common/common.o
BINS    = $(PROGS:%=$(BUILD)/bin/%)
UNIT_SRC = $(wildcard t/unit/test-*.c)
UNITS   = $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/%)
LIBA    = $(BUILD)/libtokemb.a
FUZZ_SRC = $(wildcard t/fuzz/fuzz-*.c)
FUZZERS = $(FUZZ_SRC:t/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30

ifneq ($(V),1)
Q = @
E = @printf '  %-6s %s\n'
else
Q =
E = @:
endif

.SECONDARY:
.PHONY: all check unit clean install uninstall lint demo fuzz fuzz-build
all: $(BINS) $(UNITS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/lib/%.o: lib/%.cu
	@mkdir -p $(@D)
	$(E) NVCC $<
	$(Q)$(NVCC) $(NVFLAGS) -DTE_CUDA -c -o $@ $<

$(BUILD)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/t/%.o: t/unit/%.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/%.o: t/fuzz/%.c t/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) -D_GNU_SOURCE -It/fuzz $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(LIBA)
	$(E) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the seed writer (t/fuzz/seeds.c) is a plain program: no libFuzzer main
$(BUILD)/fuzz/seeds: $(BUILD)/fuzz/seeds.o $(LIBA)
	$(E) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=$(SANITIZE) -o $@ $^ $(LDLIBS)

$(LIBA): $(LIB_OBJ)
	$(E) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(CMD_COMMON) $(LIBA)
	@mkdir -p $(@D)
	$(E) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/t/%: $(BUILD)/t/%.o $(LIBA)
	$(E) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The test command: every bats file and every unit test; ends "N passed, N failed".
check: all
	$(Q)TOKEMB_BIN=$(CURDIR)/$(BUILD)/bin TOKEMB_UNIT=$(CURDIR)/$(BUILD)/t ./t/run.sh $(TESTS)

# Every harness in t/fuzz for FUZZ_SECONDS each; fails on a crash, a
# sanitizer report, a timeout or running out of memory (t/fuzz/run.sh).
fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 CC=$(FUZZ_CC) fuzz-build
	$(Q)./t/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

fuzz-build: $(FUZZERS) $(BUILD)/fuzz/seeds

# The demonstration the README opens with, on data the repository ships.
demo: all
	$(Q)TOKEMB_BIN=$(CURDIR)/$(BUILD)/bin ./share/demo.sh

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) share/tokemb-fetch $(DESTDIR)$(BINDIR)
	install -m 644 share/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 share/man/man5/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 share/man/man7/*.7 $(DESTDIR)$(MANDIR)/man7

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(BINDIR)/tokemb-fetch
	rm -f $(patsubst share/man/%,$(DESTDIR)$(MANDIR)/%,$(wildcard share/man/man1/*.1 share/man/man5/*.5 \
		share/man/man7/*.7))

SHELL_FILES = .ci/run share/tokemb-fetch $(wildcard t/*.sh t/fuzz/*.sh bench/*.sh share/*.sh)
lint:
	shellcheck -x $(SHELL_FILES)
	shellcheck -x -s bash -e SC2154,SC2030,SC2031,SC2016 t/helper.bash $(wildcard t/*.bats)
	./share/manlint.sh $(wildcard share/man/man*/*.[0-9])

clean:
	rm -rf build build-san build-san-clang build-fuzz build-cuda build-san-cuda

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)
