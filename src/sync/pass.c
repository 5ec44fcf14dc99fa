/* One pass over one zone outside the daemon, verify, and what the
 * providers share process-wide. */
#include "sync/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/retry.h"
#include "obs/log.h"
#include "xfr/xfr.h"

static bool wanted(const sync_opts_t *o, const conf_target_t *tc)
{
	return o == NULL || o->target == NULL || strcmp(o->target, tc->id) == 0;
}

/* Bring every target of the zone to the snapshot, counting those that
 * failed (refusals by a safety limit apart). */
static void push_targets(store_t *st, const conf_zone_t *zc, const sync_refresh_t *rf,
                         const engine_delta_t *delta, const sync_opts_t *o, sync_pass_t *out)
{
	engine_zone_t ez = {
		.store = st, .serial = rf->serial, .delta = delta, .primary = rf->primary
	};
	engine_opts_t eo = { 0 };
	if (o != NULL) {
		eo = o->engine;
	}
	for (size_t i = 0; i < zc->ntarget; i++) {
		const conf_target_t *tc = zc->target[i];
		if (!wanted(o, tc)) {
			continue;
		}
		engine_result_t r;
		if (engine_push(&ez, zc, tc, &eo, &r) != 0) {
			if (r.refused) {
				out->refused++;
			} else {
				out->failed++;
			}
		}
		if (o != NULL && o->on_target != NULL) {
			o->on_target(o->ctx, zc, tc, &ez, &r);
		}
		engine_result_free(&r);
	}
	engine_zone_free(&ez);
}

int sync_zone(const char *state, const conf_zone_t *zc, const sync_opts_t *o, sync_pass_t *out)
{
	memset(out, 0, sizeof(*out));
	store_t *st;
	char err[512];
	if (store_open(state, &st, err, sizeof(err)) != 0) {
		log_error("zone check failed: zone=%s error=%s", zc->domain, LOGV(err));
		out->failed = 1;
		return -1;
	}
	sync_refresh_t rf;
	engine_delta_t *delta = NULL;
	sync_refresh(st, zc, &rf, &delta);
	out->checked = rf.ok;
	out->answered = rf.answered;
	out->has_data = rf.has_data;
	out->serial = rf.serial;
	memcpy(out->primary, rf.primary, sizeof(out->primary));
	if (rf.has_data) {
		push_targets(st, zc, &rf, delta, o, out);
	}
	if (delta != NULL) {
		engine_delta_free(delta);
		free(delta);
	}
	store_close(st);
	return out->checked && out->has_data && out->failed == 0 && out->refused == 0 ? 0 : -1;
}

int sync_verify(const conf_zone_t *zc, const sync_opts_t *o, char *err, size_t errlen)
{
	const conf_primary_t *p = zc->primary;
	xfr_peer_t peer = { .key = p->key ? &p->key->tsig : NULL };
	xfr_limits_t lim = { .max_records = zc->xfr_max_records,
		             .max_bytes = zc->xfr_max_bytes,
		             .timeout_ms = zc->xfr_timeout * 1000,
		             .io_timeout_ms = 30000 };
	xfr_result_t res;
	int ret = -EHOSTUNREACH;
	snprintf(err, errlen, "no primary address");
	for (size_t i = 0; i < p->naddr && ret != 0; i++) {
		peer.addr = &p->addr[i];
		ret = xfr_transfer(&peer, zc->name, NULL, &lim, &res, err, errlen);
		if (ret != 0) {
			log_warning("AXFR failed: zone=%s error=%s", zc->domain, LOGV(err));
		}
	}
	if (ret != 0) {
		return ret;
	}
	engine_zone_t ez = { .zone = &res.zone, .serial = res.serial };
	engine_opts_t eo = o->engine;
	eo.plan = true;
	eo.force = true; /* limits are for writes */
	for (size_t i = 0; i < zc->ntarget; i++) {
		const conf_target_t *tc = zc->target[i];
		if (!wanted(o, tc)) {
			continue;
		}
		engine_result_t r;
		engine_push(&ez, zc, tc, &eo, &r);
		if (o->on_target != NULL) {
			o->on_target(o->ctx, zc, tc, &ez, &r);
		}
		engine_result_free(&r);
	}
	xfr_result_free(&res);
	return 0;
}

void sync_global_init(void)
{
	http_global_init();
}

void sync_global_cleanup(void)
{
	ratelimit_cleanup();
	target_cleanup();
	http_global_cleanup();
}
