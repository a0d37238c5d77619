# fastres: build libfastres.so, run its tests and benchmarks.
#
# User CFLAGS/LDFLAGS are appended to, never replaced by, the project's own
# flags (FR_CFLAGS/FR_LDFLAGS), as libbpf's Makefile does.

CC      ?= cc
PKG_CONFIG ?= pkg-config
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib/fastres
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man

BUILD   ?= build
# Sanitizer build: `make SAN=1` puts everything under build-san/.
ifeq ($(SAN),1)
BUILD   := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

CARES_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcares 2>/dev/null)
CARES_LIBDIR := $(shell $(PKG_CONFIG) --variable=libdir libcares 2>/dev/null)
CARES_A      := $(if $(CARES_LIBDIR),$(CARES_LIBDIR)/libcares.a,/usr/lib/x86_64-linux-gnu/libcares.a)
CRIT_CFLAGS  := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS    := $(or $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null),-lcriterion)

FR_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden \
	-Wall -Wextra -Wshadow -Wno-unused-parameter -O2 -g -Ipreload $(CARES_CFLAGS) \
	-MMD -MP $(SAN_FLAGS)
# --wrap=fopen: see preload/net/rand.c (c-ares's random file without a descriptor).
FR_LDFLAGS := -Wl,--exclude-libs,ALL -Wl,-z,now -Wl,--no-undefined -Wl,--wrap=fopen $(SAN_FLAGS)

