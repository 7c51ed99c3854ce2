/* discard.c - the RFC 863 discard handler: reads and drops everything, says nothing. */
#include "../handler.h"
#include "../sink.h"

const struct handler handler_discard = {
	.name = "discard",
	.summary = "RFC 863 discard: reads and drops everything",
	.state_size = 0,
	.open = handler_open_none,
	.data = handler_data_drop,
	.eof = handler_eof_none,
	.close = handler_close_none,
};
