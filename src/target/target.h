/*
 * Targets: the providers zonesync keeps in sync, and the interface the sync
 * engine drives them through.  A target type is its configuration keys plus
 * a small set of operations on one (target, zone) pair: read the live
 * records, apply a list of RRset changes, and the rules of the target's view
 * (which types it takes, the apex policy).  A new provider is one folder
 * under src/target/ and one line in registry.c.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "conf/schema.h"
#include "zone/diff.h"
#include "zone/view.h"

struct conf_target;
struct conf_zone;

typedef struct target target_t; /* one open (target, zone) pair */

/* What a push reports while it runs (for a progress line on a terminal). */
typedef struct {
	size_t batches_done, batches; /* requests that change data */
	size_t records_done, records;
	double waiting; /* seconds of the current wait (rate limit, backoff), 0 */
	const char *why; /* what is waited for, or NULL */
} target_progress_t;

typedef void (*target_progress_fn)(void *ctx, const target_progress_t *p);

typedef struct {
	bool wait; /* wait until the provider reports the change live */
	target_progress_fn progress;
	void *progress_ctx;
	/* Set (by the daemon, stopping): send no further request; the push
	 * ends with -ECANCELED, its target left dirty.  NULL: never. */
	const atomic_bool *cancel;
} target_opts_t;

/* Tell o's progress callback, if any, where the push p is: waiting secs
 * for why (a rate limit, a backoff), or 0 and NULL after a step. */
void target_report(const target_opts_t *o, target_progress_t *p, double secs, const char *why);

/* Should a push stop before its next request? */
static inline bool target_cancelled(const target_opts_t *o)
{
	return o != NULL && o->cancel != NULL && atomic_load(o->cancel);
}

/* Counters of one push, for logs and metrics. */
typedef struct {
	size_t requests;     /* all HTTP/DNS requests */
	size_t reads;        /* of them, to read live records */
	size_t writes;       /* of them, to change data */
	size_t retries;      /* requests sent again after an error */
	size_t throttled;    /* of the retries, for throttling */
	size_t waits;        /* polls for the change to be live */
	double wait_secs;    /* time spent in rate limiting and backoff */
} target_stats_t;

typedef struct {
	/*
	 * Open the pair: resolve credentials, find the provider's zone.  May do
	 * requests (counted in stats).  0 or a negative error with err set.
	 */
	int (*open)(const struct conf_target *t, const struct conf_zone *z, target_t **out,
	            target_stats_t *stats, char *err, size_t errlen);
	/* The live records, as a finished zone with the apex set.  Records the
	 * target cannot account for (Route 53 aliases, weighted sets...) are
	 * left out and counted in *foreign. */
	int (*read)(target_t *t, zone_t *live, size_t *foreign, target_stats_t *stats, char *err,
	            size_t errlen);
	/*
	 * Apply the changes of d (an RRset diff of two views).  live_known: the
	 * DELETE/ADD sides come from a fresh read (additions are known absent).
	 * Returns 0 when all changes landed; -ESTALE when the provider refused
	 * because its live records differ from d's old side (the engine then
	 * re-reads once and diffs again); another negative error with err set.
	 * A provider that applies in several requests never splits one RRset.
	 */
	int (*apply)(target_t *t, const zone_diff_t *d, bool live_known, const target_opts_t *o,
	             target_stats_t *stats, char *err, size_t errlen);
	void (*close)(target_t *t);
	/* Optional: the name servers that serve the target's copy, as
	 * "IP@PORT" texts (at most max), for verify --serving.  The count or
	 * a negative error. */
	int (*servers)(target_t *t, char (*out)[80], size_t max, target_stats_t *stats, char *err,
	               size_t errlen);
	/* The view rules of this target (the engine fills in the apex policy
	 * from the rules' defaults and the target's apex-ns/soa-serial keys). */
	zone_view_rules_t (*rules)(const struct conf_target *t);
} target_ops_t;

typedef struct {
	const char *name;
	const conf_item_t *items; /* terminated by an item with name == NULL */
	const char *summary;
	const target_ops_t *ops; /* NULL: pushed by the scheduler itself (zonefile) */
} target_type_t;

/* The registered type of that name, or NULL. */
const target_type_t *target_type_find(const char *name);

/* All registered types, terminated by NULL. */
extern const target_type_t *const target_types[];
