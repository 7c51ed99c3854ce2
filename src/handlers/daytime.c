/* daytime.c - the RFC 867 daytime handler: the UTC time in ctime's layout, then close. */
#include <stdio.h>
#include <time.h>

#include "../dgram.h"
#include "../handler.h"
#include "../sink.h"

/* "Sun Dec  6 05:55:49 2026\r\n" is 26 bytes; room for a 10-digit year. */
#define DT_MAX 64

/* Our own names: strftime's %a and %b would follow LC_TIME. */
static const char *const dt_days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const dt_months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

/* The line, CR LF included, into line[DT_MAX]: its length, or -1. */
static int
dt_line(char *line)
{
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -1;
	/* ctime's layout: the day of the month padded with a space, like %e. */
	n = snprintf(line, DT_MAX, "%s %s %2d %02d:%02d:%02d %d\r\n", dt_days[tm.tm_wday],
	    dt_months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	return n < 0 || n >= DT_MAX ? -1 : n;
}

/* The whole reply at once, then the core closes once it is sent. */
static int
dt_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	char line[DT_MAX];
	int n = dt_line(line);

	(void)st;
	(void)svc;
	(void)peer;
	if (n == -1 || sink_write(out, line, (size_t)n) == -1)
		return -1;
	sink_close_after(out);
	return 0;
}

/* RFC 867 over UDP: whatever the request holds, the same line back. */
static int
dt_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	char line[DT_MAX];
	int len = dt_line(line);

	(void)peer;
	(void)p;
	(void)n;
	(void)svc;
	if (len == -1)
		return -1;
	return dgram_reply_add(out, line, (size_t)len);
}

const struct handler handler_daytime = {
	.name = "daytime",
	.summary = "RFC 867 daytime: the UTC time as text, then close",
	.state_size = 0,
	.open = dt_open,
	.data = handler_data_drop,
	.eof = handler_eof_none,
	.close = handler_close_none,
	.datagram = dt_datagram,
};
