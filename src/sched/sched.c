#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns/name.h"
#include "net/sock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "sched/internal.h"

/* --- generations of the configuration ---------------------------------------
 *
 * A reload (SIGHUP) brings a new configuration while jobs of the old one
 * run in worker threads.  Each configuration is a generation, counted: the
 * scheduler holds the current one, every running job the one it started
 * with (it reads only the pointers it was given at its start).  An old
 * generation is freed when its last job ends.
 */

gen_t *sched_gen_ref(gen_t *g)
{
	g->refs++;
	return g;
}

void sched_gen_unref(gen_t *g)
{
	if (g != NULL && --g->refs == 0) {
		if (g->conf != NULL) {
			conf_free(g->conf);
			free(g->conf);
		}
		free(g);
	}
}

/* --- zones: created, started, retired -------------------------------------- */

void sched_zone_free(zstate_t *z)
{
	sched_gen_unref(z->gen);
	free(z->targets);
	free(z);
}

/* A zone's state, not yet on the loop (sched_zone_arm); NULL when out of memory. */
zstate_t *sched_zone_alloc(sched_t *s, const conf_zone_t *zc)
{
	zstate_t *z = calloc(1, sizeof(*z));
	if (z == NULL || (z->targets = calloc(zc->ntarget + 1, sizeof(*z->targets))) == NULL) {
		free(z);
		return NULL;
	}
	z->s = s;
	z->conf = zc;
	return z;
}

void sched_zone_arm(zstate_t *z, gen_t *g)
{
	sched_t *s = z->s;
	const conf_zone_t *zc = z->conf;
	z->gen = sched_gen_ref(g);
	uv_timer_init(s->loop, &z->timer);
	uv_timer_init(s->loop, &z->expire_timer);
	z->timer.data = z;
	z->expire_timer.data = z;
	z->handles = 2;
	z->qi.data = z;
	z->qi.tag = JOB_ZONE;
	/* Found, not made: sched_lanes made them before (nothing fails here). */
	z->lane = jq_lane(&s->queue, "primary", zc->primary->id, zc->primary->max_transfers);
	z->ntargets = zc->ntarget;
	for (size_t k = 0; k < z->ntargets; k++) {
		tstate_t *t = &z->targets[k];
		t->z = z;
		t->conf = zc->target[k];
		t->qi.data = t;
		t->qi.tag = JOB_TARGET;
		t->lane = jq_lane(&s->queue, "target", t->conf->id, t->conf->max_pushes);
		uv_timer_init(s->loop, &t->timer);
		uv_timer_init(s->loop, &t->check);
		t->timer.data = t;
		t->check.data = t;
		z->handles += 2;
		sched_target_check_arm(t);
	}
}

