/* SPDX-License-Identifier: ISC */
/*
 * fuzz_store_reply.c - libFuzzer target for what postern reads from
 * Redis: the bytes go through hiredis's RESP reader with postern's
 * bounds (store_redis_bound: no array larger than ours is allocated), as
 * a connection's would, and every reply it makes of them is judged by store_redis_check
 * for a rate operation of 1 to 16 keys and for a greylisting one (the
 * first byte picks).  A reply taken must be in range; any other outcome
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lib/store_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
judge(const struct store_req *q, const redisReply *rr)
{
	struct store_reply	 r;

	if (store_redis_check(q, rr, &r) == -1)
		return;
	if (q->kind == STORE_RATE && r.what > q->n)
		abort();
	if (q->kind == STORE_GREY && (r.what < STORE_GREY_NEW ||
	    r.what > STORE_GREY_AUTO))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store_req	 q;
	redisReader		*rd;
	void			*reply;
	int			 n = 0;

	if (size < 1)
		return 0;
	q.kind = data[0] & 0x80 ? STORE_GREY : STORE_RATE;
	q.n = q.kind == STORE_GREY ? 2 : (size_t)(data[0] & 0x0f) + 1;
	if ((rd = redisReaderCreate()) == NULL)
		abort();
	store_redis_bound(rd);
	if (redisReaderFeed(rd, (const char *)data + 1, size - 1) ==
	    REDIS_OK)
		while (n++ < 64 && redisReaderGetReply(rd, &reply) ==
		    REDIS_OK && reply != NULL) {
			judge(&q, reply);
			freeReplyObject(reply);
		}
	redisReaderFree(rd);
	return 0;
}
