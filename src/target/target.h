/*
 * Targets: the providers zonesync keeps in sync, and the one interface the
 * sync engine drives them through.  A target type is its configuration keys
 * (checked by conf through the embedded conf_type_t) plus a small set of
 * operations on one open (target, zone) pair: read the live records, apply
 * a list of RRset changes, be told of a new serial, and the rules of the
 * target's view (which types it takes, the apex policy).  The engine is the
 * only caller of these operations and the only writer of target state.
 *
 * A new provider is one folder under src/target/ declaring a target_type_t,
 * and one line in registry.c.  Nothing above this layer names a provider.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "zone/diff.h"
#include "zone/view.h"

typedef struct target target_t; /* one open (target, zone) pair */

/* What a push reports while it runs (for a progress line on a terminal). */
typedef struct {
	size_t batches_done, batches; /* requests that change data */
	size_t records_done, records;
	bool reading;         /* reading the live records, not yet pushing */
	size_t records_read;  /* reading: records read so far */
	double waiting;  /* seconds of the current wait (rate limit, backoff), 0 */
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
	/* A one-shot command's limit for one API request, in ms (0: the
	 * provider's own, for the daemon); the retries of one request end
	 * once 3 times this has passed since its first attempt. */
	long request_timeout_ms;
} target_opts_t;

/* Tell o's progress callback, if any, where the push p is: waiting secs
 * for why (a rate limit, a backoff), or 0 and NULL after a step. */
void target_report(const target_opts_t *o, target_progress_t *p, double secs, const char *why);

/* Should a push stop before its next request? */
static inline bool target_cancelled(const target_opts_t *o)
{
	return o != NULL && o->cancel != NULL && atomic_load(o->cancel);
}

/* A provider holds two option sets: run, given by start() for the whole
 * push (reads included), and opts, given to apply() while it runs.  The
 * push's cancellation flag (run's, else opts'; NULL: never). */
static inline const atomic_bool *target_stop_flag(const target_opts_t *run,
                                                  const target_opts_t *opts)
{
	const target_opts_t *o = run != NULL ? run : opts;
	return o != NULL ? o->cancel : NULL;
}

/* Is the push stopping? */
static inline bool target_stopping(const target_opts_t *run, const target_opts_t *opts)
{
	const atomic_bool *stop = target_stop_flag(run, opts);
	return stop != NULL && atomic_load(stop);
}

/* How long the retries of one request may take, in seconds: bounded for a
 * one-shot command (its request_timeout_ms), else (0) by the attempts. */
static inline double target_retry_budget(const target_opts_t *run)
{
	return run != NULL ? 3 * (double)run->request_timeout_ms / 1000 : 0;
}

/* Where progress goes: apply's options, or while reading the run's. */
static inline const target_opts_t *target_shown_to(const target_opts_t *run,
                                                   const target_opts_t *opts)
{
	return opts != NULL ? opts : run;
}

/* Counters of one push, for logs and metrics. */
typedef struct {
	size_t requests;  /* all HTTP/DNS requests */
	size_t reads;     /* of them, to read live records */
	size_t writes;    /* of them, to change data */
	size_t retries;   /* requests sent again after an error */
	size_t throttled; /* of the retries, for throttling */
	size_t waits;     /* polls for the change to be live */
	double wait_secs; /* time spent in rate limiting and backoff */
} target_stats_t;

/* One HTTP request of a push went out sends times (net/http.h): when
 * libcurl sent it again on a fresh connection (a read whose reused
 * connection closed before an answer), count the re-sends as requests and
 * retries, in the metrics, and say so in the log. */
void target_count_resends(const conf_target_t *tc, const conf_zone_t *zc, target_stats_t *stats,
                          unsigned sends, const char *method, const char *what);

/* Record sets a read found but leaves alone (aliases, routed sets,
 * disabled records, values zonesync cannot read): named, for plan. */
typedef struct {
	char *name; /* as the provider wrote it */
	char type[16];
	const char *why; /* a static text: "alias", "routing policy", ... */
} target_foreign_set_t;

typedef struct {
	target_foreign_set_t *set;
	size_t count, cap;
} target_foreign_t;

/* Add one; 0 or -ENOMEM. */
int target_foreign_add(target_foreign_t *f, const char *name, const char *type, const char *why);
void target_foreign_free(target_foreign_t *f);

/* One push, as the engine hands it to a target. */
typedef struct {
	const zone_diff_t *diff; /* the RRset changes (an RRset diff of two views);
	                          * NULL for on_serial when they are not known */
	bool live_known;         /* the old side comes from a fresh read (additions are
	                          * known absent) */
	const zone_t *want;      /* TARGET_WHOLE: the whole desired view, else NULL */
	uint32_t serial;         /* the serial this push brings */
	bool has_previous;       /* the serial the target was at before, if any */
	uint32_t previous;
	const char *primary; /* the address the zone came from, "" if unknown */
	/* The fence (soa-serial: mirror, engine.h): the provider's apex SOA
	 * as the push's read found it, and the one the push leaves (the same
	 * but for the serial, or equal).  A provider that can make a write
	 * conditional makes each write of the push conditional on holding
	 * fence_old (the first) or fence_new (after the first wrote it); a
	 * write refused because the SOA differs returns -ESTALE.  Both NULL:
	 * no fence (no mirror, or no read). */
	const zone_rrset_t *fence_old, *fence_new;
} target_push_t;

/* Capabilities, in target_ops_t.flags. */
enum {
	/* apply writes the whole zone: it gets push->want. */
	TARGET_WHOLE = 1 << 0,
	/* A local copy of the primary's zone (a file): max-delete and
	 * max-update guard providers that serve, not this. */
	TARGET_UNGUARDED = 1 << 1,
};

