#include "sched/sched.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "dns/serial.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "target/engine.h"
#include "target/exec/exec.h"
#include "target/zonefile/zonefile.h"
#include "xfr/xfr.h"

#define SOA_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000

typedef struct zstate zstate_t;
typedef struct tstate tstate_t;

/* What a job hands back to the loop thread. */
struct job {
	bool ok; /* the primary was checked */
	bool has_data;
	uint32_t serial;
	uint32_t refresh, retry, expire; /* from the SOA, clamped */
	int64_t expire_at;
	bool expired;
	engine_delta_t *delta; /* the IXFR committed, handed to the target jobs */
	char primary[64];      /* the address that answered */
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
	bool waiting;     /* a retiring zone of the same name still runs */
	zstate_t *next;   /* in the list of retiring zones */
	uv_timer_t timer;
	uv_timer_t expire_timer;
	uv_work_t work;
	bool running, pending, stopping;
	bool has_data, expired;
	uint32_t serial;
	uint32_t retry;
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
	uv_timer_t timer; /* the next try after a failure */
	bool running, pending, failed;
	/* Its configuration changed in a reload: the next push compares it
	 * with its live records (as if dirty), so the new keys take effect. */
	bool reconcile, job_reconcile;
	uint32_t serial, next_serial;
	struct shared_delta_s *delta, *next_delta;
	uint32_t backoff; /* seconds */
	char primary[64], next_primary[64];
};

struct sched {
	uv_loop_t *loop;
	gen_t *gen; /* the current configuration */
	zstate_t **zones; /* one per zone of the current configuration */
	size_t nzones;
	zstate_t *retiring;
	bool stopping;
	atomic_bool cancel; /* pushes stop before their next request */
};

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
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

/* An address as text, without its port (what hooks want to see). */
static void addr_str(const conf_addr_t *a, char *buf, size_t size)
{
	const struct sockaddr_storage *ss = &a->ss;
	const void *ip = ss->ss_family == AF_INET6
	                         ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
	                         : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, ip, buf, (socklen_t)size) == NULL) {
		snprintf(buf, size, "?");
	}
}

/* --- the job (worker thread) ------------------------------------------- */

static void soa_timers(struct job *j, const conf_zone_t *zc, uint32_t refresh, uint32_t retry,
                       uint32_t expire)
{
	j->refresh = clamp(refresh, zc->refresh_min, zc->refresh_max);
	j->retry = clamp(retry, zc->retry_min, zc->retry_max);
	j->expire = clamp(expire, zc->expire_min, zc->expire_max);
}

static void timers_from_zone(struct job *j, const conf_zone_t *zc, const zone_t *z)
{
	zone_rrset_t soa;
	if (zone_find(z, zc->name, KNOT_RRTYPE_SOA, &soa)) {
		const knot_rdata_t *rd = soa.rr[0].rd;
		soa_timers(j, zc, knot_soa_refresh(rd), knot_soa_retry(rd), knot_soa_expire(rd));
	}
}

/* The zonefile target: the whole snapshot written when behind.  0 done,
 * 1 up to date, <0 failed. */
static int push_zonefile(store_t *st, const conf_zone_t *zc, const conf_target_t *t,
                         uint32_t serial, engine_zone_t *ez)
{
	store_target_t ts;
	char path[4096], err[512];
	if (store_target_get(st, zc->name, t->id, &ts) != 0 ||
	    zonefile_path(conf_target_str(t, "path"), zc->domain, path, sizeof(path)) != 0) {
		log_error("target failed: zone=%s target=%s error=state or path", zc->domain, t->id);
		return -EIO;
	}
	if (ts.has_serial && ts.serial == serial && !ts.dirty && access(path, F_OK) == 0) {
		return 1; /* up to date: not rewritten */
	}
	const zone_t *snap = engine_zone_snapshot(ez, zc->name, err, sizeof(err));
	if (snap == NULL) {
		log_error("target failed: zone=%s target=%s error=%s", zc->domain, t->id, err);
		return -EIO;
	}
	int ret = zonefile_write(path, snap, err, sizeof(err));
	if (ret == 0) {
		ts = (store_target_t){ .has_serial = true, .serial = serial, .last_ok = unix_now() };
		log_info("target updated: zone=%s target=%s serial=%u path=%s", zc->domain, t->id,
		         serial, path);
	} else {
		ts.dirty = true;
		snprintf(ts.last_error, sizeof(ts.last_error), "%.*s",
		         (int)sizeof(ts.last_error) - 1, err);
		log_error("target failed: zone=%s target=%s error=%s", zc->domain, t->id, err);
	}
	store_target_set(st, zc->name, t->id, &ts);
	return ret;
}

