# bench.mk - `make bench`: the load client, the peer servers and the matrix.
# Included by the top Makefile; never part of `make check`.
#
#   make bench                  full matrix, medians of BENCH_ROUNDS (3) rounds, then the
#                               datagram and HTTP parts in paired rounds (BENCH_DGRAM_ROUNDS,
#                               BENCH_HTTP_ROUNDS: 5 each); about 32 min
#   BENCH_QUICK=1 make bench    one short round (two paired ones for datagrams and HTTP)
#   make bench-deps             the Debian packages the bench needs
#   make bench-tools            build/dispatchd-bench and the peers, nothing run
#
# Results: build/bench/results.md, results.png, results.svg (and raw/*.txt).

BENCH_DIR   := tests/bench
BENCH_OUT   := $(BUILD)/bench
BENCH_BIN   := $(BUILD)/dispatchd-bench
BENCH_SRCS  := $(wildcard $(BENCH_DIR)/*.c)
BENCH_OBJS  := $(BENCH_SRCS:$(BENCH_DIR)/%.c=$(BENCH_OUT)/obj/%.o)
BENCH_PEERS := $(BENCH_OUT)/peers/epoll-echo $(BENCH_OUT)/peers/uv-echo $(BENCH_OUT)/peers/ev-echo \
               $(BENCH_OUT)/peers/mmsg-echo $(BENCH_OUT)/peers/uring-echo
BENCH_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
BENCH_ROUNDS ?= 3
BENCH_QUICK  ?=
# Paired rounds of the HTTP scenarios (empty: 5, or 2 with BENCH_QUICK).
BENCH_HTTP_ROUNDS ?=
# The HTTP scenarios (http_bench.py): wrk and ab as load, busybox httpd,
# lighttpd and nginx as peers (deps.sh stops the services apt starts).
BENCH_DEB_PKGS := libuv1-dev libevent-dev socat xinetd gnuplot-nox python3 linux-perf pkg-config \
                  wrk apache2-utils nginx-light lighttpd busybox

.PHONY: bench bench-deps bench-tools

$(BENCH_OUT)/obj/%.o: $(BENCH_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BENCH_BIN): $(BENCH_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lm

$(BENCH_OUT)/peers/epoll-echo: $(BENCH_DIR)/peers/epoll-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

$(BENCH_OUT)/peers/mmsg-echo: $(BENCH_DIR)/peers/mmsg-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# The io_uring anchor: liburing as Debian ships it (2.3), like the model.
$(BENCH_OUT)/peers/uring-echo: $(BENCH_DIR)/peers/uring-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags liburing) $(LDFLAGS) -o $@ $< \
	  $(URING_LIBS)

$(BENCH_OUT)/peers/uv-echo: $(BENCH_DIR)/peers/uv-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags libuv) $(LDFLAGS) -o $@ $< \
	  $(shell $(PKG_CONFIG) --libs libuv)

$(BENCH_OUT)/peers/ev-echo: $(BENCH_DIR)/peers/ev-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags libevent) $(LDFLAGS) -o $@ $< \
	  $(shell $(PKG_CONFIG) --libs libevent)

bench-tools: $(BIN) $(BENCH_BIN) $(BENCH_PEERS)

# Like `deps`: apt-get when root, else the exact command and a failure.
bench-deps:
	@sh $(BENCH_DIR)/deps.sh $(BENCH_DEB_PKGS)

bench: deps bench-deps
	@$(MAKE) --no-print-directory bench-tools
	BENCH_QUICK=$(BENCH_QUICK) BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_HTTP_ROUNDS=$(BENCH_HTTP_ROUNDS) \
	  $(BENCH_PYTHON) $(BENCH_DIR)/run.py --build $(BUILD) --out $(BENCH_OUT)
