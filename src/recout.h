/* recout.h - record outputs: where one-line records go (a file, a pipe or socket, syslog), whole and in order. */
#ifndef DISPATCHD_RECOUT_H
#define DISPATCHD_RECOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A record never tears and never interleaves with another, whatever the
 * output: a regular file gets one O_APPEND write(2) per record; a pipe,
 * socket or terminal is written through a non-blocking descriptor of our
 * own, one writer at a time (a robust lock shared with fork children).
 * Where handler_nowait is set, a stream output that cannot take a record
 * queues it (up to 1 MiB, then recout_backed_up) and recout_flush writes
 * the queue; elsewhere a writer waits for room until the cut (sig.h).
 * After the cut an output is still waited for while it keeps taking bytes
 * (2 s at most, 0.5 s without progress); then it has given up and every
 * later record is lost, so what reached it is a prefix without a gap.
 * Lost records are warned about (rate-limited) and counted, and the count
 * is reported when the last user lets go of the output.
 */
struct recout;

/* What a record became. */
enum recout_fate { RECOUT_LOST, RECOUT_WRITTEN, RECOUT_QUEUED };

/*
 * The output for dest (a file path, "-" for standard output, "syslog"),
 * shared by everyone naming the same dest (one queue, one turn); each
 * recout_get is given back with recout_put.  NULL with err filled.
 */
struct recout *recout_get(const char *dest, char *err, size_t errlen);
/* Gives it back; the last user writes what is queued (see above), reports
 * what was lost and frees it. */
void recout_put(struct recout *o);

/*
 * Writes one record, rec[len - 1] being its LF (syslog: may change it).
 * count (or NULL) goes up by one once the record is written (handed to
 * syslog): now, or when the queue writes it; never for a lost record.
 */
enum recout_fate recout_write(struct recout *o, char *rec, size_t len, atomic_ullong *count);

/* handler_nowait: as much is queued as may be; hold those who feed it. */
bool recout_backed_up(const struct recout *o);
/* Whether anything is queued. */
bool recout_queued(const struct recout *o);
/* The sequence number of the last record queued (recout_fate_of's key). */
unsigned long long recout_last(const struct recout *o);
/* What became of queued record seq: still QUEUED, WRITTEN or LOST. */
enum recout_fate recout_fate_of(const struct recout *o, unsigned long long seq);

/*
 * Writes what the queue holds, never waiting.  Returns the descriptor to
 * wait on for writability while some is left, else -1; *room is false
 * while the output is backed up.
 */
int recout_flush(struct recout *o, bool *room);

/* SIGHUP (and once after -d): a file is opened again under its name;
 * standard output follows what descriptor 1 now is. */
void recout_reopen(struct recout *o);

#endif
