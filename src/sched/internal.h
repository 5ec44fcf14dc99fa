/*
 * The scheduler's insides, shared by its files: sched.c (zones, their
 * timers, the public calls), job.c (the jobs on the worker pool: a zone's
 * refresh, each target's push) and reload.c (a new configuration taken in
 * while jobs of the old one run).  Everything here is touched on the loop
 * thread only, but for what a running job was handed at its start.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sched/queue.h"
#include "sched/runinfo.h"
#include "sched/sched.h"
#include "store/store.h"
#include "sync/sync.h"

typedef struct zstate zstate_t;
typedef struct tstate tstate_t;

/* What a job hands back to the loop thread. */
struct job {
	sync_refresh_t r;
	engine_delta_t *delta; /* what changed, handed to the target jobs */
	/* The state could not be read or written: why (malloc'd), NULL when
	 * it could.  Not a buffer: 10,000 zones would carry 5 MB of them. */
	char *state_error;
};

/* A configuration, counted (see "generations" below). */
typedef struct gen {
	conf_t *conf;
	unsigned refs; /* touched on the loop thread only */
} gen_t;

struct zstate {
	sched_t *s;
	gen_t *gen; /* the configuration conf points into (counted) */
	const conf_zone_t *conf;
	/* The running job reads these, set on the loop thread at its start:
	 * a reload may move conf to a new generation meanwhile. */
	gen_t *job_gen;
	const conf_zone_t *job_zc;
	unsigned busy;    /* running jobs: the zone's and its targets' */
	unsigned handles; /* timers not yet closed */
	bool retiring;    /* removed or replaced by a reload; freed when idle */
	bool purge;       /* left its catalog, on-remove: purge: done when idle */
	bool waiting;     /* a retiring zone of the same name still runs */
	zstate_t *next;   /* in the list of retiring zones */
	uv_timer_t timer;
	uv_timer_t expire_timer;
	uv_work_t work;
	/* Its check waits in its primary's lane (qi.queued) before it runs;
	 * running covers both. */
	jq_item_t qi;
	jq_lane_t *lane;
	bool running, pending, stopping;
	bool held; /* a pass beside the scheduler owns it (sched_hold) */
	bool has_data, expired;
	bool state_failing; /* its last job could not read or write the state */
	uint32_t serial;
	uint32_t retry;
	unsigned fails; /* refreshes in a row that ended in a final failure */
	int64_t expire_at;
	struct job job;
	char primary[64]; /* the address that last answered */
	tstate_t *targets;
	size_t ntargets;
};

struct tstate {
	zstate_t *z;
	const conf_target_t *conf;
	gen_t *job_gen; /* as for the zone's job */
	const conf_zone_t *job_zc;
	const conf_target_t *job_tc;
	uv_work_t work;
	jq_item_t qi;     /* waiting in the target's lane (running covers it) */
	jq_lane_t *lane;
	uv_timer_t timer; /* the next try after a failure */
	uv_timer_t check; /* the next read of its live records (reconcile-interval) */
	bool running, pending, failed;
	/* What the last job found besides failed: refused by a safety limit
	 * (no timer tries it again), or its live records read. */
	bool refused, read;
	bool state_failing;        /* as the zone's, for its last push */
	char *job_state_error;     /* the running job's, handed back (as the zone's) */
	/* Its configuration changed in a reload: the next push compares it
	 * with its live records (as if dirty), so the new keys take effect. */
	bool reconcile, job_reconcile;
	/* The check timer fired: the next push reads the live records even
	 * when in sync, and repairs what differs (drift). */
	bool full, job_full;
	uint32_t serial, next_serial;
	struct shared_delta_s *delta, *next_delta;
	uint32_t backoff; /* seconds */
	char primary[64], next_primary[64];
	/* The last push stood down (the provider ahead, at provider_serial):
	 * the zone is refreshed once per provider serial seen, not per push. */
	bool stood_down, asked;
	uint32_t provider_serial, asked_serial;
};