/* The exec target: run its command once per new serial (again after a
 * failure: a hook that failed has not seen the change).  As push_zonefile. */
static int push_exec(store_t *st, const conf_zone_t *zc, const conf_target_t *t, uint32_t serial,
                     const engine_delta_t *delta, const char *primary)
{
	store_target_t ts;
	if (store_target_get(st, zc->name, t->id, &ts) != 0) {
		log_error("target failed: zone=%s target=%s error=cannot read its state", zc->domain,
		          t->id);
		return -EIO;
	}
	if (ts.has_serial && ts.serial == serial && !ts.dirty) {
		return 1; /* up to date */
	}
	exec_event_t ev = { .zone = zc->domain,
		            .serial = serial,
		            .has_previous = ts.has_serial,
		            .previous = ts.serial,
		            .primary = primary != NULL ? primary : "" };
	zone_diff_t d = { 0 };
	if (delta != NULL && ts.has_serial && ts.serial == delta->from &&
	    zone_diff(&delta->old, &delta->new, &d) == 0) {
		ev.has_counts = true;
		ev.added = d.added;
		ev.changed = d.replaced;
		ev.deleted = d.deleted;
	}
	zone_diff_free(&d);
	exec_result_t res;
	char err[512];
	int ret = exec_run(t, &ev, &res, err, sizeof(err));
	/* The output's last 400 bytes as one log field, newlines shown as \n. */
	char out[1024];
	size_t o = 0, len = strlen(res.output);
	for (const char *p = res.output + (len > 400 ? len - 400 : 0);
	     *p != '\0' && o + 3 < sizeof(out); p++) {
		if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
		}
	}
	out[o] = '\0';
	if (ret == 0) {
		ts = (store_target_t){ .has_serial = true, .serial = serial, .last_ok = unix_now() };
		log_info("target updated: zone=%s target=%s serial=%u command exit=0 time=%.3fs "
		         "output_bytes=%zu output=\"%s\"",
		         zc->domain, t->id, serial, res.secs, res.output_total, out);
	} else {
		ts.dirty = true;
		snprintf(ts.last_error, sizeof(ts.last_error), "%.*s", (int)sizeof(ts.last_error) - 1, err);
		log_error("target failed: zone=%s target=%s serial=%u error=%s output_bytes=%zu "
		          "output=\"%s\"",
		          zc->domain, t->id, serial, err, res.output_total, out);
	}
	store_target_set(st, zc->name, t->id, &ts);
	return ret;
}

/* Targets without provider ops: zone files and commands. */
static int push_plain(store_t *st, const conf_zone_t *zc, const conf_target_t *t, uint32_t serial,
                      const engine_delta_t *delta, const char *primary, engine_zone_t *ez)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret;
	if (strcmp(t->type->name, "zonefile") == 0) {
		ret = push_zonefile(st, zc, t, serial, ez);
	} else if (strcmp(t->type->name, "exec") == 0) {
		ret = push_exec(st, zc, t, serial, delta, primary);
	} else {
		return 0; /* a type whose provider has not arrived (warned at start) */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	store_target_t ts;
	if (store_target_get(st, zc->name, t->id, &ts) == 0) {
		if (ret > 0) {
			engine_gauges(zc, t, &ts);
		} else {
			double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
			engine_account(zc, t, &ts, ret, false, secs, NULL, NULL);
		}
	}
	return ret < 0 ? ret : 0;
}

/* Bring every target of the zone to the snapshot; the number that failed
 * (refusals by a safety limit counted apart). */
static void push_targets(store_t *st, const conf_zone_t *zc, uint32_t serial,
                         const engine_delta_t *delta, const sched_pass_opts_t *po,
                         sched_pass_t *out)
{
	engine_zone_t ez = { .store = st, .serial = serial, .delta = delta };
	engine_opts_t eo = { 0 };
	if (po != NULL) {
		eo = po->engine;
	}
	for (size_t i = 0; i < zc->ntarget; i++) {
		const conf_target_t *t = zc->target[i];
		if (po != NULL && po->target != NULL && strcmp(po->target, t->id) != 0) {
			continue;
		}
		if (t->type->ops == NULL) {
			if (!eo.plan && push_plain(st, zc, t, serial, delta, out->primary, &ez) != 0) {
				out->failed++;
			}
			continue;
		}
		engine_result_t r;
		int ret = engine_push(&ez, zc, t, &eo, &r);
		if (ret != 0) {
			if (r.refused) {
				out->refused++;
			} else {
				out->failed++;
			}
		}
		if (po != NULL && po->on_target != NULL) {
			po->on_target(po->ctx, zc, t, &ez, &r);
		}
		engine_result_free(&r);
	}
	engine_zone_free(&ez);
}