LIB_SRCS  := $(sort $(wildcard preload/*.c preload/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
SHIM_OBJ  := $(BUILD)/shim.o
SO        := $(BUILD)/libfastres.so

TEST_SRCS := $(sort $(wildcard test/test_*.c))
TEST_BINS := $(TEST_SRCS:test/%.c=$(BUILD)/test/%)
# Helper programs for the lab (fault upstream, differential harness, ...).
TOOL_SRCS := $(sort $(wildcard test/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:test/tools/%.c=$(BUILD)/tools/%)

.PHONY: all check check-fast check-san deps demo bench clean install uninstall

# The library at the top of the tree is what README's commands use: only
# the normal build writes it; `make SAN=1` keeps its library in build-san/.
ifeq ($(SAN),1)
TOP_SO :=
all: $(SO)
else
TOP_SO := libfastres.so
all: libfastres.so

libfastres.so: $(SO)
	cp $< $@
endif

$(SO): $(SHIM_OBJ) $(LIB_OBJS) preload/fastres.map
	$(CC) -shared -o $@ $(SHIM_OBJ) $(LIB_OBJS) $(CARES_A) \
		-Wl,--version-script=preload/fastres.map $(FR_LDFLAGS) $(LDFLAGS) -ldl -lpthread

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FR_CFLAGS) $(CFLAGS) -c -o $@ $<

# Unit tests link the modules directly (not through the preload), so a test
# can call fr_* functions and inject a fake clock.
$(BUILD)/test/%: test/%.c $(LIB_OBJS) test/lab_lib.h
	@mkdir -p $(dir $@)
	$(CC) $(FR_CFLAGS) $(CRIT_CFLAGS) $(CFLAGS) -Itest -o $@ $< $(wildcard test/lab_lib.c) $(LIB_OBJS) \
		$(CARES_A) $(CRIT_LIBS) -Wl,--wrap=fopen $(SAN_FLAGS) $(LDFLAGS) -ldl -lpthread

$(BUILD)/tools/%: test/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FR_CFLAGS) $(CFLAGS) -Itest -o $@ $< $(SAN_FLAGS) $(LDFLAGS) -ldl -lpthread -lresolv

deps:
	@scripts/deps.sh

# check: dependencies, build, every test, then the same again under ASan/UBSan.
check: deps
	$(MAKE) check-fast
	$(MAKE) check-san

check-fast: $(SO) $(TOP_SO) $(TEST_BINS) $(TOOL_BINS)
	BUILD=$(BUILD) test/run-all.sh

check-san:
	$(MAKE) SAN=1 check-fast

demo: deps $(SO) $(TOP_SO) $(TOOL_BINS)
	BUILD=$(BUILD) test/lab.sh scripts/demo.sh

# BENCH-BEGIN (benchmark targets)
# `make bench` (about 9 minutes): bench/run.sh in the lab; results in
# bench/results.{md,csv} and bench/cdf-*.png. `make bench QUICK=1` (about
# two minutes) writes them under $(BUILD)/bench instead.
$(BUILD)/bench/lookup: bench/lookup.c
	@mkdir -p $(dir $@)
	$(CC) $(FR_CFLAGS) $(CFLAGS) -o $@ $< $(SAN_FLAGS) $(LDFLAGS) -lpthread

# The same load generator linked statically against musl (Debian's
# musl-tools): musl's own stub resolver, a contender. No sanitizers there:
# musl-gcc has no runtime for them.
MUSL_CC ?= musl-gcc
$(BUILD)/bench/lookup-musl: bench/lookup.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -O2 $(CFLAGS) -static \
		-o $@ $< -lpthread

bench: deps $(TOP_SO) $(SO) $(TOOL_BINS) $(BUILD)/bench/lookup $(BUILD)/bench/lookup-musl
	BUILD=$(BUILD) QUICK=$(QUICK) test/lab.sh bench/run.sh
# BENCH-END

# FUZZ-BEGIN (libFuzzer harnesses, test/fuzz/)
# The library sources are compiled again with clang under build-fuzz/
# (ASan + UBSan + fuzzer coverage) into an archive each harness links
# against; test/fuzz/fuzz_shape.c replaces resolve.o's search with the
# fuzzer's replies, which the archive allows. `make fuzz` runs every
# harness (or those in FUZZ_ONLY) FUZZ_SECONDS (in the lab, from the committed corpus in
# test/fuzz/corpus/, new inputs kept in build-fuzz/corpus/);
# `make fuzz-build` only builds; test/test_fuzz.sh replays the corpus and
# runs each harness briefly inside `make check`.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(filter-out $(SAN_FLAGS),$(FR_CFLAGS)) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SRCS    := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:test/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJS    := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)

.PHONY: fuzz fuzz-build fuzz-clean

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libfr.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/test/fuzz/fuzz_%.o $(FUZZ_BUILD)/libfr.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_BUILD)/libfr.a $(CARES_A) \
		-Wl,--wrap=fopen $(LDFLAGS) -ldl -lpthread

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ONLY="$(FUZZ_ONLY)" test/lab.sh test/fuzz/run.sh

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(wildcard $(FUZZ_BUILD)/preload/*/*.d $(FUZZ_BUILD)/test/fuzz/*.d)
# FUZZ-END

clean:
	rm -rf build build-san libfastres.so

# STAT-BEGIN (fastres-stat: what the shared cache file holds)
# A C program, not a script: it reads the binary, concurrently written file
# with the library's own checks (preload/lookup/shcache.c), linked from its objects.
STAT := $(BUILD)/fastres-stat
all: $(STAT)
check-fast: $(STAT)
$(STAT): scripts/fastres-stat.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(FR_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(CARES_A) -Wl,--wrap=fopen $(SAN_FLAGS) $(LDFLAGS) -ldl -lpthread
# STAT-END

# DEPLOY-BEGIN (install/uninstall targets)
DEPLOY_SCRIPTS := fastres-run fastres-entrypoint fastres-systemd
# The library `make install` copies.  test/test_deploy.sh points it at an
# already built file so that installing there never starts a build.
INSTALL_SO ?= libfastres.so
# fastres-stat, built (not a script: no @FASTRES_LIB@ in it).
INSTALL_STAT ?= $(STAT)

# The scripts learn the library's installed path: @FASTRES_LIB@ is replaced.
install: $(INSTALL_SO) $(INSTALL_STAT)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(INSTALL_SO) $(DESTDIR)$(LIBDIR)/libfastres.so
	for s in $(DEPLOY_SCRIPTS); do \
		sed 's|@FASTRES_LIB@|$(LIBDIR)/libfastres.so|' scripts/$$s >$(DESTDIR)$(BINDIR)/$$s.tmp && \
		chmod 0755 $(DESTDIR)$(BINDIR)/$$s.tmp && \
		mv -f $(DESTDIR)$(BINDIR)/$$s.tmp $(DESTDIR)$(BINDIR)/$$s || exit 1; \
	done
	install -m 0755 $(INSTALL_STAT) $(DESTDIR)$(BINDIR)/fastres-stat
	install -m 0644 $(DEPLOY_SCRIPTS:%=scripts/%.1) scripts/fastres-stat.1 $(DESTDIR)$(MANDIR)/man1/

# LIBDIR is fastres's own directory and goes too; BINDIR and MANDIR are shared.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libfastres.so $(DEPLOY_SCRIPTS:%=$(DESTDIR)$(BINDIR)/%) \
		$(DEPLOY_SCRIPTS:%=$(DESTDIR)$(MANDIR)/man1/%.1) \
		$(DESTDIR)$(BINDIR)/fastres-stat $(DESTDIR)$(MANDIR)/man1/fastres-stat.1
	rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null || :
# DEPLOY-END

# DEB-BEGIN (Debian package)
# `make deb`: scripts/deb.sh builds the package with dpkg-buildpackage from a
# copy of the tree in $(DEB_DIR)/fastres (it writes its results into the
# copy's parent, and its clean step must not touch build/), so the package
# lands in $(DEB_DIR): fastres_<version>_<arch>.deb; lintian must report no error.
DEB_DIR ?= $(BUILD)/deb
.PHONY: deb
deb: deps
	scripts/deb.sh $(DEB_DIR)
# DEB-END

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
