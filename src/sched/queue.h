/*
 * The job queue: how many jobs run at once, and who waits.
 *
 * With 10,000 zones a restart, a reload or a primary's NOTIFY burst asks
 * for 10,000 SOA checks at once, and a new serial of each for 10,000
 * pushes.  Handed to libuv's pool they would all wait in its own queue,
 * where a `zonesync sync` pass from the control socket waits behind them,
 * and they would all reach one primary or one provider together.  So jobs
 * wait here, on the loop thread, in lanes: one per primary (its SOA checks
 * and transfers, at most its max-transfers at once) and one per target
 * (its pushes, at most its max-pushes), each a FIFO.  At most `max` jobs
 * run overall (fewer than the pool's threads, so a pass always finds one);
 * free threads go to the lanes with room in turn, so a slow provider's
 * queue never holds up another's or a primary's.
 *
 * Pure bookkeeping, no libuv: start() is called for each job that may
 * run now; the caller reports its end with jq_done().  Lanes live as long
 * as the queue (a reload keeps a lane of the same kind and id, and its
 * waiting jobs), so pointers to them stay valid.  Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct jq_lane jq_lane_t;

/* One job, embedded in what it belongs to.  Zero it before first use. */
typedef struct jq_item {
	struct jq_item *prev, *next;
	jq_lane_t *lane;
	bool queued; /* waiting in its lane */
	void *data;  /* the owner's */
	int tag;     /* the owner's: what data is */
} jq_item_t;

struct jq_lane {
	char *kind, *id; /* "primary" or "target", and its id: the gauges' lane label */
	unsigned max, running, waiting;
	jq_item_t *head, *tail;
	bool ready;           /* in the ring of lanes with jobs that may start */
	jq_lane_t *next_ready;
	jq_lane_t *next; /* all lanes */
};

typedef struct {
	unsigned max, running; /* jobs at once overall */
	jq_lane_t *lanes;
	jq_lane_t *ready_head, *ready_tail;
	bool dispatching;
	/* The job may run now: it is out of its lane and counted running. */
	void (*start)(void *ctx, jq_item_t *it);
	void *ctx;
} jq_t;

/* An empty queue: at most max jobs at once overall (at least 1). */
void jq_init(jq_t *q, unsigned max, void (*start)(void *ctx, jq_item_t *it), void *ctx);
/* Free the lanes.  No job may wait (jq_cancel_all first). */
void jq_free(jq_t *q);

/* The lane of this kind and id (ids compared without case), created at
 * first use; its limit set to max (at least 1): a reload may change it, and
 * a higher one starts jobs at once.  NULL when out of memory. */
jq_lane_t *jq_lane(jq_t *q, const char *kind, const char *id, unsigned max);

/* Queue the job in lane at its end; it starts at once when there is room. */
void jq_push(jq_t *q, jq_item_t *it, jq_lane_t *lane);
/* A job start() was called for has ended: its room goes to the next. */
void jq_done(jq_t *q, jq_lane_t *lane);
/* Take a waiting job out of its lane (it will not start); false when it
 * was not waiting. */
bool jq_remove(jq_t *q, jq_item_t *it);
/* The first waiting job of any lane, taken out; NULL when none waits.
 * For a stop: every waiting job cancelled in turn. */
jq_item_t *jq_pop_any(jq_t *q);