/* The whole RRsets an IXFR touches, read before (old) or after (new) it. */
static int delta_sets(store_t *st, const conf_zone_t *zc, const xfr_result_t *res, zone_t *out)
{
	zone_t which;
	zone_init(&which);
	zone_set_apex(&which, zc->name);
	int ret = 0;
	for (size_t i = 0; i < res->nsteps && ret == 0; i++) {
		const zone_t *parts[2] = { &res->steps[i].del, &res->steps[i].add };
		for (int k = 0; k < 2 && ret == 0; k++) {
			for (size_t r = 0; r < parts[k]->count && ret == 0; r++) {
				const zone_rr_t *rr = &parts[k]->rr[r];
				ret = zone_add_keyed(&which, rr->key, rr->keylen, rr->type, rr->ttl,
				                     rr->rd);
			}
		}
	}
	if (ret == 0) {
		ret = zone_finish(&which);
	}
	if (ret == 0) {
		ret = store_zone_load_sets(st, zc->name, &which, out);
	}
	zone_free(&which);
	return ret;
}

/* Transfer from peer and commit.  0, or <0 with err set. */
static int transfer(store_t *st, const conf_zone_t *zc, const xfr_peer_t *peer,
                    const store_zone_info_t *info, struct job *j, engine_delta_t *delta,
                    bool *has_delta, char *err, size_t errlen)
{
	xfr_limits_t lim = { .max_records = zc->xfr_max_records,
		             .max_bytes = zc->xfr_max_bytes,
		             .timeout_ms = zc->xfr_timeout * 1000,
		             .io_timeout_ms = IO_TIMEOUT_MS };
	xfr_result_t res;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = -ENOENT;
	const char *kind = "AXFR";
	char ixfr_err[512] = "";
	if (info->has_data) {
		kind = "IXFR";
		ret = xfr_transfer(peer, zc->name, &info->serial, &lim, &res, ixfr_err,
		                   sizeof(ixfr_err));
		if (ret == 0 && res.kind == XFR_INCREMENTAL) {
			/* The touched RRsets before and after: what incremental
			 * pushes send, without reading the providers. */
			bool sets = delta_sets(st, zc, &res, &delta->old) == 0;
			ret = store_zone_apply(st, zc->name, res.steps, res.nsteps, ixfr_err,
			                       sizeof(ixfr_err));
			if (ret == 0 && sets && delta_sets(st, zc, &res, &delta->new) == 0) {
				delta->from = info->serial;
				delta->to = res.serial;
				*has_delta = true;
			} else if (sets) {
				zone_free(&delta->old);
			}
			if (ret == -EINVAL) {
				log_warning("IXFR does not apply, falling back to AXFR: zone=%s "
				            "error=%s",
				            zc->domain, ixfr_err);
			}
			if (ret == 0) {
				timers_from_zone(j, zc, &res.steps[res.nsteps - 1].add);
			}
		} else if (ret == 0 && res.kind == XFR_FULL) {
			kind = "IXFR (full zone)";
			ret = store_zone_replace(st, zc->name, &res.zone, ixfr_err,
			                         sizeof(ixfr_err));
			if (ret == 0) {
				timers_from_zone(j, zc, &res.zone);
			}
		} else if (ret == 0) {
			kind = "IXFR (up to date)";
		} else {
			log_notice("IXFR failed, trying AXFR: zone=%s error=%s", zc->domain,
			           ixfr_err);
		}
		if (ret == 0 && res.kind != XFR_UPTODATE) {
			j->serial = res.serial;
		} else if (ret != 0) {
			xfr_result_free(&res);
		}
		metrics_add(M_TRANSFERS, 1, zc->domain, "ixfr", ret == 0 ? "ok" : "failed");
	}
	if (ret != 0) {
		kind = "AXFR";
		ret = xfr_transfer(peer, zc->name, NULL, &lim, &res, err, errlen);
		if (ret == 0) {
			ret = store_zone_replace(st, zc->name, &res.zone, err, errlen);
		}
		if (ret == 0) {
			timers_from_zone(j, zc, &res.zone);
			j->serial = res.serial;
		}
		metrics_add(M_TRANSFERS, 1, zc->domain, "axfr", ret == 0 ? "ok" : "failed");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret == 0) {
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		log_info("zone transferred: zone=%s kind=%s serial=%u from=%u records=%zu "
		         "messages=%zu bytes=%zu time=%.3fs",
		         zc->domain, kind, res.serial, info->has_data ? info->serial : 0,
		         res.records, res.messages, res.bytes, secs);
		j->has_data = true;
		metrics_add(M_TRANSFER_RECORDS, (double)res.records, zc->domain);
		metrics_add(M_TRANSFER_BYTES, (double)res.bytes, zc->domain);
		/* Providers hold one TTL per RRset: say which way we collapse. */
		size_t collapsed = res.zone.stats.ttl_collapsed;
		for (size_t i = 0; i < res.nsteps; i++) {
			collapsed += res.steps[i].add.stats.ttl_collapsed;
		}
		if (collapsed > 0) {
			log_warning("records of one RRset with different TTLs, the lowest kept: "
			            "zone=%s serial=%u rrsets=%zu",
			            zc->domain, res.serial, collapsed);
		}
	}
	xfr_result_free(&res);
	return ret;
}

