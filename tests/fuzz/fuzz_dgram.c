/* fuzz_dgram.c - the handlers' datagram hooks and the reflection guard against plain models of SPEC.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dgram.h"
#include "handler.h"
#include "net.h"

#include "fuzz_log.h"
#include "fuzz_util.h"

/*
 * Input layout (see README):
 *   [0]  bit 7 set: the guard; the rest is a socket address
 *        ([1] its length, then its bytes);
 *        else bits 0-2 the handler (registry index mod its size), bit 3
 *        ack, bit 4 custom timestamp_format
 *   [1]  max_line = 1 + [1] % 64
 *   [2..] the datagram.
 */

#define FZ_HDR        2
#define FZ_TIME_LEN   27
#define FZ_CUSTOM_FMT "%Y-%m-%dT%H:%M:%S.%fZ"
#define FZ_PEER       "192.0.2.1:40000"
#define FZ_MAX_IN     8192 /* longer datagrams are skipped (run.sh gives 4096) */

static struct service fz_svc;
static struct dgram_reply fz_rep;

/* The logger writes to a memory file (fuzz_log.h). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_log_setup(&fz_svc, "dispatchd-fuzz-dgram");
	return 0;
}

/* --- the reference: SPEC.md's datagram column, written plainly --- */

/* The message: less one trailing LF or CR LF; pieces of max, at least one. */
static size_t
ref_pieces(const char *in, size_t n, size_t max, const char **pp, size_t *plen, size_t cap)
{
	size_t k = 0;

	if (n >= 2 && in[n - 2] == '\r' && in[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && in[n - 1] == '\n')
		n -= 1;
	do {
		size_t take = n < max ? n : max;

		FZ_CHECK(k < cap, "too many pieces");
		pp[k] = in;
		plen[k++] = take;
		in += take;
		n -= take;
	} while (n > 0);
	return k;
}

static char
ref_chargen(size_t off)
{
	size_t k = off / 74, i = off % 74;

	return i == 72 ? '\r' : i == 73 ? '\n' : (char)(0x20 + (k + i) % 95);
}

static const char *
fz_reply(size_t i, size_t *len)
{
	size_t off = 0;

	for (size_t k = 0; k < i; k++)
		off += fz_rep.lens[k];
	*len = fz_rep.lens[i];
	return fz_rep.buf + off;
}

static void
fz_handler(const uint8_t *data, size_t size)
{
	/* The handlers that serve datagrams (files, HTTP, serves streams only). */
	static const struct handler *dh[16];
	static size_t nh;

	if (nh == 0)
		for (size_t i = 0; handlers[i] != NULL && nh < 16; i++)
			if (handlers[i]->datagram != NULL)
				dh[nh++] = handlers[i];
	const struct handler *h = dh[(data[0] & 7) % nh];
	size_t max = 1 + data[1] % 64, n = size - FZ_HDR, len;
	const char *in = (const char *)data + FZ_HDR;
	struct peer peer;
	/* Pieces of at least 1 byte: one per byte at most. */
	static const char *pp[FZ_MAX_IN + 1];
	static size_t plen[FZ_MAX_IN + 1];

	if (n > FZ_MAX_IN)
		return;
	size_t np = ref_pieces(in, n, max, pp, plen, FZ_MAX_IN + 1);
	struct fz_bytes log = { NULL, 0, 0 };
	time_t before = time(NULL);

	memset(&peer, 0, sizeof(peer));
	snprintf(peer.text, sizeof(peer.text), "%s", FZ_PEER);
	handler_max_line = max;
	fz_svc.handler = h;
	fz_svc.ack = (data[0] & 8) != 0;
	fz_svc.timestamp_format = (data[0] & 16) ? (char *)FZ_CUSTOM_FMT : NULL;
	dgram_reply_reset(&fz_rep);
	FZ_CHECK(h->datagram != NULL, "%s: no datagram hook", h->name);
	FZ_CHECK(h->datagram(&fz_svc, &peer, in, n, &fz_rep) == 0, "%s: failed", h->name);
	FZ_CHECK(fz_rep.n == 0 || fz_rep.lens != NULL, "%s: no lengths", h->name);
	size_t total = 0;
	for (size_t i = 0; i < fz_rep.n; i++)
		total += fz_rep.lens[i];
	FZ_CHECK(total == fz_rep.len, "%s: lengths add up to %zu, not %zu", h->name, total,
	    fz_rep.len);

	if (h == &handler_echo) {
		FZ_CHECK(fz_rep.n == 1, "echo: %zu replies", fz_rep.n);
		const char *p = fz_reply(0, &len);
		FZ_CHECK(fz_same(p, len, in, n), "echo: reply differs");
	} else if (h == &handler_discard) {
		FZ_CHECK(fz_rep.n == 0, "discard: %zu replies", fz_rep.n);
	} else if (h == &handler_chargen) {
		FZ_CHECK(fz_rep.n == 1, "chargen: %zu replies", fz_rep.n);
		fz_reply(0, &len);
		FZ_CHECK(len == (n < 512 ? n : 512), "chargen: %zu bytes for %zu", len, n);
		for (size_t i = 0; i < len; i++)
			FZ_CHECK(fz_rep.buf[i] == ref_chargen(i), "chargen: byte %zu", i);
	} else if (h == &handler_daytime) {
		FZ_CHECK(fz_rep.n == 1 && fz_rep.len == 26 && fz_rep.buf[24] == '\r' &&
		        fz_rep.buf[25] == '\n',
		    "daytime: %s", fz_show(fz_rep.buf, fz_rep.len));
	} else if (h == &handler_time) {
		FZ_CHECK(fz_rep.n == 1 && fz_rep.len == 4, "time: %zu replies", fz_rep.n);
		const unsigned char *b = (const unsigned char *)fz_rep.buf;
		uint32_t t = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
		    b[3];
		uint32_t lo = (uint32_t)((uint64_t)before + 2208988800u);
		FZ_CHECK(t - lo <= 2, "time: %u, not about %u", t, lo);
	} else if (h == &handler_timestamp) {
		FZ_CHECK(fz_rep.n == np, "timestamp: %zu replies for %zu pieces", fz_rep.n, np);
		for (size_t i = 0; i < np; i++) {
			const char *p = fz_reply(i, &len);
			FZ_CHECK(len == FZ_TIME_LEN + 4 + plen[i] && p[0] == '[' &&
			        p[FZ_TIME_LEN + 1] == ']' && p[FZ_TIME_LEN + 2] == ' ' &&
			        p[len - 1] == '\n' &&
			        fz_same(p + FZ_TIME_LEN + 3, plen[i], pp[i], plen[i]),
			    "timestamp: piece %zu: %s", i, fz_show(p, len));
		}
	} else if (h == &handler_logger) {
		fz_read_log(&log);
		FZ_CHECK(fz_rep.n == (fz_svc.ack ? np : 0), "logger: %zu replies for %zu pieces",
		    fz_rep.n, np);
		for (size_t i = 0; i < fz_rep.n; i++) {
			const char *p = fz_reply(i, &len);
			FZ_CHECK(fz_same(p, len, "OK\n", 3), "logger: reply %s", fz_show(p, len));
		}
		size_t off = 0, k = 0;
		while (off < log.len) {
			const char *p = log.p + off, *lf = memchr(p, '\n', log.len - off);
			FZ_CHECK(lf != NULL, "logger: record without LF");
			size_t rl = (size_t)(lf - p), hl = FZ_TIME_LEN + 1 + strlen(FZ_PEER) + 2;
			FZ_CHECK(rl >= hl && p[FZ_TIME_LEN] == ' ' &&
			        memcmp(p + FZ_TIME_LEN + 1, FZ_PEER ": ", hl - FZ_TIME_LEN - 1) ==
			            0,
			    "logger: record %s", fz_show(p, rl));
			FZ_CHECK(k < np, "logger: more records than pieces (%zu)", np);
			struct fz_bytes body = { NULL, 0, 0 };
			fz_unescape(p + hl, rl - hl, &body);
			FZ_CHECK(fz_same(body.p, body.len, pp[k], plen[k]), "logger: piece %zu: %s",
			    k, fz_show(p, rl));
			fz_bytes_free(&body);
			k++;
			off += rl + 1;
		}
		FZ_CHECK(k == np, "logger: %zu records for %zu pieces", k, np);
		fz_bytes_free(&log);
	}
}

/* The guard, written plainly from SPEC.md: whom a reply may go to. */
static bool
ref_may_reply(const struct sockaddr_storage *ss, size_t salen)
{
	if (salen < sizeof(sa_family_t))
		return false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		const uint8_t *a = (const uint8_t *)&s->sin_addr;
		if (salen < sizeof(*s) || ntohs(s->sin_port) < 1024)
			return false;
		return a[0] != 0 && a[0] < 224 ?
		    true :
		    a[0] >= 240 && !(a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		const uint8_t *a = s->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		static const uint8_t zero[16];
		if (salen < sizeof(*s) || ntohs(s->sin6_port) < 1024)
			return false;
		if (memcmp(a, mapped, 12) == 0) {
			const uint8_t *v = a + 12;
			return v[0] != 0 && v[0] < 224 ? true :
			                                 v[0] >= 240 &&
			        !(v[0] == 255 && v[1] == 255 && v[2] == 255 && v[3] == 255);
		}
		return a[0] != 0xff && memcmp(a, zero, 16) != 0;
	}
	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *s = (const struct sockaddr_un *)ss;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		return salen > off + 1 || (salen == off + 1 && s->sun_path[0] != '\0');
	}
	return false;
}

static void
fz_guard(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	size_t salen = data[1] % (sizeof(ss) + 1);
	size_t have = size - FZ_HDR;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data + FZ_HDR, have < sizeof(ss) ? have : sizeof(ss));
	/* Steer towards the families the guard knows. */
	switch (data[0] & 3) {
	case 0:
		ss.ss_family = AF_INET;
		break;
	case 1:
		ss.ss_family = AF_INET6;
		break;
	case 2:
		ss.ss_family = AF_UNIX;
		break;
	default:
		break;
	}
	bool got = dgram_may_reply((const struct sockaddr *)&ss, (socklen_t)salen);
	FZ_CHECK(got == ref_may_reply(&ss, salen), "guard: family %d, length %zu: %d", ss.ss_family,
	    salen, got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FZ_HDR)
		return 0;
	if (data[0] & 0x80)
		fz_guard(data, size);
	else
		fz_handler(data, size);
	return 0;
}
