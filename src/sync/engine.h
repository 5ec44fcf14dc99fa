/*
 * The sync engine: brings one (zone, target) pair to the view of the
 * zone's snapshot, with the fewest requests.
 *
 *   desired = view(snapshot).  If the target is clean and at the serial a
 *   transfer just started from, the changes are the view of that delta (no
 *   read of the provider; the delta is the IXFR's, or the diff of the two
 *   snapshots when the primary sent the whole zone).  Otherwise the
 *   target's live records are read, seen through the same view, and diffed
 *   against the desired view.  Every kind of target goes this one way: a
 *   target that holds nothing to read (a notifier) is told of each new
 *   serial, one that writes whole (a zone file) gets the whole view.
 *
 * Crash safety: the target is marked dirty in the store before its first
 * write and clean, at the new serial, after its last; a dirty target is
 * reconciled from its live records next time.  Safety limits (max-delete,
 * max-update) refuse a plan unless forced.  A provider refusing because its
 * live records are not what we thought (edited by hand) gets one re-read
 * and a fresh diff.
 *
 * Drift: a clean target at the current serial is not read again unless
 * asked (full: `sync --full`, the daemon's reconcile-interval); what such a
 * read finds different was changed outside zonesync, and is put back
 * (logged and counted as drift repaired; the limits apply).
 *
 * A refusal is a decision, not a failure: it is recorded with the serial
 * refused, and that serial is not tried again (no read) until a newer one
 * comes or the push is forced or full.
 *
 * First contact (never assume we are alone): a provider zonesync has never
 * pushed to may hold records the primary lacks (certificate validations, a
 * console's records).  Until the pair is adopted, a push that read the
 * provider deletes none of its RRsets: adds and updates go, the deletions
 * are left out, reported (r->left) and logged.  The pair is adopted by
 * --force, by the target's adopt: replace, or by a read that finds nothing
 * to leave (an empty provider zone: at once); the store keeps it unadopted
 * meanwhile.  A push of an IXFR's changes (no read) deletes what the
 * primary deleted: that is the primary's word.  Zone files and notifiers
 * hold only what zonesync wrote: the rule is for providers that serve.
 *
 * Two hosts (never assume we are alone as a writer): two daemons, each with
 * its own state, may feed the same zone to the same provider.  With
 * soa-serial: mirror the provider's apex SOA serial says whose data it
 * holds, so every push reads it first (engine_fence): a provider ahead of
 * our serial is left alone (we stand down and ask our primary for a
 * refresh), one at our serial holding our data needs nothing.  The push
 * hands the SOA it read to the target (target_push_t.fence_old), and a
 * provider that can make a write conditional writes only while it still
 * holds that SOA (or, after the push's first write, the push's own): a
 * write the other host made meanwhile fails the request whole, and the
 * engine reads again and decides again, at most ENGINE_FENCE_TRIES times.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"
#include "target/target.h"
#include "zone/diff.h"
#include "zone/extdns.h"
#include "zone/view.h"

/* The RRsets a transfer changed, whole, before and after it. */
typedef struct {
	uint32_t from, to;
	zone_t old, new; /* finished, apex set */
} engine_delta_t;

/* The zone being pushed: its serial and where its snapshot comes from. */
typedef struct {
	store_t *store;     /* target state; the snapshot when zone is NULL */
	const zone_t *zone; /* the snapshot, when already in memory */
	uint32_t serial;             /* becomes the snapshot's when it is read from the store */
	const engine_delta_t *delta; /* the IXFR just committed, or NULL */
	const char *primary;         /* the address it came from (hooks), or NULL */
	zone_t loaded;               /* the snapshot read from the store, on demand */
	bool has_loaded;
} engine_zone_t;

typedef struct {
	bool plan;  /* read and diff only: no write, no state change */
	bool force; /* ignore max-delete / max-update */
	bool full;  /* read the live records whatever the state says: repair drift */
	/* The caller prints each result where the log goes too (a one-shot
	 * sync on a terminal): a failure is logged at debug, printed once. */
	bool reported;
	target_opts_t topts;
} engine_opts_t;

/* What first contact decides for one push of a (zone, target) pair. */
typedef struct {
	bool guarded;     /* a provider that serves (not a notifier, not a file written whole) */
	bool known;       /* a serial was ever recorded for the pair (has_serial) */
	bool unadopted;   /* its stored flag */
	bool read;        /* the changes come from a read of the provider */
	bool force;       /* --force */
	bool replace;     /* the target's adopt: replace */
	size_t deletions; /* RRsets the diff would delete */
} engine_adopt_in_t;