/* One pass over a zone: SOA check, transfer, targets. */
static void pass(const conf_t *conf, const conf_zone_t *zc, const sched_pass_opts_t *po,
                 struct job *j, sched_pass_t *out, engine_delta_t **delta_out)
{
	memset(j, 0, sizeof(*j));
	memset(out, 0, sizeof(*out));
	soa_timers(j, zc, zc->refresh_min, zc->retry_min, zc->expire_max);

	store_t *st;
	char err[512];
	if (store_open(conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("zone check failed: zone=%s error=%s", zc->domain, err);
		out->failed = 1;
		return;
	}
	store_zone_info_t info;
	store_soa_t soa;
	if (store_zone_info(st, zc->name, &info) != 0) {
		log_error("zone check failed: zone=%s error=cannot read the store", zc->domain);
		store_close(st);
		out->failed = 1;
		return;
	}
	j->has_data = info.has_data;
	j->serial = info.serial;
	j->expire_at = info.expire_at;
	j->expired = info.expired;
	if (info.has_data && store_zone_soa(st, zc->name, &soa) == 0) {
		soa_timers(j, zc, soa.refresh, soa.retry, soa.expire);
	}

	/* The primaries in order: the first that answers the SOA query. */
	const conf_primary_t *p = zc->primary;
	xfr_peer_t peer = { .key = p->key ? &p->key->tsig : NULL };
	uint32_t serial = 0;
	int ret = -EHOSTUNREACH;
	engine_delta_t delta = { 0 };
	bool has_delta = false;
	for (size_t i = 0; i < p->naddr && ret != 0; i++) {
		peer.addr = &p->addr[i];
		ret = xfr_soa_query(&peer, zc->name, SOA_TIMEOUT_MS, &serial, err, sizeof(err));
		if (ret != 0) {
			log_warning("SOA query failed: zone=%s error=%s", zc->domain, err);
		}
	}
	bool answered = ret == 0;
	if (ret != 0) {
		metrics_add(M_SOA_CHECKS, 1, zc->domain, "failed");
	} else {
		metrics_set(M_PRIMARY_SERIAL, serial, zc->domain);
	}
	if (ret == 0) {
		serial_order_t ord = info.has_data ? serial_cmp(info.serial, serial) : SERIAL_LT;
		metrics_add(M_SOA_CHECKS, 1, zc->domain,
		            ord == SERIAL_EQ ? "same" : ord == SERIAL_GT ? "older" : "newer");
		if (ord == SERIAL_EQ) {
			log_debug("zone up to date: zone=%s serial=%u", zc->domain, serial);
		} else if (ord == SERIAL_GT) {
			log_warning("primary serial is older than ours, keeping ours: zone=%s "
			            "primary=%u ours=%u",
			            zc->domain, serial, info.serial);
		} else {
			/* Newer, or 2^31 away (RFC 1982 undefined): transfer. */
			ret = transfer(st, zc, &peer, &info, j, &delta, &has_delta, err,
			               sizeof(err));
			if (ret != 0) {
				log_error("zone transfer failed: zone=%s error=%s", zc->domain,
				          err);
			}
		}
	}
	int64_t now = unix_now();
	store_zone_checked(st, zc->name, now, answered ? &serial : NULL, ret == 0 ? NULL : err);
	if (ret == 0) {
		j->ok = true;
		j->expired = false;
		j->expire_at = now + j->expire;
		store_zone_timers(st, zc->name, now, j->expire_at, false);
	} else if (j->has_data && j->expire_at > 0 && now >= j->expire_at) {
		j->expired = true;
		store_zone_timers(st, zc->name, info.refreshed, info.expire_at, true);
	}
	out->checked = ret == 0;
	if (ret == 0 && peer.addr != NULL) {
		addr_str(peer.addr, out->primary, sizeof(out->primary));
		memcpy(j->primary, out->primary, sizeof(j->primary));
	}
	out->has_data = j->has_data;
	out->serial = j->serial;
	if (j->has_data) {
		metrics_set(M_ZONE_SERIAL, j->serial, zc->domain);
	}
	if (delta_out != NULL) {
		/* The daemon pushes each target in its own job. */
		*delta_out = NULL;
		if (has_delta && (*delta_out = malloc(sizeof(delta))) != NULL) {
			**delta_out = delta;
			has_delta = false;
		}
	} else if (j->has_data) {
		push_targets(st, zc, j->serial, has_delta ? &delta : NULL, po, out);
	}
	if (has_delta) {
		engine_delta_free(&delta);
	}
	store_close(st);
}

int sched_pass(const conf_t *conf, const conf_zone_t *zc, const sched_pass_opts_t *po,
               sched_pass_t *out)
{
	struct job j;
	pass(conf, zc, po, &j, out, NULL);
	return out->checked && out->has_data && out->failed == 0 && out->refused == 0 ? 0 : -1;
}

static void job_run(uv_work_t *w)
{
	zstate_t *z = w->data;
	sched_pass_t out;
	pass(z->job_gen->conf, z->job_zc, NULL, &z->job, &out, &z->job.delta);
}

/* --- generations of the configuration ---------------------------------------
 *
 * A reload (SIGHUP) brings a new configuration while jobs of the old one
 * run in worker threads.  Each configuration is a generation, counted: the
 * scheduler holds the current one, every running job the one it started
 * with (it reads only the pointers it was given at its start).  An old
 * generation is freed when its last job ends.
 */

static gen_t *gen_ref(gen_t *g)
{
	g->refs++;
	return g;
}

static void gen_unref(gen_t *g)
{
	if (g != NULL && --g->refs == 0) {
		if (g->conf != NULL) {
			conf_free(g->conf);
			free(g->conf);
		}
		free(g);
	}
}

/* --- target jobs ----------------------------------------------------------
 *
 * In the daemon every (zone, target) pair is pushed by its own job, so a
 * slow or failing provider never holds up another: the zone's job ends
 * once the snapshot is committed and hands the IXFR delta to each target
 * job (shared, counted).  A target whose job is still running gets one
 * more run afterwards, with the newest delta; one that failed is tried
 * again on its own timer (10 s, doubling, up to the zone's retry).
 */

typedef struct shared_delta_s {
	engine_delta_t d;
	unsigned refs; /* touched on the loop thread only */
} shared_delta_t;

static shared_delta_t *delta_ref(shared_delta_t *d)
{
	if (d != NULL) {
		d->refs++;
	}
	return d;
}

static void delta_unref(shared_delta_t *d)
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
	if (store_open(t->job_gen->conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("target failed: zone=%s target=%s error=%s", zc->domain, tc->id, err);
		return;
	}
	engine_zone_t ez = { .store = st,
		             .serial = t->serial,
		             .delta = t->delta != NULL ? &t->delta->d : NULL };
	store_target_t ts;
	if (t->job_reconcile && store_target_get(st, zc->name, tc->id, &ts) == 0 && !ts.dirty) {
		ts.dirty = true;
		store_target_set(st, zc->name, tc->id, &ts);
	}
	if (tc->type->ops != NULL) {
		engine_opts_t eo = { .topts.cancel = &t->z->s->cancel };
		engine_result_t r;
		t->failed = engine_push(&ez, zc, tc, &eo, &r) != 0;
		engine_result_free(&r);
	} else {
		t->failed = push_plain(st, zc, tc, t->serial, t->delta != NULL ? &t->delta->d : NULL,
		                       t->primary, &ez) != 0;
	}
	engine_zone_free(&ez);
	store_close(st);
}

static void target_start(tstate_t *t);
static void target_kick(tstate_t *t, uint32_t serial, shared_delta_t *delta, const char *primary);
static void zstate_idle(zstate_t *z);

static void on_target_timer(uv_timer_t *h)
{
	tstate_t *t = h->data;
	target_kick(t, t->z->serial, NULL, t->z->primary);
}

/* The target's job is over (or never started): what it held goes. */
static void target_job_end(tstate_t *t)
{
	t->running = false;
	t->z->busy--;
	gen_unref(t->job_gen);
	t->job_gen = NULL;
	delta_unref(t->delta);
	t->delta = NULL;
}

static void target_done(uv_work_t *w, int status)
{
	tstate_t *t = w->data;
	zstate_t *z = t->z;
	(void)status;
	target_job_end(t);
	if (z->s->stopping || z->retiring) {
		delta_unref(t->next_delta);
		t->next_delta = NULL;
		t->pending = false;
		zstate_idle(z);
		return;
	}
	if (t->pending) {
		t->pending = false;
		t->serial = t->next_serial;
		memcpy(t->primary, t->next_primary, sizeof(t->primary));
		t->delta = t->next_delta;
		t->next_delta = NULL;
		target_start(t);
		return;
	}
	if (t->failed) {
		uint32_t again = t->backoff == 0 ? 10 : t->backoff * 2;
		uint32_t cap = z->retry > 10 ? z->retry : 10;
		t->backoff = again < cap ? again : cap;
		uv_timer_start(&t->timer, on_target_timer, (uint64_t)t->backoff * 1000, 0);
	} else {
		t->backoff = 0;
	}
}

static void target_start(tstate_t *t)
{
	zstate_t *z = t->z;
	uv_timer_stop(&t->timer);
	t->running = true;
	t->work.data = t;
	t->job_gen = gen_ref(z->gen);
	t->job_zc = z->conf;
	t->job_tc = t->conf;
	t->job_reconcile = t->reconcile;
	t->reconcile = false;
	z->busy++;
	if (uv_queue_work(z->s->loop, &t->work, target_run, target_done) != 0) {
		target_job_end(t);
		uv_timer_start(&t->timer, on_target_timer, 1000, 0);
	}
}

/* Bring the target to serial; delta: the IXFR that led there, or NULL. */
static void target_kick(tstate_t *t, uint32_t serial, shared_delta_t *delta, const char *primary)
{
	if (t->z->s->stopping || t->z->retiring) {
		return;
	}
	if (t->running) {
		t->pending = true;
		t->next_serial = serial;
		snprintf(t->next_primary, sizeof(t->next_primary), "%s", primary);
		delta_unref(t->next_delta);
		t->next_delta = delta_ref(delta);
		return;
	}
	t->serial = serial;
	snprintf(t->primary, sizeof(t->primary), "%s", primary);
	t->delta = delta_ref(delta);
	target_start(t);
}

/* --- the loop thread ----------------------------------------------------- */

static void start_job(zstate_t *z);

static void on_timer(uv_timer_t *t)
{
	start_job(t->data);
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

static void job_done(uv_work_t *w, int status)
{
	zstate_t *z = w->data;
	struct job *j = &z->job;
	z->running = false;
	z->busy--;
	gen_unref(z->job_gen);
	z->job_gen = NULL;
	(void)status;
	shared_delta_t *delta = NULL;
	if (j->delta != NULL && (delta = calloc(1, sizeof(*delta))) != NULL) {
		delta->d = *j->delta;
	} else if (j->delta != NULL) {
		engine_delta_free(j->delta);
	}
	free(j->delta);
	j->delta = NULL;
	delta_ref(delta);
	if (j->primary[0] != '\0') {
		memcpy(z->primary, j->primary, sizeof(z->primary));
	}
	if (j->has_data && !z->s->stopping && !z->retiring) {
		for (size_t i = 0; i < z->ntargets; i++) {
			target_kick(&z->targets[i], j->serial, delta, z->primary);
		}
	}
	delta_unref(delta);
	if (z->retiring) {
		zstate_idle(z);
		return;
	}
	bool was_expired = z->expired;
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
	if (z->pending) {
		z->pending = false;
		start_job(z);
		return;
	}
	uint32_t next = j->ok ? j->refresh : j->retry;
	uv_timer_start(&z->timer, on_timer, jitter_ms(next), 0);
	if (z->has_data && !z->expired && z->expire_at > 0) {
		int64_t left = z->expire_at - unix_now();
		uv_timer_start(&z->expire_timer, on_expire, left > 0 ? (uint64_t)left * 1000 : 0,
		               0);
	}
}

static void start_job(zstate_t *z)
{
	if (z->s->stopping || z->retiring) {
		return;
	}
	if (z->running || z->waiting) {
		z->pending = true; /* one more check after this one, nothing more */
		return;
	}
	uv_timer_stop(&z->timer);
	z->running = true;
	z->work.data = z;
	z->job_gen = gen_ref(z->gen);
	z->job_zc = z->conf;
	z->busy++;
	if (uv_queue_work(z->s->loop, &z->work, job_run, job_done) != 0) {
		z->running = false;
		z->busy--;
		gen_unref(z->job_gen);
		z->job_gen = NULL;
		uv_timer_start(&z->timer, on_timer, 1000, 0);
	}
}

/* --- zones: created, started, retired -------------------------------------- */

static void zstate_free(zstate_t *z)
{
	gen_unref(z->gen);
	free(z->targets);
	free(z);
}

/* A zone's state, not yet on the loop (zstate_arm); NULL when out of memory. */
static zstate_t *zstate_alloc(sched_t *s, const conf_zone_t *zc)
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

static void zstate_arm(zstate_t *z, gen_t *g)
{
	sched_t *s = z->s;
	const conf_zone_t *zc = z->conf;
	z->gen = gen_ref(g);
	uv_timer_init(s->loop, &z->timer);
	uv_timer_init(s->loop, &z->expire_timer);
	z->timer.data = z;
	z->expire_timer.data = z;
	z->handles = 2;
	z->ntargets = zc->ntarget;
	for (size_t k = 0; k < z->ntargets; k++) {
		tstate_t *t = &z->targets[k];
		t->z = z;
		t->conf = zc->target[k];
		uv_timer_init(s->loop, &t->timer);
		t->timer.data = t;
		z->handles++;
	}
}

/* The zone's state from the store, and its gauges. */
static void zstate_load(zstate_t *z, store_t *st)
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
		if (tc->type->ops == NULL && strcmp(tc->type->name, "zonefile") != 0 &&
		    strcmp(tc->type->name, "exec") != 0) {
			log_warning("target skipped: zone=%s target=%s type=%s: this version does "
			            "not push to %s targets yet",
			            zc->domain, tc->id, tc->type->name, tc->type->name);
		}
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	zstate_t *z = h->data;
	z->handles--;
	zstate_idle(z);
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
		uv_close((uv_handle_t *)&z->targets[k].timer, on_handle_closed);
	}
}