typedef struct {
	unsigned flags;
	/*
	 * Open the pair: resolve credentials, find the provider's zone.  May do
	 * requests (counted in stats).  0 or a negative error with err set.
	 */
	int (*open)(const conf_target_t *t, const conf_zone_t *z, target_t **out,
	            target_stats_t *stats, char *err, size_t errlen);
	void (*close)(target_t *t);
	/* Optional: the options of the push about to run, given after open and
	 * before the first read or apply (o lives until close), so that a long
	 * read (a listing of many pages) stops too when o->cancel is set. */
	void (*start)(target_t *t, const target_opts_t *o);
	/* Optional (NULL: a notifier, nothing held to read): the live records,
	 * as a finished zone with the apex set.  Record sets the target cannot
	 * account for (Route 53 aliases, weighted sets...) are left out and
	 * named in *foreign.  A read holds at most target_read_max(): more is
	 * an error (-EFBIG), as is a listing that does not advance (-EPROTO);
	 * -ECANCELED when o->cancel (see start) stopped it. */
	int (*read)(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
	            char *err, size_t errlen);
	/*
	 * Optional with read (both or neither): apply p->diff.  Returns 0 when
	 * all changes landed; -ESTALE when the provider refused because its
	 * live records differ from the diff's old side (the engine then
	 * re-reads once and diffs again); -ECANCELED when o->cancel stopped
	 * it; another negative error with err set.  A provider that applies
	 * in several requests never splits one RRset.
	 */
	int (*apply)(target_t *t, const target_push_t *p, const target_opts_t *o,
	             target_stats_t *stats, char *err, size_t errlen);
	/* Optional: told of each new serial once the data is in place (after
	 * apply, or alone for a notifier).  0, or a negative error with err
	 * set: the target stays behind and is told again next time. */
	int (*on_serial)(target_t *t, const target_push_t *p, const target_opts_t *o,
	                 target_stats_t *stats, char *err, size_t errlen);
	/* Optional: the name servers that serve the target's copy, as
	 * "IP@PORT" texts (at most max), for verify --serving.  The count or
	 * a negative error. */
	int (*servers)(target_t *t, char (*out)[80], size_t max, target_stats_t *stats, char *err,
	               size_t errlen);
	/* Optional: what `zonesync check` can learn of the target without
	 * changing anything (where its credentials come from).  0 with msg,
	 * or a negative error with msg saying what is wrong. */
	int (*probe)(const conf_target_t *t, char *msg, size_t msglen);
	/* The view rules of this target (the engine fills in the apex policy
	 * from the rules' defaults and the shared apex-ns/soa-serial keys). */
	zone_view_rules_t (*rules)(const conf_target_t *t);
} target_ops_t;

typedef struct {
	conf_type_t conf; /* name, keys, summary: what conf checks */
	const target_ops_t *ops;
	void (*cleanup)(void); /* optional: drop process-wide caches at exit */
} target_type_t;

/* Keys several types share, declared once (an item of a type's table).
 * A change to any key of a target restarts the zones that use it. */
#define TARGET_ITEM_APEX_NS                                                                        \
	{                                                                                          \
		.name = "apex-ns", .type = CONF_ENUM, .choices = target_apex_ns_choices,            \
		.restart = true, .help = "keep (default) or sync the apex NS set"                  \
	}
#define TARGET_ITEM_SOA_SERIAL                                                                     \
	{                                                                                          \
		.name = "soa-serial", .type = CONF_ENUM, .choices = target_soa_serial_choices,      \
		.restart = true, .help = "keep (default) or mirror the primary's serial"           \
	}
#define TARGET_ITEM_SERVING                                                                        \
	{                                                                                          \
		.name = "serving", .type = CONF_STR, .list = true, .restart = true,                \
		.help = "name servers that serve this copy, IP[@PORT], for verify --serving"       \
	}
#define TARGET_ITEM_RECONCILE_INTERVAL                                                             \
	{                                                                                          \
		.name = "reconcile-interval", .type = CONF_DURATION, .max = UINT32_MAX,             \
		.restart = true, .help = "the zone's reconcile-interval for this target"           \
	}
#define TARGET_ITEM_END                                                                            \
	{                                                                                          \
		.name = NULL                                                                       \
	}
extern const char *const target_apex_ns_choices[];
extern const char *const target_soa_serial_choices[];

/* The most records (and sets left alone) a read of a provider may hold
 * for zone zc: its transfer-max-records, with room for what the provider
 * holds beside the primary's records (an eighth more, and 1,000).  A
 * provider answering more is broken or hostile: memory stays bounded. */
size_t target_read_max(const conf_zone_t *zc);

/* Does the target mirror the primary's SOA serial (soa-serial: mirror)? */
bool target_mirrors_serial(const conf_target_t *t);

/* Could the target fence its pushes with its SOA serial (engine.h: two
 * hosts), but does not, lacking soa-serial: mirror?  A type without that
 * key fences always (its copy holds the primary's SOA) or never (a file,
 * a hook: each host's own). */
bool target_unfenced(const conf_target_t *t);

/* Seconds between the drift checks of this target: its own
 * reconcile-interval, else the zone's; 0: none (also for a target that
 * holds nothing to read). */
uint32_t target_reconcile_interval(const conf_target_t *t, const conf_zone_t *zc);

/* Every registered type's configuration part, NULL-terminated: what
 * conf_load checks target sections against. */
extern const conf_type_t *const target_registry[];

/* The type of a configured target (loaded with target_registry). */
static inline const target_type_t *target_type(const conf_target_t *t)
{
	return (const target_type_t *)(const void *)t->type;
}

static inline const target_ops_t *target_ops(const conf_target_t *t)
{
	return target_type(t)->ops;
}

/* Every type's cleanup (at exit). */
void target_cleanup(void);