typedef struct {
	bool read;      /* adopting now (forced, or replace): read the provider, even if clean */
	bool hold;      /* leave the deletions out of this push */
	bool unadopted; /* the pair's flag once the push succeeds */
	bool adopts;    /* the push ends first contact (deleting what it held, if any) */
} engine_adopt_t;

/* The first-contact decision (see above): pure, the engine's one place
 * for it.  read is known without the diff (deletions and read unused). */
engine_adopt_t engine_adopt(const engine_adopt_in_t *in);

/* What a push does about a provider's apex SOA serial (engine_fence). */
typedef enum {
	ENGINE_FENCE_PUSH,       /* behind us, or at our serial with other data */
	ENGINE_FENCE_NOTHING,    /* at our serial, holding our data */
	ENGINE_FENCE_STAND_DOWN, /* ahead of us (or no order): another writer's */
} engine_fence_t;

/* The decision, from the provider's serial (has_live false: it has none
 * to tell, e.g. no SOA in the read, so no fence), ours, and whether the
 * diff of its records against our view is empty.  Serials compare by RFC
 * 1982; two that have no order are never written over. */
engine_fence_t engine_fence(bool has_live, uint32_t live, uint32_t ours, bool differs);

/* Reads of a fenced push (the first and those after a refused write). */
#define ENGINE_FENCE_TRIES 4

typedef struct {
	int ret;           /* 0, or the error of the push */
	bool stood_down;   /* the provider was ahead: not pushed, not failed */
	uint32_t provider_serial; /* stood_down: the provider's serial */
	bool refused;      /* a safety limit stopped it (ret -EPERM) */
	bool held;         /* refused before at this serial: not tried again */
	bool drift;        /* in sync by its state, yet its records differed */
	bool uptodate;     /* nothing to do, nothing asked */
	bool incremental;  /* from the IXFR delta, no read */
	bool wrote;        /* write requests were sent */
	bool notifier;     /* the target holds nothing to compare (exec) */
	bool notify;       /* a notifier behind: it runs (or would, in a plan) */
	bool has_previous; /* the serial the target was at, if any */
	uint32_t previous;
	target_foreign_t foreign; /* live sets left alone (aliases, weighted...) */
	/* Primary RRsets not pushed because the target holds that name and
	 * type as its own (an ignored, alias or routed set): reported. */
	target_foreign_t conflicts;
	zone_rules_t rules;          /* the zone's and the target's, for the views */
	zone_view_skipped_t live_kept; /* what the ignore rules held out of the live view */
	/* ignore-owned-by: external-dns: what its markers in the live
	 * records own (the live view's hold), or NULL. */
	zone_extdns_t *extdns;
	/* First contact: the deletions left out of the diff (changes into
	 * base), reported; whether the pair is, or stays, unadopted. */
	zone_diff_t left;
	bool unadopted;
	bool adopted; /* this push ended first contact */
	size_t total;             /* RRsets the limits are measured against */
	zone_view_skipped_t skipped;
	zone_diff_t diff;
	target_stats_t stats;
	double secs;
	char error[2048];
	/* What the diff points into. */
	zone_t live, base, want, delta_want;
	bool want_full; /* want is the view of the whole snapshot */
	uint8_t *soa;
	zone_rrset_t fence_old, fence_new; /* the push's fence (in live, want) */
} engine_result_t;

/* Push (or plan) one target of a zone; logs the outcome.  Returns r->ret. */
int engine_push(engine_zone_t *z, const conf_zone_t *zc, const conf_target_t *tc,
                const engine_opts_t *o, engine_result_t *r);

/* The zone's snapshot: the one in memory, else read from the store once
 * and kept in z.  NULL with err set when it cannot be read. */
const zone_t *engine_zone_snapshot(engine_zone_t *z, const knot_dname_t *apex, char *err,
                                   size_t errlen);

/* Metrics of a (zone, target) pair: its gauges from its stored state, and
 * (account) the outcome of one push. */
void engine_gauges(const conf_zone_t *zc, const conf_target_t *tc, const store_target_t *ts);
void engine_account(const conf_zone_t *zc, const conf_target_t *tc, const store_target_t *ts,
                    int ret, bool refused, double secs, const target_stats_t *stats,
                    const zone_diff_t *d);

void engine_result_free(engine_result_t *r);
void engine_zone_free(engine_zone_t *z);
void engine_delta_free(engine_delta_t *d);
