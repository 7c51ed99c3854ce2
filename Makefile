# dispatchd - a multi-model TCP server daemon.
# make | make run | make check | make deps | make install | make clean

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
BUILD      ?= build
VERSION    := 0.1.0

CFLAGS   ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -Wpointer-arith
# make WERROR=1 ...: any warning fails the build (CI; check-asan and the fuzz
# build too).  Not the default: a newer compiler must not break a user's build.
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -DDISPATCHD_VERSION='"$(VERSION)"' \
            -DDISPATCHD_CONFIG='"$(SYSCONFDIR)/dispatchd/dispatchd.conf"'
ALL_CFLAGS = -std=c11 $(WARNINGS) $(CFLAGS) -pthread -MMD -MP

# Debian 12 packages the build and the tests need (see `make deps`).
DEB_PKGS := gcc libc6-dev pkg-config libconfuse-dev check netcat-openbsd systemd groff-base \
            bsdutils socat liburing-dev strace curl wget media-types haproxy rsyslog logrotate

CONFUSE_CFLAGS = $(shell $(PKG_CONFIG) --cflags libconfuse 2>/dev/null)
# liburing (the io_uring model) goes wherever libconfuse does: every binary
# that links the core links the model registry.
URING_LIBS     = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null)
CONFUSE_LIBS   = $(shell $(PKG_CONFIG) --libs libconfuse 2>/dev/null) $(URING_LIBS)
CHECK_CFLAGS   = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS     = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c src/handlers/*.c src/models/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/src/main.o
LIB       := $(BUILD)/libdispatchd.a
BIN       := $(BUILD)/dispatchd

# The unit suites are linked into one runner, check_main (tests/unit/check_main.c),
# which runs NAME_suite() of each tests/unit/check_NAME.c listed in U_SUITES.
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BINS := $(BUILD)/tests/unit/check_main
U_SUITES  := $(patsubst tests/unit/check_%.c,U_SUITE(%),$(filter-out %/check_main.c,$(UNIT_SRCS)))
INT_SRCS  := $(wildcard tests/integration/check_*.c)
INT_BINS  := $(INT_SRCS:%.c=$(BUILD)/%)
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
SCRIPT_TESTS  := $(wildcard tests/integration/test_*.sh)

.PHONY: all run check check-unit check-integration check-asan check-valgrind stress deps \
	install uninstall clean

all: $(BIN)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(CONFUSE_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(CONFUSE_CFLAGS) $(CHECK_CFLAGS) -Isrc -Itests/lib -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# Every symbol bound at start-up (and full RELRO): fork children do not
# each resolve again the functions only they call (6-7% of the fork
# model's CPU per connection, measured with LD_BIND_NOW in make bench).
BIN_LDFLAGS := -Wl,-z,now -Wl,-z,relro

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(BIN_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CONFUSE_LIBS)

# Unit and integration suites live apart: one name may be used by both.
$(UNIT_BINS): $(UNIT_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CONFUSE_LIBS) $(CHECK_LIBS)
$(UNIT_SRCS:%.c=$(BUILD)/%.o): CPPFLAGS += -DU_SUITES='$(U_SUITES)'
$(BUILD)/tests/unit/check_main.o: tests/unit	# a suite came or went

$(INT_BINS): $(BUILD)/%: $(BUILD)/%.o $(TEST_LIB_OBJS) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CONFUSE_LIBS) $(CHECK_LIBS)

run: deps $(BIN)
	$(BIN) -c conf/dispatchd.conf

# Every test: Check unit suites, then the integration suites against the
# real binary, then the shell tests that drive it with nc.
check: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BINS) $(INT_BINS)
	@DISPATCHD=$(BIN) sh tests/run-suites.sh check $(UNIT_BINS) $(INT_BINS) $(SCRIPT_TESTS)

check-unit: $(UNIT_BINS)
	@sh tests/run-suites.sh unit $(UNIT_BINS)

check-integration: $(BIN) $(INT_BINS)
	@DISPATCHD=$(BIN) sh tests/run-suites.sh integration $(INT_BINS) $(SCRIPT_TESTS)

# The whole suite again, built by clang with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails), in a build directory of its own.
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan: deps
	@sh tests/apt-deps.sh check-asan clang libclang-rt-14-dev
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang CFLAGS='$(ASAN_FLAGS)' \
	  LDFLAGS='$(ASAN_FLAGS)' check

# The integration suites with every server under valgrind's memcheck (leaks,
# invalid accesses, descriptors left open): tests/valgrind-dispatchd wraps it.
VG_LOGDIR := $(BUILD)/valgrind
check-valgrind: deps $(BIN) $(INT_BINS)
	@rm -rf $(VG_LOGDIR) && mkdir -p $(VG_LOGDIR) && chmod 1777 $(VG_LOGDIR)	# --user children log too
	@DISPATCHD=$(CURDIR)/tests/valgrind-dispatchd DISPATCHD_REAL=$(CURDIR)/$(BIN) VG_LOGDIR=$(CURDIR)/$(VG_LOGDIR) \
	  sh tests/run-suites.sh valgrind-suites $(INT_BINS) $(SCRIPT_TESTS); \
	  s=$$?; sh tests/valgrind-verdict.sh $(VG_LOGDIR) && exit $$s

# The differential model-equivalence test alone, for longer: every model
# against the oracle under ROUNDS seeded random rounds (default 1000, about
# ten minutes on two cores) of SEED (default: a random one, printed).
# A failure prints the line that reruns its round:
#   make stress SEED=N ROUND=R ROUNDS=1 MODEL=NAME
# DURATION=SECONDS stops starting rounds after that long.
STRESS_BIN := $(BUILD)/tests/integration/check_differential
ROUNDS     ?= 1000
ROUND      ?= 0
stress: deps
	@$(MAKE) --no-print-directory $(BIN) $(STRESS_BIN)
	@seed='$(SEED)'; [ -n "$$seed" ] || seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	  echo "stress: seed $$seed, rounds $(ROUND) to $$(($(ROUND) + $(ROUNDS) - 1))$(if $(MODEL), of model $(MODEL))"; \
	  DISPATCHD=$(BIN) DIFF_SEED=$$seed DIFF_ROUNDS='$(ROUNDS)' DIFF_ROUND='$(ROUND)' \
	  DIFF_MODEL='$(MODEL)' DIFF_SECONDS='$(DURATION)' $(STRESS_BIN)

# The house style is .clang-format (clang-format 14, as in Debian 12), over
# the C files git tracks in src/ and tests/.  make format rewrites them in
# place; make format-check changes nothing, lists each file that differs and
# fails (CI).  The installed clang-format must be version 14: others format
# differently.
CLANG_FORMAT ?= clang-format
FORMAT_SRCS   = $(wildcard $(shell git ls-files 'src/*.[ch]' 'tests/*.[ch]' 2>/dev/null || \
                  find src tests -name '*.[ch]'))
.PHONY: format format-check
format:
	@sh tests/apt-deps.sh format clang-format
	@$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	@sh tests/apt-deps.sh format-check clang-format
	@$(CLANG_FORMAT) --version | grep -q ' version 14\.' || \
	  echo "format-check: warning: not clang-format 14; differences may be its own"
	@n=0; for f in $(FORMAT_SRCS); do \
	  $(CLANG_FORMAT) --dry-run -Werror --ferror-limit=1 "$$f" >/dev/null 2>&1 || \
	    { echo "format-check: $$f differs from .clang-format"; n=$$((n + 1)); }; \
	done; \
	[ $$n -eq 0 ] || { echo "format-check: $$n files; 'make format' rewrites them" \
	  "('$(CLANG_FORMAT) FILE | diff -u FILE -' shows one)"; exit 1; }

# Installs the Debian packages above when something is missing: with
# apt-get when root, otherwise prints the exact command and fails.
deps:
	@sh tests/apt-deps.sh deps $(DEB_PKGS)

install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSCONFDIR)/dispatchd $(DESTDIR)$(UNITDIR)
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/dispatchd
	install -m 644 man/dispatchd.8 $(DESTDIR)$(MANDIR)/man8/dispatchd.8
	install -m 644 man/dispatchd.conf.5 $(DESTDIR)$(MANDIR)/man5/dispatchd.conf.5
	install -m 644 conf/dispatchd.conf $(DESTDIR)$(SYSCONFDIR)/dispatchd/dispatchd.conf
	sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
	  conf/dispatchd.service > $(DESTDIR)$(UNITDIR)/dispatchd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/dispatchd.service
	sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
	  conf/dispatchd@.service > $(DESTDIR)$(UNITDIR)/dispatchd@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/dispatchd@.service
	install -m 644 conf/dispatchd.socket $(DESTDIR)$(UNITDIR)/dispatchd.socket

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dispatchd $(DESTDIR)$(MANDIR)/man8/dispatchd.8 \
	  $(DESTDIR)$(MANDIR)/man5/dispatchd.conf.5 $(DESTDIR)$(SYSCONFDIR)/dispatchd/dispatchd.conf \
	  $(DESTDIR)$(UNITDIR)/dispatchd.service $(DESTDIR)$(UNITDIR)/dispatchd.socket \
	  $(DESTDIR)$(UNITDIR)/dispatchd@.service
	-rmdir $(DESTDIR)$(SYSCONFDIR)/dispatchd 2>/dev/null

clean:
	rm -rf $(BUILD)

# The benchmark (make bench): tests/bench/bench.mk.
-include tests/bench/bench.mk
# The fuzzers (make fuzz FUZZ_SECONDS=N): tests/fuzz/fuzz.mk.
-include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
