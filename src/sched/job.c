/* The jobs: a zone's refresh and each target's push, on the worker pool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns/name.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "sched/internal.h"

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

/* Up to 10% earlier, so that many zones loaded together spread out. */
static uint64_t jitter_ms(uint32_t secs)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		r = (uint32_t)time(NULL);
	}
	uint64_t ms = (uint64_t)secs * 1000;
	return ms - (ms / 10) * (r % 1001) / 1000;
}

/* --- the zone's job (worker thread): refresh from the primary ------------- */

static void job_run(uv_work_t *w)
{
	zstate_t *z = w->data;
	store_t *st;
	char err[512];
	memset(&z->job, 0, sizeof(z->job));
	if (store_open(z->job_gen->conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("zone check failed: zone=%s error=%s", z->job_zc->domain, LOGV(err));
		z->job.state_error = strdup(err);
		z->job.r.has_data = z->has_data;
		z->job.r.serial = z->serial;
		z->job.r.retry = z->retry > 0 ? z->retry : z->job_zc->retry_min;
		return;
	}
	sync_refresh(st, z->job_zc, &z->job.r, &z->job.delta);
	/* refresh logs a failed write and goes on: the zone fails here. */
	if (store_error(st) != NULL) {
		z->job.state_error = strdup(store_error(st));
		z->job.r.ok = false;
	}
	store_close(st);
}

/*
 * A job could not read or write the state (error; NULL or "" when it could): the
 * zone (t NULL) or target is failing until a job can again.  state.db
 * cannot say so itself: the daemon's runinfo (STATE/daemon.json) tells
 * status, the gauges tell the metrics.
 */
static void state_error(zstate_t *z, tstate_t *t, const char *error)
{
	const char *zone = z->conf->domain, *target = t != NULL ? t->conf->id : NULL;
	bool failing = error != NULL && error[0] != '\0';
	bool *was = t != NULL ? &t->state_failing : &z->state_failing;
	if (failing && !*was) {
		log_error("cannot read or write the state: zone=%s%s%s error=%s; failing until "
		          "the state can be written",
		          zone, t != NULL ? " target=" : "", t != NULL ? target : "", LOGV(error));
	} else if (!failing && *was) {
		log_notice("the state is written again: zone=%s%s%s", zone,
		           t != NULL ? " target=" : "", t != NULL ? target : "");
	}
	*was = failing;
	runinfo_state_error(z->s->info, zone, target, failing ? error : NULL);
	if (t != NULL && failing) {
		metrics_set(M_TARGET_OK, 0, zone, target);
	}
}

/* --- target jobs ----------------------------------------------------------
 *
 * In the daemon every (zone, target) pair is pushed by its own job, so a
 * slow or failing provider never holds up another: the zone's job ends
 * once the snapshot is committed and hands the IXFR delta to each target
 * job (shared, counted).  A target whose job is still running gets one
 * more run afterwards, with the newest delta; one that failed is tried
 * again on its own timer (10 s, doubling, up to the zone's retry).  One
 * refused by a safety limit is not: it waits for a new serial or an
 * operator's `sync --force` (the engine does not even read it again at
 * the serial it refused).
 *
 * Every reconcile-interval (jittered, up to 10% earlier) the target's
 * check timer asks for a full push: its live records are read and what
 * differs from the snapshot's view is put back, in sync or not (drift).
 * Any push that read the live records restarts that timer; a refused
 * target is not checked on its own.
 */

shared_delta_t *sched_delta_ref(shared_delta_t *d)
{
	if (d != NULL) {
		d->refs++;
	}
	return d;
}

void sched_delta_unref(shared_delta_t *d)
{
	if (d != NULL && --d->refs == 0) {
		engine_delta_free(&d->d);
		free(d);
	}
}

static void target_run(uv_work_t *w)
{
	tstate_t *t = w->data;
	const conf_zone_t *zc = t->job_zc;
	const conf_target_t *tc = t->job_tc;
	store_t *st;
	char err[512];
	t->failed = true;
	t->refused = t->read = false;
	t->job_state_error = NULL;
	if (store_open(t->job_gen->conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("target failed: zone=%s target=%s error=%s", zc->domain, tc->id,
		          LOGV(err));
		t->job_state_error = strdup(err);
		return;
	}
	engine_zone_t ez = { .store = st,
		             .serial = t->serial,
		             .delta = t->delta != NULL ? &t->delta->d : NULL,
		             .primary = t->primary };
	store_target_t ts;
	if (t->job_reconcile && store_target_get(st, zc->name, tc->id, &ts) == 0 && !ts.dirty) {
		ts.dirty = true;
		store_target_set(st, zc->name, tc->id, &ts);
	}
	engine_opts_t eo = { .full = t->job_full, .topts.cancel = &t->z->s->cancel };
	engine_result_t r;
	t->failed = engine_push(&ez, zc, tc, &eo, &r) != 0;
	t->refused = r.refused;
	t->stood_down = r.stood_down;
	t->provider_serial = r.provider_serial;
	t->read = r.ret == 0 && !r.uptodate && !r.incremental && !r.notifier;
	/* The engine logs a state it could not record: a failure here. */
	if (store_error(st) != NULL) {
		t->job_state_error = strdup(store_error(st));
		t->failed = true;
	}
	engine_result_free(&r);
	engine_zone_free(&ez);
	store_close(st);
}

static void target_start(tstate_t *t);
void sched_target_kick(tstate_t *t, uint32_t serial, shared_delta_t *delta, const char *primary);
void sched_zone_idle(zstate_t *z);

static void on_target_timer(uv_timer_t *h)
{
	tstate_t *t = h->data;
	sched_target_kick(t, t->z->serial, NULL, t->z->primary);
}

static void on_check_timer(uv_timer_t *h)
{
	tstate_t *t = h->data;
	sched_target_check_arm(t);
	if (t->refused || !t->z->has_data) {
		return;
	}
	t->full = true;
	sched_target_kick(t, t->z->serial, NULL, t->z->primary);
}

void sched_target_check_arm(tstate_t *t)
{
	uint32_t secs = target_reconcile_interval(t->conf, t->z->conf);
	if (secs > 0) {
		uv_timer_start(&t->check, on_check_timer, jitter_ms(secs), 0);
	}
}

/* The target's job is over (or never started): what it held goes. */
static void target_job_end(tstate_t *t)
{
	t->running = false;
	t->z->busy--;
	sched_gen_unref(t->job_gen);
	t->job_gen = NULL;
	sched_delta_unref(t->delta);
	t->delta = NULL;
}

static void target_end(tstate_t *t)
{
	zstate_t *z = t->z;
	state_error(z, t, t->job_state_error);
	free(t->job_state_error);
	t->job_state_error = NULL;
	if (z->s->stopping || z->retiring) {
		sched_delta_unref(t->next_delta);
		t->next_delta = NULL;
		t->pending = false;
		sched_zone_idle(z);
		return;
	}
	if (t->pending && !z->held) {
		t->pending = false;
		t->serial = t->next_serial;
		memcpy(t->primary, t->next_primary, sizeof(t->primary));
		t->delta = t->next_delta;
		t->next_delta = NULL;
		target_start(t);
		return;
	}
	if (t->read) {
		sched_target_check_arm(t);
	}
	if (t->stood_down && (!t->asked || t->asked_serial != t->provider_serial)) {
		/* Another host pushed a newer serial: ours may be behind. */
		t->asked = true;
		t->asked_serial = t->provider_serial;
		sched_job_start(z);
	}
	if (t->failed && !t->refused) {
		uint32_t again = t->backoff == 0 ? 10 : t->backoff * 2;
		uint32_t cap = z->retry > 10 ? z->retry : 10;
		t->backoff = again < cap ? again : cap;
		uv_timer_start(&t->timer, on_target_timer, (uint64_t)t->backoff * 1000, 0);
	} else {
		t->backoff = 0;
	}
}

static void target_done(uv_work_t *w, int status)
{
	tstate_t *t = w->data;
	sched_t *s = t->z->s;
	(void)status;
	jq_done(&s->queue, t->lane);
	target_job_end(t);
	target_end(t); /* may free t's zone */
	sched_hold_check(s);
}

/* Queued in the target's lane: it runs when the target has room. */
static void target_start(tstate_t *t)
{
	zstate_t *z = t->z;
	uv_timer_stop(&t->timer);
	t->running = true;
	z->busy++;
	jq_push(&z->s->queue, &t->qi, t->lane);
}

/* Its turn: what it reads is taken now, the newest. */
static void target_run_now(tstate_t *t)
{
	zstate_t *z = t->z;
	t->work.data = t;
	t->job_gen = sched_gen_ref(z->gen);
	t->job_zc = z->conf;
	t->job_tc = t->conf;
	t->job_reconcile = t->reconcile;
	t->reconcile = false;
	t->job_full = t->full;
	t->full = false;
	if (uv_queue_work(z->s->loop, &t->work, target_run, target_done) != 0) {
		jq_done(&z->s->queue, t->lane);
		target_job_end(t);
		uv_timer_start(&t->timer, on_target_timer, 1000, 0);
	}
}

/* Bring the target to serial; delta: the IXFR that led there, or NULL. */
void sched_target_kick(tstate_t *t, uint32_t serial, shared_delta_t *delta, const char *primary)
{
	if (t->z->s->stopping || t->z->retiring) {
		return;
	}
	if (t->qi.queued) {
		/* Not begun: it pushes the newest serial instead. */
		t->serial = serial;
		snprintf(t->primary, sizeof(t->primary), "%s", primary);
		sched_delta_unref(t->delta);
		t->delta = sched_delta_ref(delta);
		return;
	}
	if (t->running || t->z->held) {
		t->pending = true;
		t->next_serial = serial;
		snprintf(t->next_primary, sizeof(t->next_primary), "%s", primary);
		sched_delta_unref(t->next_delta);
		t->next_delta = sched_delta_ref(delta);
		return;
	}
	t->serial = serial;
	snprintf(t->primary, sizeof(t->primary), "%s", primary);
	t->delta = sched_delta_ref(delta);
	target_start(t);
}

/* --- the loop thread ----------------------------------------------------- */

void sched_job_start(zstate_t *z);

static void on_timer(uv_timer_t *t)
{
	sched_job_start(t->data);
}

/* The alarm at expire: logged once, the data kept. */
static void mark_expired(zstate_t *z)
{
	if (!z->expired && z->has_data) {
		z->expired = true;
		metrics_set(M_ZONE_EXPIRED, 1, z->conf->domain);
		log_error("zone expired: zone=%s serial=%u: the primary has not answered for the "
		          "SOA expire time; targets keep serving the last good data",
		          z->conf->domain, z->serial);
	}
}

static void on_expire(uv_timer_t *t)
{
	mark_expired(t->data);
}

static void job_end(zstate_t *z)
{
	struct job *job = &z->job;
	const sync_refresh_t *j = &job->r;
	z->running = false;
	z->busy--;
	sched_gen_unref(z->job_gen);
	z->job_gen = NULL;
	state_error(z, NULL, job->state_error);
	free(job->state_error);
	job->state_error = NULL;
	metrics_set(M_ZONE_OK, j->ok ? 1 : 0, z->conf->domain);
	shared_delta_t *delta = NULL;
	if (job->delta != NULL && (delta = calloc(1, sizeof(*delta))) != NULL) {
		delta->d = *job->delta;
	} else if (job->delta != NULL) {
		engine_delta_free(job->delta);
	}
	free(job->delta);
	job->delta = NULL;
	sched_delta_ref(delta);
	if (j->primary[0] != '\0') {
		memcpy(z->primary, j->primary, sizeof(z->primary));
	}
	if (j->has_data && !z->s->stopping && !z->retiring) {
		for (size_t i = 0; i < z->ntargets; i++) {
			sched_target_kick(&z->targets[i], j->serial, delta, z->primary);
		}
	}
	sched_delta_unref(delta);
	if (z->retiring) {
		sched_zone_idle(z);
		return;
	}
	bool was_expired = z->expired;
	/* A catalog that committed a new serial: its members may change. */
	bool catalog = z->conf->catalog != NULL && j->ok && j->has_data &&
	               (!z->has_data || j->serial != z->serial);
	z->has_data = j->has_data;
	z->serial = j->serial;
	z->retry = j->retry;
	if (j->ok) {
		z->expire_at = j->expire_at;
		z->expired = false;
		metrics_set(M_ZONE_EXPIRED, 0, z->conf->domain);
		if (was_expired) {
			log_notice("zone no longer expired: zone=%s serial=%u", z->conf->domain,
			           z->serial);
		}
	} else if (j->expired) {
		mark_expired(z);
	}
	if (z->s->stopping) {
		return;
	}
	if (catalog) {
		sched_catalog_commit(z); /* may take a new generation: z stays */
	}
	if (z->pending) {
		z->pending = false;
		sched_job_start(z);
		return;
	}
	uint32_t next = j->ok ? j->refresh : j->retry;
	/* A breach the primary repeats (a limit, a serial going back) backs
	 * off, doubling up to the refresh interval; its NOTIFY still counts. */
	z->fails = j->final ? z->fails + 1 : 0;
	if (z->fails > 1) {
		uint32_t cap = j->refresh > next ? j->refresh : next;
		uint64_t b = (uint64_t)next << (z->fails - 1 < 6 ? z->fails - 1 : 6);
		next = b < cap ? (uint32_t)b : cap;
	}
	uv_timer_start(&z->timer, on_timer, jitter_ms(next), 0);
	if (z->has_data && !z->expired && z->expire_at > 0) {
		int64_t left = z->expire_at - unix_now();
		uv_timer_start(&z->expire_timer, on_expire, left > 0 ? (uint64_t)left * 1000 : 0,
		               0);
	}
}

static void job_done(uv_work_t *w, int status)
{
	zstate_t *z = w->data;
	sched_t *s = z->s;
	(void)status;
	jq_done(&s->queue, z->lane);
	job_end(z); /* may free z */
	sched_hold_check(s);
}

void sched_job_start(zstate_t *z)
{
	if (z->s->stopping || z->retiring) {
		return;
	}
	if (z->qi.queued) {
		return; /* its check has not begun: it will see what this one would */
	}
	if (z->running || z->waiting || z->held) {
		z->pending = true; /* one more check after this one, nothing more */
		return;
	}
	uv_timer_stop(&z->timer);
	z->running = true;
	z->busy++;
	jq_push(&z->s->queue, &z->qi, z->lane);
}

/* Its turn in its primary's lane. */
static void zone_run_now(zstate_t *z)
{
	z->work.data = z;
	z->job_gen = sched_gen_ref(z->gen);
	z->job_zc = z->conf;
	if (uv_queue_work(z->s->loop, &z->work, job_run, job_done) != 0) {
		jq_done(&z->s->queue, z->lane);
		z->running = false;
		z->busy--;
		sched_gen_unref(z->job_gen);
		z->job_gen = NULL;
		uv_timer_start(&z->timer, on_timer, 1000, 0);
	}
}

void sched_job_run(void *ctx, jq_item_t *it)
{
	(void)ctx;
	if (it->tag == JOB_ZONE) {
		zone_run_now(it->data);
	} else {
		target_run_now(it->data);
	}
}

void sched_job_cancel(jq_item_t *it)
{
	if (it->tag == JOB_ZONE) {
		zstate_t *z = it->data;
		z->running = false;
		z->busy--;
	} else {
		tstate_t *t = it->data;
		target_job_end(t); /* no generation taken yet: NULL is let go */
	}
}

/*
 * The first checks without a NOTIFY (a start, zones added by a reload).
 * Up to FIRST_AT_ONCE zones are checked at once, as always: tests, and a
 * user with a few zones, expect the state at once.  More are spread at
 * random over n / FIRST_PER_SEC seconds (10,000 zones: 50 s), but never
 * past the zone's refresh-min-interval: the queue would bound the load
 * anyway, but checks started together end together, and their refresh
 * timers (jittered by only 10%) would keep them bunched for ever; spread
 * at the start they stay spread.  A NOTIFY meanwhile checks at once.
 */
#define FIRST_AT_ONCE 200
#define FIRST_PER_SEC 200

void sched_first_checks_log(size_t n)
{
	if (n > FIRST_AT_ONCE) {
		log_info("first checks spread: zones=%zu over=%zus (at most each zone's "
		         "refresh-min-interval); a NOTIFY checks its zone at once",
		         n, n / FIRST_PER_SEC);
	}
}

void sched_zone_first_check(zstate_t *z, size_t n)
{
	if (n <= FIRST_AT_ONCE) {
		sched_job_start(z);
		return;
	}
	uint64_t window = (uint64_t)n * 1000 / FIRST_PER_SEC;
	uint64_t cap = (uint64_t)z->conf->refresh_min * 1000;
	if (cap > 0 && window > cap) {
		window = cap;
	}
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		r = (uint32_t)rand();
	}
	uv_timer_start(&z->timer, on_timer, window > 0 ? r % window : 0, 0);
}