struct sched {
	uv_loop_t *loop;
	gen_t *gen;       /* the current configuration */
	zstate_t **zones; /* one per zone of the current configuration */
	size_t nzones;
	zstate_t *retiring;
	bool stopping;
	atomic_bool cancel; /* pushes stop before their next request */
	struct {
		bool active, ready; /* held; cb called */
		zstate_t **zones;   /* each counted busy while held */
		size_t n;
		gen_t *gen;
		sched_hold_cb cb;
		void *ctx;
	} hold;
	runinfo_t *info;    /* where state errors are told, NULL: nowhere */
	struct sched_catalogs *catalogs; /* the members of each catalog (catalog.c) */
	jq_t queue;         /* jobs waiting for room, per primary and target */
};

/* The queue's tags: what a jq_item_t's data is. */
enum { JOB_ZONE = 1, JOB_TARGET = 2 };

typedef struct shared_delta_s {
	engine_delta_t d;
	unsigned refs; /* touched on the loop thread only */
} shared_delta_t;

/* sched.c */
gen_t *sched_gen_ref(gen_t *g);
void sched_gen_unref(gen_t *g);
zstate_t *sched_zone_alloc(sched_t *s, const conf_zone_t *zc);
void sched_zone_arm(zstate_t *z, gen_t *g);
void sched_zone_load(zstate_t *z, store_t *st);
void sched_zone_retire(zstate_t *z);
void sched_zone_free(zstate_t *z);
/* Called whenever a retiring zone may have become idle. */
void sched_zone_idle(zstate_t *z);
bool sched_name_retiring(const sched_t *s, const conf_zone_t *zc);
/* Called whenever a held zone may have become idle. */
void sched_hold_check(sched_t *s);

/* The lanes of conf's primaries and targets, each at its limit; -ENOMEM. */
int sched_lanes(sched_t *s, const conf_t *conf);

/* job.c */
/* The queue's start(): a job that may run now goes to the pool. */
void sched_job_run(void *ctx, jq_item_t *it);
/* A waiting job that will not run (a zone retired, the daemon stopping):
 * what it held goes. */
void sched_job_cancel(jq_item_t *it);
/* The zone's first check without a NOTIFY, among n zones starting at
 * once: at once when few, else spread (see job.c). */
void sched_zone_first_check(zstate_t *z, size_t n);
/* Say how n first checks are spread (nothing when at once). */
void sched_first_checks_log(size_t n);
/* Check the zone now (or once more after the running job). */
void sched_job_start(zstate_t *z);
/* Bring the target to serial; delta: what led there, or NULL. */
void sched_target_kick(tstate_t *t, uint32_t serial, shared_delta_t *delta, const char *primary);
/* (Re)start the target's check timer: its reconcile-interval from now,
 * jittered; none when 0. */
void sched_target_check_arm(tstate_t *t);
shared_delta_t *sched_delta_ref(shared_delta_t *d);
void sched_delta_unref(shared_delta_t *d);

/* reload.c */
/* Take conf (with its members already) as the new generation; start: load
 * and start the zones it adds (false at the start of the daemon: the
 * caller does it for all). */
int sched_reload_gen(sched_t *s, conf_t *conf, sched_reload_t *out, bool start, char *err,
                     size_t errlen);

/* catalog.c: the catalogs' members made zones (RFC 9432, zone/catalog.h). */
/* The members of conf's catalogs read from the store, for those not read
 * yet; the members of catalogs conf has not are forgotten. */
void sched_catalog_read(sched_t *s, const conf_t *conf, store_t *st);
/* conf (a file's) made the new generation's: with its catalogs' members.
 * 0, or <0 with err set and conf as it was. */
int sched_catalog_expand(sched_t *s, conf_t *conf, char *err, size_t errlen);
/* At start: the stored catalogs' members become zones before any is
 * loaded. */
int sched_catalog_start(sched_t *s, store_t *st, char *err, size_t errlen);
/* The catalog zone z committed a new serial: its members are read, and
 * taken in when they changed. */
void sched_catalog_commit(zstate_t *z);
/* The retiring zone z left its catalog with on-remove: purge, and is
 * idle: its records are deleted at each of its targets. */
void sched_catalog_purge(zstate_t *z);
void sched_catalog_free(sched_t *s);
