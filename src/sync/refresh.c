#include "sync/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/serial.h"
#include "obs/log.h"
#include "net/sock.h"
#include "obs/metrics.h"
#include "xfr/xfr.h"

#define SOA_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void soa_timers(sync_refresh_t *j, const conf_zone_t *zc, uint32_t refresh, uint32_t retry,
                       uint32_t expire)
{
	j->refresh = clamp(refresh, zc->refresh_min, zc->refresh_max);
	j->retry = clamp(retry, zc->retry_min, zc->retry_max);
	j->expire = clamp(expire, zc->expire_min, zc->expire_max);
}

static void timers_from_zone(sync_refresh_t *j, const conf_zone_t *zc, const zone_t *z)
{
	zone_rrset_t soa;
	if (zone_find(z, zc->name, KNOT_RRTYPE_SOA, &soa)) {
		const knot_rdata_t *rd = soa.rr[0].rd;
		soa_timers(j, zc, knot_soa_refresh(rd), knot_soa_retry(rd), knot_soa_expire(rd));
	}
}

/* The whole RRsets an IXFR touches, read before (old) or after (new) it. */
static int delta_sets(store_t *st, const conf_zone_t *zc, const zone_delta_t *d, zone_t *out)
{
	zone_t which;
	zone_init(&which);
	zone_set_apex(&which, zc->name);
	int ret = 0;
	const zone_t *parts[2] = { &d->del, &d->add };
	for (int k = 0; k < 2 && ret == 0; k++) {
		for (size_t r = 0; r < parts[k]->count && ret == 0; r++) {
			const zone_rr_t *rr = &parts[k]->rr[r];
			ret = zone_add_keyed(&which, rr->key, rr->keylen, rr->type, rr->ttl, rr->rd);
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

/* The RRsets that differ between the snapshot in the store and a whole
 * zone just received, before (old) and after (new): a primary that answers
 * IXFR with the whole zone (NSD, PowerDNS) still gives the targets a delta,
 * so that a one-record change is one request, not a read of the provider.
 * Costs one load of the old snapshot, O(zone), which the transfer costs
 * anyway.  0, or <0 (then no delta: targets read and diff). */
static int full_delta(store_t *st, const conf_zone_t *zc, const zone_t *fresh, engine_delta_t *d)
{
	zone_t prev;
	zone_diff_t diff = { 0 };
	int ret = store_zone_load(st, zc->name, &prev);
	if (ret != 0) {
		return ret;
	}
	ret = zone_diff(&prev, fresh, &diff);
	zone_init(&d->old);
	zone_init(&d->new);
	zone_set_apex(&d->old, zc->name);
	zone_set_apex(&d->new, zc->name);
	for (size_t i = 0; i < diff.count && ret == 0; i++) {
		const zone_change_t *c = &diff.change[i];
		const zone_rrset_t *sides[2] = { c->kind != ZONE_CHANGE_ADD ? &c->old : NULL,
			                         c->kind != ZONE_CHANGE_DELETE ? &c->new : NULL };
		for (int k = 0; k < 2 && ret == 0; k++) {
			zone_t *into = k == 0 ? &d->old : &d->new;
			for (size_t r = 0; sides[k] != NULL && r < sides[k]->count && ret == 0;
			     r++) {
				const zone_rr_t *rr = &sides[k]->rr[r];
				ret = zone_add_keyed(into, rr->key, rr->keylen, rr->type, rr->ttl,
				                     rr->rd);
			}
		}
	}
	if (ret == 0) {
		ret = zone_finish(&d->old);
	}
	if (ret == 0) {
		ret = zone_finish(&d->new);
	}
	if (ret != 0) {
		zone_free(&d->old);
		zone_free(&d->new);
	}
	zone_diff_free(&diff);
	zone_free(&prev);
	return ret;
}

/* Is any target of the zone clean at serial, so that a delta from it
 * saves it a read?  Else comparing the snapshots is work for nothing. */
static bool delta_wanted(store_t *st, const conf_zone_t *zc, uint32_t serial)
{
	for (size_t i = 0; i < zc->ntarget; i++) {
		store_target_t ts;
		if (store_target_get(st, zc->name, zc->target[i]->id, &ts) == 0 && ts.has_serial &&
		    !ts.dirty && ts.serial == serial) {
			return true;
		}
	}
	return false;
}

/* May a transfer's serial be committed?  Never one older than ours (or
 * the same: the SOA answer said newer), never one older than the SOA
 * answer that started the transfer: a primary that goes back (a restored
 * backup, a lagging node behind one address) would take every target
 * back with it.  0, or -ESTALE with err set. */
static int serial_check(const conf_zone_t *zc, const store_zone_info_t *info, uint32_t soa,
                        uint32_t got, const char *kind, char *err, size_t errlen)
{
	serial_order_t ours = info->has_data ? serial_cmp(got, info->serial) : SERIAL_GT;
	if (ours == SERIAL_LT || ours == SERIAL_EQ) {
		snprintf(err, errlen,
		         "%s carries serial %u, %s ours (%u): refused, the zone held is kept",
		         kind, got, ours == SERIAL_EQ ? "the same as" : "older than", info->serial);
	} else if (serial_cmp(got, soa) == SERIAL_LT) {
		snprintf(err, errlen,
		         "%s carries serial %u, older than the primary's SOA answer (%u): "
		         "refused, the zone held is kept",
		         kind, got, soa);
	} else {
		return 0;
	}
	log_warning("transfer refused, serial goes back: zone=%s %s", zc->domain, err);
	return -ESTALE;
}

/* The result label of a transfer, and whether another try now (AXFR after
 * a failed IXFR) may help: not after a limit, a stale serial or a stop. */
static const char *outcome(int ret, bool *final)
{
	*final = ret == -EFBIG || ret == -ETIMEDOUT || ret == -ESTALE || ret == -ECANCELED;
	return ret == 0                                 ? "ok"
	       : ret == -ESTALE                         ? "older"
	       : ret == -EFBIG || ret == -ETIMEDOUT     ? "limit"
	       : ret == -ECANCELED                      ? "stopped"
	                                                : "failed";
}

/* Transfer from peer and commit.  One budget of transfer-timeout covers the
 * IXFR and the AXFR after it.  0, or <0 with err set (*final: a limit
 * breach or a stale serial, which the same primary will repeat). */
static int transfer(store_t *st, const conf_zone_t *zc, const xfr_peer_t *peer,
                    const store_zone_info_t *info, uint32_t soa, sync_refresh_t *j,
                    engine_delta_t *delta, bool *has_delta, char *err, size_t errlen)
{
	int64_t deadline = sock_now_ms() + (int64_t)zc->xfr_timeout * 1000;
	xfr_limits_t lim = { .max_records = zc->xfr_max_records,
		             .max_bytes = zc->xfr_max_bytes,
		             .timeout_ms = zc->xfr_timeout * 1000,
		             .io_timeout_ms = IO_TIMEOUT_MS };
	xfr_result_t res;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = -ENOENT;
	bool final = false;
	const char *kind = "AXFR";
	char ixfr_err[512] = "";
	if (info->has_data) {
		kind = "IXFR";
		ret = xfr_transfer(peer, zc->name, &info->serial, &lim, &res, ixfr_err,
		                   sizeof(ixfr_err));
		if (ret == 0 && res.kind != XFR_UPTODATE) {
			ret = serial_check(zc, info, soa, res.serial,
			                   res.kind == XFR_FULL ? "IXFR (full zone)" : "IXFR",
			                   ixfr_err, sizeof(ixfr_err));
		} else if (ret == 0 && serial_cmp(res.serial, soa) == SERIAL_LT) {
			snprintf(ixfr_err, sizeof(ixfr_err),
			         "IXFR answer has serial %u, older than the primary's SOA answer "
			         "(%u): the zone held is kept",
			         res.serial, soa);
			log_warning("transfer refused, serial goes back: zone=%s %s", zc->domain,
			            ixfr_err);
			ret = -ESTALE;
		} else if (ret == -ESTALE) {
			log_warning("transfer refused, serial goes back: zone=%s error=%s",
			            zc->domain, LOGV(ixfr_err));
		}
		if (ret == 0 && res.kind == XFR_INCREMENTAL) {
			/* The touched RRsets before and after: what incremental
			 * pushes send, without reading the providers. */
			bool sets = delta_sets(st, zc, &res.delta, &delta->old) == 0;
			ret = store_zone_apply(st, zc->name, &res.delta, 1, ixfr_err,
			                       sizeof(ixfr_err));
			if (ret == 0 && sets && delta_sets(st, zc, &res.delta, &delta->new) == 0) {
				*has_delta = true;
			} else if (sets) {
				zone_free(&delta->old);
			}
			if (ret == -EINVAL) {
				log_warning("IXFR does not apply, falling back to AXFR: zone=%s "
				            "error=%s",
				            zc->domain, LOGV(ixfr_err));
			}
			if (ret == 0) {
				timers_from_zone(j, zc, &res.delta.add);
			}
		} else if (ret == 0 && res.kind == XFR_FULL) {
			kind = "IXFR (full zone)";
			*has_delta = delta_wanted(st, zc, info->serial) &&
			             full_delta(st, zc, &res.zone, delta) == 0;
			ret = store_zone_replace(st, zc->name, &res.zone, ixfr_err,
			                         sizeof(ixfr_err));
			if (ret != 0 && *has_delta) {
				engine_delta_free(delta);
				*has_delta = false;
			}
			if (ret == 0) {
				timers_from_zone(j, zc, &res.zone);
			}
		} else if (ret == 0) {
			kind = "IXFR (up to date)";
		}
		const char *result = outcome(ret, &final);
		if (ret != 0 && final) {
			snprintf(err, errlen, "%s", ixfr_err);
		} else if (ret != 0) {
			log_notice("IXFR failed, trying AXFR: zone=%s error=%s", zc->domain,
			           LOGV(ixfr_err));
		}
		if (ret == 0 && res.kind != XFR_UPTODATE) {
			j->serial = res.serial;
		} else if (ret != 0) {
			xfr_result_free(&res);
		}
		metrics_add(M_TRANSFERS, 1, zc->domain, "ixfr", result);
	}
	int64_t left = deadline - sock_now_ms();
	if (ret != 0 && !final && left <= 0) {
		ret = -ETIMEDOUT;
		final = true;
		snprintf(err, errlen, "no time left for an AXFR after the IXFR (transfer-timeout %us)",
		         zc->xfr_timeout);
	}
	if (ret != 0 && !final) {
		kind = "AXFR";
		lim.timeout_ms = (uint32_t)left;
		ret = xfr_transfer(peer, zc->name, NULL, &lim, &res, err, errlen);
		if (ret == 0) {
			ret = serial_check(zc, info, soa, res.serial, kind, err, errlen);
			if (ret != 0) {
				xfr_result_free(&res);
			}
		}
		if (ret == 0 && info->has_data && !*has_delta &&
		    delta_wanted(st, zc, info->serial)) {
			*has_delta = full_delta(st, zc, &res.zone, delta) == 0;
		}
		if (ret == 0) {
			ret = store_zone_replace(st, zc->name, &res.zone, err, errlen);
		}
		if (ret == 0) {
			timers_from_zone(j, zc, &res.zone);
			j->serial = res.serial;
		}
		metrics_add(M_TRANSFERS, 1, zc->domain, "axfr", outcome(ret, &final));
	}
	j->final = ret != 0 && final;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret != 0 && *has_delta) {
		engine_delta_free(delta);
		*has_delta = false;
	}
	if (*has_delta) {
		delta->from = info->serial;
		delta->to = res.serial;
	}
	if (ret == 0) {
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		char steps[64] = "";
		if (res.kind == XFR_INCREMENTAL) {
			snprintf(steps, sizeof(steps), " steps=%zu changed=%zu", res.nsteps,
			         res.delta.del.count + res.delta.add.count);
		}
		log_info("zone transferred: zone=%s kind=%s serial=%u from=%u records=%zu "
		         "messages=%zu bytes=%zu%s time=%.3fs",
		         zc->domain, kind, res.serial, info->has_data ? info->serial : 0,
		         res.records, res.messages, res.bytes, steps, secs);
		j->has_data = true;
		metrics_add(M_TRANSFER_RECORDS, (double)res.records, zc->domain);
		metrics_add(M_TRANSFER_BYTES, (double)res.bytes, zc->domain);
		/* Providers hold one TTL per RRset: say which way we collapse. */
		size_t collapsed = res.zone.stats.ttl_collapsed + res.delta.add.stats.ttl_collapsed;
		if (collapsed > 0) {
			log_warning("records of one RRset with different TTLs, the lowest kept: "
			            "zone=%s serial=%u rrsets=%zu",
			            zc->domain, res.serial, collapsed);
		}
	}
	xfr_result_free(&res);
	return ret;
}

void sync_refresh(store_t *st, const conf_zone_t *zc, sync_refresh_t *j, engine_delta_t **delta_out)
{
	memset(j, 0, sizeof(*j));
	if (delta_out != NULL) {
		*delta_out = NULL;
	}
	soa_timers(j, zc, zc->refresh_min, zc->retry_min, zc->expire_max);
	char err[512];
	store_zone_info_t info;
	store_soa_t soa;
	if (store_zone_info(st, zc->name, &info) != 0) {
		log_error("zone check failed: zone=%s error=cannot read the store", zc->domain);
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
			log_warning("SOA query failed: zone=%s error=%s", zc->domain, LOGV(err));
		}
	}
	bool answered = ret == 0;
	j->answered = answered;
	if (ret != 0) {
		metrics_add(M_SOA_CHECKS, 1, zc->domain, "failed");
	} else {
		metrics_set(M_PRIMARY_SERIAL, serial, zc->domain);
		serial_order_t ord = info.has_data ? serial_cmp(info.serial, serial) : SERIAL_LT;
		metrics_add(M_SOA_CHECKS, 1, zc->domain,
		            ord == SERIAL_EQ   ? "same"
		            : ord == SERIAL_GT ? "older"
		                               : "newer");
		if (ord == SERIAL_EQ) {
			log_debug("zone up to date: zone=%s serial=%u", zc->domain, serial);
		} else if (ord == SERIAL_GT) {
			log_warning("primary serial is older than ours, keeping ours: zone=%s "
			            "primary=%u ours=%u",
			            zc->domain, serial, info.serial);
		} else {
			/* Newer, or 2^31 away (RFC 1982 undefined): transfer. */
			ret = transfer(st, zc, &peer, &info, serial, j, &delta, &has_delta,
			               err, sizeof(err));
			if (ret != 0) {
				log_error("zone transfer failed: zone=%s error=%s", zc->domain,
				          LOGV(err));
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
	if (ret == 0 && peer.addr != NULL) {
		net_ip_str(peer.addr, j->primary, sizeof(j->primary));
	}
	if (j->has_data) {
		metrics_set(M_ZONE_SERIAL, j->serial, zc->domain);
	}
	if (has_delta && delta_out != NULL && (*delta_out = malloc(sizeof(delta))) != NULL) {
		**delta_out = delta;
		has_delta = false;
	}
	if (has_delta) {
		engine_delta_free(&delta);
	}
}