/* A zone that is not current any more: its timers stop at once, its
 * running jobs end on their own; it is freed when the last has. */
static void zstate_retire(zstate_t *z)
{
	sched_t *s = z->s;
	z->retiring = true;
	z->next = s->retiring;
	s->retiring = z;
	for (size_t k = 0; k < z->ntargets; k++) {
		tstate_t *t = &z->targets[k];
		t->pending = false;
		delta_unref(t->next_delta);
		t->next_delta = NULL;
	}
	close_handles(z);
}

static bool name_retiring(const sched_t *s, const conf_zone_t *zc)
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
static void zstate_idle(zstate_t *z)
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
	    !name_retiring(s, z->conf)) {
		metrics_forget(z->conf->domain, NULL);
	}
	zstate_free(z);
	for (size_t i = 0; i < s->nzones; i++) {
		zstate_t *w = s->zones[i];
		if (w->waiting && dns_name_equal(w->conf->name, name) &&
		    !name_retiring(s, w->conf)) {
			w->waiting = false;
			if (!s->stopping) {
				w->pending = false;
				start_job(w);
			}
		}
	}
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
	atomic_init(&s->cancel, false);
	g->conf = conf;
	s->gen = gen_ref(g);
	s->zones = calloc(conf->nzone + 1, sizeof(*s->zones));
	if (s->zones == NULL) {
		s->gen->conf = NULL; /* still the caller's */
		sched_free(s);
		return NULL;
	}
	/* All allocated before any is armed: a zone on the loop has timers
	 * that must be closed before it is freed. */
	for (size_t i = 0; i < conf->nzone; i++) {
		if ((s->zones[i] = zstate_alloc(s, &conf->zone[i])) == NULL) {
			s->gen->conf = NULL;
			sched_free(s);
			return NULL;
		}
		s->nzones++;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		zstate_arm(s->zones[i], g);
	}
	return s;
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
	for (size_t i = 0; i < s->nzones; i++) {
		zstate_load(s->zones[i], st);
	}
	store_close(st);
	/* Check every zone now: a change made while we were down arrives. */
	for (size_t i = 0; i < s->nzones; i++) {
		start_job(s->zones[i]);
	}
	return 0;
}

