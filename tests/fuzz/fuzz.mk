# tests/fuzz/fuzz.mk - the libFuzzer targets, included by the Makefile.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fuzz_conf ..."]
#   make fuzz-smoke      every target for 10 seconds (CI)
#   make fuzz-build      only build build/fuzz/fuzz_*
#   make fuzz-deps       clang and its libFuzzer runtime (apt-get when root)
#   FUZZ_FLAGS=...       more libFuzzer flags; FUZZ_NICE=10 a lower priority
# The project's sources are built again with clang, coverage instrumentation,
# ASan and UBSan into $(FUZZ_BUILD), apart from the normal objects.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_BUILD    := $(BUILD)/fuzz
# FUZZ_STRICT=1: also the properties known to fail today (README, Findings).
ifneq ($(FUZZ_STRICT),)
FUZZ_BUILD    := $(BUILD)/fuzz-strict
FUZZ_DEFS     := -DFZ_STRICT
endif
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := -std=c11 $(WARNINGS) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -pthread \
                 -MMD -MP
FUZZ_ALL      := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_BINS     := $(FUZZ_ALL:%=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB      := $(FUZZ_BUILD)/libdispatchd.a
# Debian 12: clang is clang-14; libclang-rt-14-dev holds libclang_rt.fuzzer.
FUZZ_DEB_PKGS := clang libclang-rt-14-dev pkg-config libconfuse-dev liburing-dev

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-bins fuzz-deps

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CONFUSE_CFLAGS) -c -o $@ $<

# The harnesses get the sanitizers but no coverage instrumentation: their
# own loops (the reference models, the checks) would slow every run and
# steer the fuzzer towards variety in the harness rather than in dispatchd.
$(FUZZ_BUILD)/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_DEFS) $(CONFUSE_CFLAGS) -Isrc -c -o $@ $<

# fuzz_conf serves conf_load's fopen from the input (see fuzz_conf.c).
$(FUZZ_BUILD)/fuzz_conf: FUZZ_LDEXTRA := -Wl,--wrap=fopen

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_LDEXTRA) -o $@ $^ $(CONFUSE_LIBS)

# Again through make: pkg-config's answers are read when make starts.
fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-bins

fuzz-bins: $(FUZZ_BINS)
	@:

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# Installs what is missing with apt-get when root; otherwise prints the
# command and fails.  A trivial fuzzer is linked to prove the runtime is there.
fuzz-deps:
	@sh tests/apt-deps.sh fuzz-deps $(FUZZ_DEB_PKGS) || exit 1; \
	mkdir -p $(FUZZ_BUILD); \
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	  > $(FUZZ_BUILD)/probe.c; \
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/probe $(FUZZ_BUILD)/probe.c || { \
	  echo "fuzz-deps: $(FUZZ_CC) cannot link a libFuzzer target (libclang_rt.fuzzer missing?);" \
	    "on Debian 12: apt-get install -y clang libclang-rt-14-dev"; exit 1; }