/* The zone's state from the store, and its gauges. */
void sched_zone_load(zstate_t *z, store_t *st)
{
	const conf_zone_t *zc = z->conf;
	store_zone_info_t info;
	if (store_zone_info(st, zc->name, &info) == 0 && info.has_data) {
		z->has_data = true;
		z->serial = info.serial;
		z->expire_at = info.expire_at;
		z->expired = info.expired;
		metrics_set(M_ZONE_SERIAL, info.serial, zc->domain);
		log_info("zone loaded from the store: zone=%s serial=%u%s", zc->domain, info.serial,
		         info.expired ? " (expired)" : "");
	} else {
		log_info("zone has no data yet: zone=%s", zc->domain);
	}
	metrics_set(M_ZONE_EXPIRED, z->expired ? 1 : 0, zc->domain);
	for (size_t k = 0; k < zc->ntarget; k++) {
		const conf_target_t *tc = zc->target[k];
		store_target_t ts;
		if (store_target_get(st, zc->name, tc->id, &ts) == 0) {
			engine_gauges(zc, tc, &ts);
		}
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	zstate_t *z = h->data;
	z->handles--;
	sched_zone_idle(z);
}

static void close_handles(zstate_t *z)
{
	/* Every timer's data leads back to z for on_handle_closed. */
	z->timer.data = z;
	z->expire_timer.data = z;
	uv_close((uv_handle_t *)&z->timer, on_handle_closed);
	uv_close((uv_handle_t *)&z->expire_timer, on_handle_closed);
	for (size_t k = 0; k < z->ntargets; k++) {
		z->targets[k].timer.data = z;
		z->targets[k].check.data = z;
		uv_close((uv_handle_t *)&z->targets[k].timer, on_handle_closed);
		uv_close((uv_handle_t *)&z->targets[k].check, on_handle_closed);
	}
}

/* A zone that is not current any more: its timers stop at once, its
 * running jobs end on their own; it is freed when the last has. */
void sched_zone_retire(zstate_t *z)
{
	sched_t *s = z->s;
	z->retiring = true;
	z->next = s->retiring;
	s->retiring = z;
	/* Jobs still waiting for room never run: the zone is freed once its
	 * timers are closed and its running jobs end. */
	if (jq_remove(&s->queue, &z->qi)) {
		sched_job_cancel(&z->qi);
	}
	for (size_t k = 0; k < z->ntargets; k++) {
		tstate_t *t = &z->targets[k];
		if (jq_remove(&s->queue, &t->qi)) {
			sched_job_cancel(&t->qi);
		}
		t->pending = false;
		sched_delta_unref(t->next_delta);
		t->next_delta = NULL;
	}
	close_handles(z);
}

bool sched_name_retiring(const sched_t *s, const conf_zone_t *zc)
{
	for (const zstate_t *r = s->retiring; r != NULL; r = r->next) {
		if (dns_name_equal(r->conf->name, zc->name)) {
			return true;
		}
	}
	return false;
}

/* Called whenever a retiring zone may have become idle: free it, and
 * start a zone of the same name that waited for it. */
void sched_zone_idle(zstate_t *z)
{
	if (!z->retiring || z->busy > 0 || z->handles > 0) {
		return;
	}
	sched_t *s = z->s;
	zstate_t **pp = &s->retiring;
	while (*pp != z) {
		pp = &(*pp)->next;
	}
	*pp = z->next;
	knot_dname_storage_t name;
	memcpy(name, z->conf->name, knot_dname_size(z->conf->name));
	/* A zone taken out of the configuration: its series go, now that its
	 * last job has counted (a restarted zone keeps them). */
	if (!s->stopping && conf_zone_find(s->gen->conf, name) == NULL &&
	    !sched_name_retiring(s, z->conf)) {
		metrics_forget(z->conf->domain, NULL);
		runinfo_state_error(s->info, z->conf->domain, NULL, NULL);
		for (size_t k = 0; k < z->ntargets; k++) {
			runinfo_state_error(s->info, z->conf->domain, z->targets[k].conf->id, NULL);
		}
	}
	if (z->purge && !s->stopping) {
		sched_catalog_purge(z); /* holds z's generation while it runs */
	}
	sched_zone_free(z);
	/* s->zones[i] is the zone of s->gen->conf->zone[i]. */
	const conf_zone_t *zc = conf_zone_find(s->gen->conf, name);
	zstate_t *w = zc != NULL ? s->zones[zc - s->gen->conf->zone] : NULL;
	if (w != NULL && w->waiting && !sched_name_retiring(s, w->conf)) {
		w->waiting = false;
		if (!s->stopping) {
			w->pending = false;
			sched_job_start(w);
		}
	}
	sched_hold_check(s); /* a held zone may have waited for it */
}

/* --- a pass beside the scheduler ------------------------------------------------
 *
 * `zonesync sync` beside a running daemon asks it to run the pass
 * (cli/control.c): one writer per target.  The pass runs the same code as
 * the command, in a worker thread, over the zones it names; meanwhile those
 * zones are held: their refresh and push jobs do not start (a NOTIFY, a
 * timer or a kick leaves them pending), the jobs running when the hold
 * began end first, and a held zone counts as busy, so that a reload neither
 * frees it nor starts a new zone of that name beside the pass.
 */

static bool hold_named(char *const *names, size_t n, const conf_zone_t *zc)
{
	for (size_t i = 0; i < n; i++) {
		knot_dname_storage_t name;
		if (dns_name_from_str(names[i], name) > 0 && dns_name_equal(name, zc->name)) {
			return true;
		}
	}
	return n == 0;
}

int sched_hold(sched_t *s, char *const *names, size_t n, sched_hold_cb cb, void *ctx)
{
	if (s->hold.active) {
		return -EBUSY;
	}
	zstate_t **zones = calloc(s->nzones + 1, sizeof(*zones));
	if (zones == NULL) {
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->nzones; i++) {
		zstate_t *z = s->zones[i];
		if (hold_named(names, n, z->conf)) {
			z->held = true;
			z->busy++;
			zones[k++] = z;
		}
	}
	s->hold.active = true;
	s->hold.ready = false;
	s->hold.zones = zones;
	s->hold.n = k;
	s->hold.gen = sched_gen_ref(s->gen);
	s->hold.cb = cb;
	s->hold.ctx = ctx;
	sched_hold_check(s);
	return 0;
}

void sched_hold_check(sched_t *s)
{
	if (!s->hold.active || s->hold.ready) {
		return;
	}
	for (size_t i = 0; i < s->hold.n && !s->stopping; i++) {
		const zstate_t *z = s->hold.zones[i];
		if (z->busy > 1 || z->waiting) {
			return; /* a job of its own, or of its retiring namesake, runs */
		}
	}
	s->hold.ready = true;
	s->hold.cb(s->hold.ctx, s->stopping ? NULL : s->hold.gen->conf);
}

void sched_release(sched_t *s)
{
	if (!s->hold.active) {
		return;
	}
	zstate_t **zones = s->hold.zones;
	size_t n = s->hold.n;
	gen_t *g = s->hold.gen;
	memset(&s->hold, 0, sizeof(s->hold));
	for (size_t i = 0; i < n; i++) {
		zstate_t *z = zones[i];
		z->held = false;
		z->busy--;
		/* The check below kicks every target at the serial the pass
		 * left: what was kicked meanwhile is older. */
		for (size_t k = 0; k < z->ntargets; k++) {
			tstate_t *t = &z->targets[k];
			t->pending = false;
			sched_delta_unref(t->next_delta);
			t->next_delta = NULL;
		}
		if (z->retiring) {
			sched_zone_idle(z);
		} else if (!z->waiting) {
			z->pending = false;
			sched_job_start(z);
		}
	}
	free(zones);
	sched_gen_unref(g);
}

const atomic_bool *sched_cancel(const sched_t *s)
{
	return &s->cancel;
}

int sched_lanes(sched_t *s, const conf_t *conf)
{
	for (size_t i = 0; i < conf->nprimary; i++) {
		const conf_primary_t *p = &conf->primary[i];
		if (jq_lane(&s->queue, "primary", p->id, p->max_transfers) == NULL) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < conf->ntarget; i++) {
		const conf_target_t *t = &conf->target[i];
		if (jq_lane(&s->queue, "target", t->id, t->max_pushes) == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* Jobs at once: one thread of libuv's pool fewer than it has (it reads
 * UV_THREADPOOL_SIZE at its first use, 4 when unset, at most 1024), so
 * that a `zonesync sync` pass from the control socket always finds one. */
static unsigned pool_jobs(void)
{
	const char *v = getenv("UV_THREADPOOL_SIZE");
	long n = v != NULL ? strtol(v, NULL, 10) : 4;
	n = n < 1 ? 1 : n > 1024 ? 1024 : n;
	return n > 1 ? (unsigned)n - 1 : 1;
}

sched_t *sched_new(uv_loop_t *loop, conf_t *conf)
{
	sched_t *s = calloc(1, sizeof(*s));
	gen_t *g = calloc(1, sizeof(*g));
	if (s == NULL || g == NULL) {
		free(s);
		free(g);
		return NULL;
	}
	s->loop = loop;
	jq_init(&s->queue, pool_jobs(), sched_job_run, s);
	atomic_init(&s->cancel, false);
	sock_stop_on(&s->cancel); /* SIGTERM ends transfers and UPDATEs too */
	g->conf = conf;
	s->gen = sched_gen_ref(g);
	s->zones = calloc(conf->nzone + 1, sizeof(*s->zones));
	if (s->zones == NULL || sched_lanes(s, conf) != 0) {
		s->gen->conf = NULL; /* still the caller's */
		sched_free(s);
		return NULL;
	}
	/* All allocated before any is armed: a zone on the loop has timers
	 * that must be closed before it is freed. */
	for (size_t i = 0; i < conf->nzone; i++) {
		if ((s->zones[i] = sched_zone_alloc(s, &conf->zone[i])) == NULL) {
			s->gen->conf = NULL;
			sched_free(s);
			return NULL;
		}
		s->nzones++;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		sched_zone_arm(s->zones[i], g);
	}
	return s;
}

void sched_set_runinfo(sched_t *s, runinfo_t *ri)
{
	s->info = ri;
}

const conf_t *sched_conf(const sched_t *s)
{
	return s->gen->conf;
}

int sched_start(sched_t *s, char *err, size_t errlen)
{
	store_t *st;
	if (store_open(s->gen->conf->server.state, &st, err, errlen) != 0) {
		return -EIO;
	}
	/* The stored catalogs' members first: they load and start with the
	 * others, before any primary is asked. */
	int ret = sched_catalog_start(s, st, err, errlen);
	if (ret != 0) {
		store_close(st);
		return ret;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		sched_zone_load(s->zones[i], st);
	}
	store_close(st);
	/* Check every zone now (spread when many): a change made while we
	 * were down arrives. */
	sched_first_checks_log(s->nzones);
	for (size_t i = 0; i < s->nzones; i++) {
		sched_zone_first_check(s->zones[i], s->nzones);
	}
	return 0;
}

bool sched_notify_lookup(const conf_t *conf, const knot_dname_t *qname,
                         const struct sockaddr *from, notify_zone_t *out)
{
	const conf_zone_t *zc = conf_zone_find(conf, qname);
	if (zc == NULL) {
		return false;
	}
	const conf_primary_t *p = zc->primary;
	*out = (notify_zone_t){ .handle = zc,
		                .domain = zc->domain,
		                .key = p->key != NULL ? &p->key->tsig : NULL,
		                .source_ok = conf_primary_allows(p, from) };
	for (size_t j = 0; j < p->naddr; j++) {
		if (net_same_ip((const struct sockaddr *)&p->addr[j].ss, from)) {
			out->burst = p->nzone < UINT32_MAX ? (uint32_t)p->nzone : UINT32_MAX;
		}
	}
	return true;
}

notify_source_t sched_notify_source(const conf_t *conf, const struct sockaddr *from)
{
	notify_source_t best = NOTIFY_SOURCE_NONE;
	for (size_t i = 0; i < conf->nprimary; i++) {
		const conf_primary_t *p = &conf->primary[i];
		notify_source_t s = NOTIFY_SOURCE_NONE;
		for (size_t j = 0; j < p->naddr && s == NOTIFY_SOURCE_NONE; j++) {
			if (net_same_ip((const struct sockaddr *)&p->addr[j].ss, from)) {
				s = NOTIFY_SOURCE_PRIMARY;
			}
		}
		for (size_t j = 0; j < p->nnotify_from && s == NOTIFY_SOURCE_NONE; j++) {
			if (net_prefix_match(&p->notify_from[j], from)) {
				s = NOTIFY_SOURCE_PREFIX;
			}
		}
		if (s > best && p->nzone > 0) {
			best = s;
		}
	}
	return best;
}

void sched_notify(sched_t *s, const conf_zone_t *zone)
{
	/* zone is one of the current configuration's (sched_notify_lookup),
	 * and s->zones[i] is the zone of its zone[i]. */
	const conf_t *conf = s->gen->conf;
	if (zone >= conf->zone && zone < conf->zone + conf->nzone) {
		sched_job_start(s->zones[zone - conf->zone]);
	}
}

void sched_stop(sched_t *s)
{
	s->stopping = true;
	atomic_store(&s->cancel, true);
	for (jq_item_t *it; (it = jq_pop_any(&s->queue)) != NULL;) {
		sched_job_cancel(it);
	}
	for (size_t i = 0; i < s->nzones; i++) {
		close_handles(s->zones[i]);
	}
	sched_hold_check(s); /* a pass waiting for its zones is not run */
}

void sched_free(sched_t *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		sched_zone_free(s->zones[i]);
	}
	while (s->retiring != NULL) {
		zstate_t *z = s->retiring;
		s->retiring = z->next;
		sched_zone_free(z);
	}
	free(s->zones);
	jq_free(&s->queue);
	free(s->hold.zones); /* none: the loop ran dry, so any pass ended */
	sched_gen_unref(s->hold.gen);
	sched_gen_unref(s->gen);
	sched_catalog_free(s);
	sock_stop_on(NULL);
	free(s);
}