int sched_reload(sched_t *s, conf_t *conf, sched_reload_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	gen_t *g = calloc(1, sizeof(*g));
	zstate_t **zones = calloc(conf->nzone + 1, sizeof(*zones));
	bool *kept = calloc(s->nzones + 1, sizeof(*kept));
	store_t *st = NULL;
	int ret = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	if (g == NULL || zones == NULL || kept == NULL ||
	    (ret = store_open(s->gen->conf->server.state, &st, err, errlen)) != 0) {
		goto fail;
	}
	/* First all that can fail: a zone the same as before keeps its state
	 * (timers, running jobs); any other gets a new one. */
	for (size_t i = 0; i < conf->nzone; i++) {
		for (size_t k = 0; k < s->nzones && zones[i] == NULL; k++) {
			if (!kept[k] && conf_zone_same(s->zones[k]->conf, &conf->zone[i])) {
				kept[k] = true;
				zones[i] = s->zones[k];
			}
		}
		if (zones[i] == NULL && (zones[i] = zstate_alloc(s, &conf->zone[i])) == NULL) {
			for (size_t k = 0; k < i; k++) {
				if (zones[k]->gen == NULL) {
					zstate_free(zones[k]);
				}
			}
			ret = -ENOMEM;
			goto fail;
		}
	}
	/* From here nothing fails. */
	g->conf = conf;
	gen_ref(g);
	for (size_t k = 0; k < s->nzones; k++) {
		if (!kept[k]) {
			bool changed = conf_zone_find(conf, s->zones[k]->conf->name) != NULL;
			out->changed += changed;
			out->removed += !changed;
			log_info("zone %s: zone=%s",
			         changed ? "restarts, its configuration changed"
			                 : "removed, its state is kept",
			         s->zones[k]->conf->domain);
			zstate_retire(s->zones[k]);
		}
	}
	const conf_t *old = s->gen->conf;
	for (size_t i = 0; i < conf->nzone; i++) {
		zstate_t *z = zones[i];
		if (z->gen != NULL) {
			/* The same zone: its pointers move to the new generation. */
			out->kept++;
			gen_unref(z->gen);
			z->gen = gen_ref(g);
			z->conf = &conf->zone[i];
			for (size_t k = 0; k < z->ntargets; k++) {
				z->targets[k].conf = z->conf->target[k];
			}
			continue;
		}
		const conf_zone_t *was = conf_zone_find(old, z->conf->name);
		if (was == NULL) {
			out->added++;
			log_info("zone added: zone=%s", z->conf->domain);
		}
		zstate_arm(z, g);
		for (size_t o = 0; was != NULL && o < was->ntarget; o++) {
			bool kept = false;
			for (size_t k = 0; k < z->ntargets && !kept; k++) {
				kept = strcmp(was->target[o]->id, z->targets[k].conf->id) == 0;
			}
			if (!kept) {
				metrics_forget(z->conf->domain, was->target[o]->id);
			}
		}
		for (size_t k = 0; was != NULL && k < z->ntargets; k++) {
			for (size_t o = 0; o < was->ntarget; o++) {
				const conf_target_t *a = was->target[o], *b = z->targets[k].conf;
				if (strcmp(a->id, b->id) == 0 && !conf_target_same(a, b)) {
					z->targets[k].reconcile = true;
					log_info("target's configuration changed: zone=%s target=%s: "
					         "pushed again in full (its live records read)",
					         z->conf->domain, b->id);
				}
			}
		}
		zstate_load(z, st);
		z->waiting = name_retiring(s, z->conf);
		start_job(z);
	}
	store_close(st);
	free(kept);
	free(s->zones);
	s->zones = zones;
	s->nzones = conf->nzone;
	gen_unref(s->gen); /* the old one lives on while its jobs run */
	s->gen = g;
	return 0;
fail:
	store_close(st);
	free(zones);
	free(kept);
	free(g);
	return ret;
}

void sched_notify(sched_t *s, const conf_zone_t *zone)
{
	for (size_t i = 0; i < s->nzones; i++) {
		if (s->zones[i]->conf == zone) {
			log_debug("NOTIFY accepted: zone=%s", zone->domain);
			start_job(s->zones[i]);
			return;
		}
	}
}

void sched_stop(sched_t *s)
{
	s->stopping = true;
	atomic_store(&s->cancel, true);
	for (size_t i = 0; i < s->nzones; i++) {
		close_handles(s->zones[i]);
	}
}

void sched_free(sched_t *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		zstate_free(s->zones[i]);
	}
	while (s->retiring != NULL) {
		zstate_t *z = s->retiring;
		s->retiring = z->next;
		zstate_free(z);
	}
	free(s->zones);
	gen_unref(s->gen);
	free(s);
}
