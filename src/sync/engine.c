#include "sync/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/serial.h"
#include "obs/log.h"
#include "obs/metrics.h"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const zone_t *engine_zone_snapshot(engine_zone_t *z, const knot_dname_t *apex, char *err,
                                   size_t errlen)
{
	if (z->zone != NULL) {
		return z->zone;
	}
	if (!z->has_loaded) {
		if (z->store == NULL || store_zone_load(z->store, apex, &z->loaded) != 0) {
			snprintf(err, errlen, "cannot read the zone's snapshot from the state");
			return NULL;
		}
		z->has_loaded = true;
		/* A newer transfer may have committed since the push was
		 * handed its serial: what is pushed, logged and recorded is
		 * this snapshot, so its serial is the one that counts. */
		uint32_t serial;
		if (zone_serial(&z->loaded, &serial) == 0) {
			z->serial = serial;
		}
	}
	return &z->loaded;
}

/* The most a limit allows out of total RRsets.  A percentage applies only
 * to zones of 10 RRsets or more (small zones change wholesale). */
static size_t allowed(conf_limit_t l, size_t total)
{
	if (!l.percent) {
		return l.value;
	}
	if (total < 10) {
		return SIZE_MAX;
	}
	return total * l.value / 100;
}

static int check_limits(const conf_zone_t *zc, engine_result_t *r)
{
	size_t del = r->diff.deleted, upd = r->diff.replaced;
	size_t max_del = allowed(zc->max_delete, r->total);
	size_t max_upd = allowed(zc->max_update, r->total);
	const char *what = NULL;
	size_t n = 0, max = 0;
	conf_limit_t l;
	if (del > max_del) {
		what = "max-delete", n = del, max = max_del, l = zc->max_delete;
	} else if (upd > max_upd) {
		what = "max-update", n = upd, max = max_upd, l = zc->max_update;
	}
	if (what == NULL) {
		return 0;
	}
	snprintf(r->error, sizeof(r->error),
	         "would %s %zu of %zu RRsets, over %s %u%s (%zu); check the primary, "
	         "then run 'zonesync sync --force' to apply",
	         what[4] == 'd' ? "delete" : "update", n, r->total, what, l.value,
	         l.percent ? "%" : "", max);
	r->refused = true;
	return -EPERM;
}

/* soa-serial: mirror: the target's own SOA, with the primary's serial. */
static int mirror_soa(engine_result_t *r, uint32_t serial)
{
	zone_rrset_t live, want;
	if (!zone_find(&r->live, r->live.apex, KNOT_RRTYPE_SOA, &live) ||
	    !zone_find(&r->want, r->want.apex, KNOT_RRTYPE_SOA, &want)) {
		return 0;
	}
	const knot_rdata_t *rd = live.rr[0].rd;
	r->soa = malloc(knot_rdata_size(rd->len));
	if (r->soa == NULL) {
		return -ENOMEM;
	}
	knot_rdata_t *copy = (knot_rdata_t *)r->soa;
	memcpy(copy, rd, knot_rdata_size(rd->len));
	knot_soa_serial_set(copy, serial);
	zone_rr_t *w = (zone_rr_t *)want.rr;
	w->rd = copy;
	w->ttl = live.ttl;
	return 0;
}

/* soa-serial: mirror: the view's apex SOA is the target's own with the
 * primary's serial, so the target's live SOA is needed.  A target whose view
 * holds the apex SOA without that key (powerdns: a full copy) takes the
 * primary's SOA as it is, from the IXFR delta too. */
static bool mirrors_soa(const conf_target_t *tc, const zone_view_rules_t *rules)
{
	return rules->apex_soa && target_mirrors_serial(tc);
}

/* The desired view of the whole snapshot into r->want, once. */
static int want_full(engine_zone_t *z, const conf_target_t *tc, const zone_view_rules_t *rules,
                     const knot_dname_t *apex, engine_result_t *r)
{
	if (r->want_full) {
		return 0;
	}
	const zone_t *snap = engine_zone_snapshot(z, apex, r->error, sizeof(r->error));
	if (snap == NULL) {
		return -EIO;
	}
	zone_view_free(&r->want);
	zone_view_skipped_free(&r->skipped);
	r->want_full = true;
	int ret = zone_view(snap, rules, &r->want, &r->skipped);
	if (ret == 0 && mirrors_soa(tc, rules)) {
		ret = mirror_soa(r, z->serial);
	}
	return ret;
}

/* Is the added RRset c held by the target as its own: an RRset an ignore
 * rule kept out of the live view, or one the provider's read left alone
 * (matched by name text and type)?  The reason, or NULL. */
static const char *held_by_target(const engine_result_t *r, const zone_change_t *c,
                                  const char *owner, const char *type)
{
	/* What external-dns's markers claim, its records there or not. */
	if (r->extdns != NULL && zone_extdns_hold(r->extdns, &c->new) != NULL) {
		return "owned by external-dns";
	}
	for (size_t i = 0; i < r->live_kept.nheld; i++) {
		const zone_view_held_t *h = &r->live_kept.held[i];
		if (h->type == c->new.type && h->keylen == c->new.keylen &&
		    memcmp(h->key, c->new.key, h->keylen) == 0) {
			return "ignored at the target";
		}
	}
	for (size_t i = 0; i < r->foreign.count; i++) {
		const target_foreign_set_t *f = &r->foreign.set[i];
		if (strcasecmp(f->type, type) == 0 && strcasecmp(f->name, owner) == 0) {
			return f->why;
		}
	}
	return NULL;
}

/* Additions at a name and type the target holds as its own are taken out
 * of the diff and reported: a conflict is never forced. */
static int drop_conflicts(engine_result_t *r)
{
	if (r->live_kept.nheld == 0 && r->foreign.count == 0 &&
	    zone_extdns_claims(r->extdns) == 0) {
		return 0;
	}
	size_t keep = 0;
	for (size_t i = 0; i < r->diff.count; i++) {
		const zone_change_t *c = &r->diff.change[i];
		if (c->kind == ZONE_CHANGE_ADD) {
			char owner[DNS_NAME_STR_MAX], type[32];
			knot_dname_storage_t wire;
			const char *why = NULL;
			if (dns_name_from_key(c->new.key, c->new.keylen, wire) >= 0 &&
			    dns_name_to_str(wire, owner, sizeof(owner)) != NULL) {
				why = held_by_target(r, c, owner,
				                     dns_type_str(c->new.type, type, sizeof(type)));
			}
			if (why != NULL) {
				if (target_foreign_add(&r->conflicts, owner, type, why) != 0) {
					return -ENOMEM;
				}
				r->diff.added--;
				continue;
			}
		}
		r->diff.change[keep++] = *c;
	}
	r->diff.count = keep;
	return 0;
}

/* Does an addition of the diff fall where an ignore rule may hold an RRset
 * of the target's own (by name and type: the value only a read shows)? */
static bool may_conflict(const engine_result_t *r, const knot_dname_t *apex)
{
	char apex_text[DNS_NAME_STR_MAX];
	if (r->rules.nignore == 0 || dns_name_to_str(apex, apex_text, sizeof(apex_text)) == NULL) {
		return false;
	}
	for (size_t i = 0; i < r->diff.count; i++) {
		const zone_change_t *c = &r->diff.change[i];
		zone_rule_owner_t o;
		zone_rule_owner_init(&o, apex_text, &c->new);
		for (size_t k = 0; c->kind == ZONE_CHANGE_ADD && k < r->rules.nignore; k++) {
			if (zone_rule_match_name_type(&r->rules.ignore[k], &o)) {
				return true;
			}
		}
	}
	return false;
}

engine_adopt_t engine_adopt(const engine_adopt_in_t *in)
{
	engine_adopt_t out = { 0 };
	if (!in->guarded) {
		return out;
	}
	bool first = !in->known || in->unadopted;
	bool told = in->force || in->replace;
	/* Told to adopt a pair met before: what it left is deleted now,
	 * which takes a read (the pair may be clean). */
	out.read = in->known && in->unadopted && told;
	if (!first || told) {
		out.adopts = first;
		return out;
	}
	/* Only a read can find the provider's own records: a push of the
	 * primary's changes deletes what the primary deleted. */
	out.hold = in->read && in->deletions > 0;
	out.unadopted = !in->read || in->deletions > 0;
	out.adopts = !out.unadopted;
	return out;
}

/* First contact: take the deletions out of the diff into r->left when
 * engine_adopt says so (before the limits: they measure what is applied). */
static int hold_deletions(engine_adopt_in_t in, engine_result_t *r)
{
	in.deletions = r->diff.deleted;
	engine_adopt_t a = engine_adopt(&in);
	r->unadopted = a.unadopted;
	r->adopted = a.adopts;
	if (!a.hold) {
		return 0;
	}
	size_t keep = 0;
	for (size_t i = 0; i < r->diff.count; i++) {
		const zone_change_t *c = &r->diff.change[i];
		if (c->kind != ZONE_CHANGE_DELETE) {
			r->diff.change[keep++] = *c;
			continue;
		}
		if (r->left.count == r->left.cap) {
			size_t cap = r->left.cap ? 2 * r->left.cap : 16;
			zone_change_t *n = realloc(r->left.change, cap * sizeof(*n));
			if (n == NULL) {
				snprintf(r->error, sizeof(r->error), "out of memory");
				return -ENOMEM;
			}
			r->left.change = n;
			r->left.cap = cap;
		}
		r->left.change[r->left.count++] = *c;
		r->left.deleted++;
		r->diff.deleted--;
	}
	r->diff.count = keep;
	return 0;
}

/* Read the live records and diff them against the desired view. */
static int full_diff(engine_zone_t *z, const target_ops_t *ops, target_t *t,
                     const conf_target_t *tc, const zone_view_rules_t *rules, engine_result_t *r)
{
	zone_diff_free(&r->diff);
	zone_diff_free(&r->left); /* it points into base */
	zone_view_free(&r->base);
	zone_free(&r->live);
	target_foreign_free(&r->foreign);
	target_foreign_free(&r->conflicts);
	zone_view_skipped_free(&r->live_kept);
	zone_extdns_free(r->extdns);
	r->extdns = NULL;
	int ret = ops->read(t, &r->live, &r->foreign, &r->stats, r->error, sizeof(r->error));
	if (ret != 0) {
		return ret;
	}
	ret = want_full(z, tc, rules, r->live.apex, r);
	zone_view_rules_t live = *rules;
	live.primary_side = false;
	if (ret == 0 && tc->ignore_owned_by == CONF_OWNED_EXTERNAL_DNS) {
		ret = zone_extdns_index(&r->live, &r->extdns);
		live.hold = zone_extdns_hold;
		live.hold_ctx = r->extdns;
	}
	if (ret == 0) {
		ret = zone_view(&r->live, &live, &r->base, &r->live_kept);
	}
	if (ret == 0) {
		ret = zone_diff(&r->base, &r->want, &r->diff);
	}
	if (ret == 0) {
		ret = drop_conflicts(r);
	}
	r->total = r->base.rrsets;
	if (ret != 0 && r->error[0] == '\0') {
		snprintf(r->error, sizeof(r->error), "out of memory");
	}
	return ret;
}

static void log_result(const conf_zone_t *zc, const conf_target_t *tc, const engine_zone_t *z,
                       const engine_opts_t *o, const engine_result_t *r)
{
	if (o->plan) {
		return;
	}
	if (r->conflicts.count > 0) {
		const target_foreign_set_t *c = &r->conflicts.set[0];
		log_warning("conflicts, not pushed: zone=%s target=%s count=%zu first=\"%s %s\" "
		            "why=\"%s\": the target holds these names and types as its own",
		            zc->domain, tc->id, r->conflicts.count, c->name, c->type, c->why);
	}
	if (r->ret == 0 && r->left.count > 0) {
		char owner[DNS_NAME_STR_MAX], type[32];
		const zone_rrset_t *d = &r->left.change[0].old;
		if (dns_key_to_str(d->key, d->keylen, owner, sizeof(owner)) == NULL) {
			snprintf(owner, sizeof(owner), "?");
		}
		log_notice("first contact, not deleted: zone=%s target=%s count=%zu first=\"%s %s\": "
		           "the target holds RRsets the primary lacks and zonesync has not adopted "
		           "it; to delete them, run 'zonesync sync --force' once or set adopt: "
		           "replace on the target (zonesync plan lists them)",
		           zc->domain, tc->id, r->left.count, LOGV(owner),
		           dns_type_str(d->type, type, sizeof(type)));
	} else if (r->ret == 0 && r->adopted && r->diff.deleted > 0) {
		log_notice("target adopted: zone=%s target=%s deleted=%zu: the RRsets it held that "
		           "the primary lacks are deleted, it now holds the primary's zone",
		           zc->domain, tc->id, r->diff.deleted);
	}
	if (r->stood_down) {
		log_notice("target ahead, standing down: zone=%s target=%s serial=%u "
		           "provider-serial=%u: another writer (a second zonesync host?) pushed "
		           "a newer serial; not pushed, asking the primary for a refresh",
		           zc->domain, tc->id, z->serial, r->provider_serial);
	} else if (r->ret == 0 && r->uptodate) {
		log_debug("target up to date: zone=%s target=%s serial=%u", zc->domain, tc->id,
		          z->serial);
	} else if (r->ret == 0 && r->drift) {
		log_notice("drift repaired: zone=%s target=%s serial=%u added=%zu changed=%zu "
		           "deleted=%zu requests=%zu: its records had been changed outside "
		           "zonesync",
		           zc->domain, tc->id, z->serial, r->diff.added, r->diff.replaced,
		           r->diff.deleted, r->stats.requests);
	} else if (r->ret == 0) {
		log_info("target synced: zone=%s target=%s serial=%u mode=%s changes=%zu "
		         "added=%zu updated=%zu deleted=%zu skipped=%zu requests=%zu reads=%zu "
		         "writes=%zu retries=%zu throttled=%zu time=%.3fs",
		         zc->domain, tc->id, z->serial, r->incremental ? "incremental" : "full",
		         r->diff.count, r->diff.added, r->diff.replaced, r->diff.deleted,
		         r->skipped.rrsets, r->stats.requests, r->stats.reads, r->stats.writes,
		         r->stats.retries, r->stats.throttled, r->secs);
	} else if (r->ret == -ECANCELED) {
		log_notice("target push interrupted: zone=%s target=%s serial=%u dirty=%s "
		           "requests=%zu: the daemon is stopping; %s",
		           zc->domain, tc->id, z->serial, r->wrote ? "yes" : "no",
		           r->stats.requests,
		           r->wrote ? "reconciled from the live records at the next start"
		                    : "nothing was written");
	} else if (r->held) {
		log_debug("target still refused, not tried again before a new serial or "
		          "--force: zone=%s target=%s serial=%u error=%s",
		          zc->domain, tc->id, z->serial, LOGV(r->error));
	} else if (r->refused) {
		log_msg(o->reported ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
		        "target refused: zone=%s target=%s serial=%u error=%s", zc->domain, tc->id,
		        z->serial, LOGV(r->error));
	} else {
		log_msg(o->reported ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
		        "target failed: zone=%s target=%s serial=%u dirty=%s requests=%zu "
		        "error=%s",
		        zc->domain, tc->id, z->serial, r->wrote ? "yes" : "no", r->stats.requests,
		        LOGV(r->error));
	}
}

static void record(store_t *st, const conf_zone_t *zc, const conf_target_t *tc, store_target_t *ts,
                   const char *error)
{
	if (error != NULL) {
		snprintf(ts->last_error, sizeof(ts->last_error), "%.*s",
		         (int)sizeof(ts->last_error) - 1, error);
		log_printable(ts->last_error); /* each provider did; the rest too */
	} else {
		ts->last_error[0] = '\0';
	}
	if (store_target_set(st, zc->name, tc->id, ts) != 0) {
		log_error("cannot record the target's state: zone=%s target=%s", zc->domain,
		          tc->id);
	}
}

void engine_gauges(const conf_zone_t *zc, const conf_target_t *tc, const store_target_t *ts)
{
	if (ts->has_serial) {
		metrics_set(M_TARGET_SERIAL, ts->serial, zc->domain, tc->id);
	}
	bool ok = ts->has_serial && !ts->dirty && ts->last_error[0] == '\0';
	metrics_set(M_TARGET_OK, ok ? 1 : 0, zc->domain, tc->id);
	if (ts->last_ok > 0) {
		metrics_set(M_LAST_SUCCESS, (double)ts->last_ok, zc->domain, tc->id);
	}
}

void engine_account(const conf_zone_t *zc, const conf_target_t *tc, const store_target_t *ts,
                    int ret, bool refused, double secs, const target_stats_t *stats,
                    const zone_diff_t *d)
{
	const char *z = zc->domain, *t = tc->id;
	metrics_add(M_SYNCS, 1, z, t, ret == 0 ? "ok" : refused ? "refused" : "failed");
	metrics_observe(M_SYNC_DURATION, secs, t);
	if (ret == 0 && d != NULL) {
		metrics_add(M_RRSETS_CHANGED, (double)d->added, z, t, "add");
		metrics_add(M_RRSETS_CHANGED, (double)d->replaced, z, t, "change");
		metrics_add(M_RRSETS_CHANGED, (double)d->deleted, z, t, "delete");
	}
	if (stats != NULL) {
		metrics_add(M_API_REQUESTS, (double)stats->requests, t);
		metrics_add(M_API_RETRIES, (double)stats->retries, t);
		metrics_add(M_API_THROTTLES, (double)stats->throttled, t);
	}
	engine_gauges(zc, tc, ts);
}

/* The changes from the IXFR delta alone: no read of the target. */
static int delta_diff(engine_zone_t *z, const conf_zone_t *zc, const zone_view_rules_t *rules,
                      engine_result_t *r)
{
	const engine_delta_t *d = z->delta;
	int ret = zone_view(&d->old, rules, &r->base, NULL);
	if (ret == 0) {
		ret = zone_view(&d->new, rules, &r->delta_want, &r->skipped);
	}
	if (ret == 0) {
		ret = zone_diff(&r->base, &r->delta_want, &r->diff);
	}
	if (ret == 0 && (r->diff.deleted > 0 || r->diff.replaced > 0)) {
		/* Limits are shares of the zone before the change, as a full
		 * push measures them against the live records. */
		size_t after = 0;
		ret = store_zone_rrsets(z->store, zc->name, &after);
		r->total = after + r->diff.deleted - r->diff.added;
	}
	if (ret != 0) {
		snprintf(r->error, sizeof(r->error), "cannot compute the change");
	}
	return ret;
}

engine_fence_t engine_fence(bool has_live, uint32_t live, uint32_t ours, bool differs)
{
	if (!has_live) {
		return ENGINE_FENCE_PUSH;
	}
	switch (serial_cmp(live, ours)) {
	case SERIAL_LT:
		return ENGINE_FENCE_PUSH;
	case SERIAL_EQ:
		/* Our serial with other data: drift, or the other host's push
		 * of this same serial still going: ours brings the same data. */
		return differs ? ENGINE_FENCE_PUSH : ENGINE_FENCE_NOTHING;
	default:
		/* Ahead, or 2^31 away (no order): moving it would be moving it
		 * back for every secondary that follows the provider. */
		return ENGINE_FENCE_STAND_DOWN;
	}
}

/* A provider whose view holds the apex SOA with the primary's serial
 * (soa-serial: mirror; powerdns's full copy): its SOA, as read, decides
 * (engine_fence) and becomes the push's fence.  Without a read there is
 * nothing to fence with (a mirror target is always read).  A file written
 * whole is this host's own.  --force writes whatever the serial. */
static engine_fence_t fence(const target_ops_t *ops, const zone_view_rules_t *rules,
                            const engine_opts_t *o, uint32_t serial, engine_result_t *r,
                            target_push_t *push)
{
	push->fence_old = push->fence_new = NULL;
	if (!rules->apex_soa || (ops->flags & (TARGET_WHOLE | TARGET_UNGUARDED)) ||
	    r->incremental || r->notifier ||
	    !zone_find(&r->live, r->live.apex, KNOT_RRTYPE_SOA, &r->fence_old) ||
	    r->fence_old.count != 1 ||
	    !zone_find(&r->want, r->want.apex, KNOT_RRTYPE_SOA, &r->fence_new)) {
		return ENGINE_FENCE_PUSH;
	}
	uint32_t have = knot_soa_serial(r->fence_old.rr[0].rd);
	engine_fence_t f = engine_fence(true, have, serial, r->diff.count > 0);
	if (f == ENGINE_FENCE_STAND_DOWN && !o->force) {
		r->stood_down = true;
		r->provider_serial = have;
		return f;
	}
	/* Forced, still fenced: what another writer does meanwhile is seen. */
	push->fence_old = &r->fence_old;
	push->fence_new = &r->fence_new;
	return f == ENGINE_FENCE_STAND_DOWN ? ENGINE_FENCE_PUSH : f;
}

int engine_push(engine_zone_t *z, const conf_zone_t *zc, const conf_target_t *tc,
                const engine_opts_t *o, engine_result_t *r)
{
	memset(r, 0, sizeof(*r));
	double t0 = mono();
	const target_ops_t *ops = target_ops(tc);
	store_target_t ts = { 0 };
	if (z->store != NULL && store_target_get(z->store, zc->name, tc->id, &ts) != 0) {
		snprintf(r->error, sizeof(r->error), "cannot read the target's state");
		r->ret = -EIO;
		goto out;
	}
	r->has_previous = ts.has_serial;
	r->previous = ts.serial;
	r->notifier = ops->read == NULL;
	bool clean = ts.has_serial && !ts.dirty && ts.serial == z->serial;
	/* First contact applies to providers that serve; a file written
	 * whole holds only what zonesync wrote. */
	bool guarded = !r->notifier && !(ops->flags & (TARGET_UNGUARDED | TARGET_WHOLE));
	engine_adopt_in_t adopt = { .guarded = guarded,
		                    .known = ts.has_serial,
		                    .unadopted = ts.unadopted,
		                    .force = o->force,
		                    .replace = tc->adopt == CONF_ADOPT_REPLACE };
	bool full = (o->full || engine_adopt(&adopt).read) && !r->notifier;
	if (!o->plan && !o->force && !full && ts.refused && ts.refused_serial == z->serial) {
		snprintf(r->error, sizeof(r->error), "%s", ts.last_error);
		r->refused = r->held = true;
		r->ret = -EPERM;
		goto out;
	}
	bool behind = !clean;
	if (!o->plan && !behind && !full) {
		r->uptodate = true;
		goto out;
	}
	zone_view_rules_t rules = ops->rules(tc);
	if (zone_rules_add(&r->rules, &zc->rules) != 0 || zone_rules_add(&r->rules, &tc->rules) != 0) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		r->ret = -ENOMEM;
		goto out;
	}
	rules.filter = &r->rules;
	rules.primary_side = true;
	const engine_delta_t *d = z->delta;
	/* soa-serial: mirror needs the target's own SOA, ignore-owned-by
	 * what the other tool owns now: always read. */
	r->incremental = !o->plan && !full && d != NULL && ts.has_serial && !ts.dirty &&
	                 !ts.refused && ts.serial == d->from && !mirrors_soa(tc, &rules) &&
	                 tc->ignore_owned_by == CONF_OWNED_NONE;
	bool limited = !r->notifier && !(ops->flags & TARGET_UNGUARDED);

	target_t *t = NULL;
	r->ret = ops->open(tc, zc, &t, &r->stats, r->error, sizeof(r->error));
	if (r->ret != 0) {
		goto record;
	}
	if (ops->start != NULL) {
		ops->start(t, &o->topts);
	}
	if (r->incremental) {
		r->ret = delta_diff(z, zc, &rules, r);
		if (r->ret == 0 && may_conflict(r, zc->name)) {
			/* Only a read tells a conflict from a plain addition:
			 * a conflict is never written over the target's own. */
			r->incremental = false;
			r->ret = full_diff(z, ops, t, tc, &rules, r);
		}
	} else if (!r->notifier) {
		r->ret = full_diff(z, ops, t, tc, &rules, r);
	}
	if (r->ret == 0 && (ops->flags & TARGET_WHOLE) && !o->plan) {
		r->ret = want_full(z, tc, &rules, zc->name, r);
	}
	target_push_t push = { .diff = &r->diff,
		               .live_known = !r->incremental,
		               .want = (ops->flags & TARGET_WHOLE) ? &r->want : NULL,
		               .serial = z->serial,
		               .has_previous = ts.has_serial,
		               .previous = ts.serial,
		               .primary = z->primary != NULL ? z->primary : "" };
	/* Before the limits: a provider far ahead is not ours to judge. */
	if (r->ret == 0 && !o->plan &&
	    fence(ops, &rules, o, z->serial, r, &push) == ENGINE_FENCE_STAND_DOWN) {
		goto close;
	}
	adopt.read = !r->incremental && !r->notifier;
	if (r->ret == 0) {
		r->ret = hold_deletions(adopt, r);
	}
	if (r->ret == 0 && limited && !o->force) {
		r->ret = check_limits(zc, r);
	}
	/* A notifier has nothing to compare: it is behind or not. */
	r->notify = r->notifier && behind;
	if (r->ret != 0 || o->plan) {
		goto close;
	}
	if (ops->apply != NULL && r->diff.count > 0) {
		ts.dirty = true; /* before the first write: a crash leaves it dirty */
		record(z->store, zc, tc, &ts, NULL);
		r->wrote = true;
		r->ret = ops->apply(t, &push, &o->topts, &r->stats, r->error, sizeof(r->error));
		/* One re-read for records edited meanwhile; a fenced push more:
		 * each refusal may be the other host's write, decided anew. */
		int tries = push.fence_old != NULL ? ENGINE_FENCE_TRIES : 2;
		for (int n = 1; r->ret == -ESTALE && n < tries; n++) {
			log_notice("target's records differ from what we expected, reading them "
			           "again: zone=%s target=%s error=%s",
			           zc->domain, tc->id, LOGV(r->error));
			r->error[0] = '\0';
			r->incremental = false;
			r->ret = full_diff(z, ops, t, tc, &rules, r);
			if (r->ret == 0 && fence(ops, &rules, o, z->serial, r, &push) ==
			                           ENGINE_FENCE_STAND_DOWN) {
				break;
			}
			adopt.read = true;
			if (r->ret == 0) {
				r->ret = hold_deletions(adopt, r);
			}
			if (r->ret == 0 && limited && !o->force) {
				r->ret = check_limits(zc, r);
			}
			push.live_known = true;
			if (r->ret == 0 && r->diff.count > 0) {
				r->ret = ops->apply(t, &push, &o->topts, &r->stats, r->error,
				                    sizeof(r->error));
			}
		}
	}
	if (r->ret == 0 && !r->stood_down && ops->on_serial != NULL) {
		/* The changes are known from a delta or a read; a notifier
		 * without a delta does not know them. */
		push.diff = r->incremental || !r->notifier ? &r->diff : NULL;
		r->ret = ops->on_serial(t, &push, &o->topts, &r->stats, r->error, sizeof(r->error));
	}
close:
	ops->close(t);
record:
	/* What differed on a target in sync was changed outside zonesync;
	 * what adopting it deletes was there before zonesync came. */
	r->drift = r->ret == 0 && !o->plan && clean && !r->notifier && r->diff.count > 0 &&
	           !r->adopted && !r->stood_down;
	if (!o->plan && z->store != NULL) {
		if (r->stood_down) {
			/* Not ours to record: the serial stays the one we
			 * pushed, dirty if we wrote, no error. */
			record(z->store, zc, tc, &ts, NULL);
		} else if (r->ret == 0) {
			ts = (store_target_t){ .has_serial = true,
				               .serial = z->serial,
				               .last_ok = (int64_t)time(NULL),
				               .unadopted = r->unadopted };
			record(z->store, zc, tc, &ts, NULL);
		} else {
			ts.refused = r->refused;
			ts.refused_serial = r->refused ? z->serial : 0;
			/* Interrupted: no error, just dirty (or untouched). */
			record(z->store, zc, tc, &ts, r->ret == -ECANCELED ? NULL : r->error);
		}
	}
out:
	r->secs = mono() - t0;
	log_printable(r->error); /* a provider's text in it (names, values) */
	log_result(zc, tc, z, o, r);
	if (!o->plan && r->stood_down) {
		metrics_add(M_STOOD_DOWN, 1, zc->domain, tc->id);
		metrics_add(M_API_REQUESTS, (double)r->stats.requests, tc->id);
		engine_gauges(zc, tc, &ts);
	} else if (!o->plan && (r->uptodate || r->held)) {
		engine_gauges(zc, tc, &ts);
	} else if (!o->plan) {
		engine_account(zc, tc, &ts, r->ret, r->refused, r->secs, &r->stats, &r->diff);
		if (!r->incremental && !r->notifier && r->ret == 0) {
			metrics_set(M_CONFLICTS, (double)r->conflicts.count, zc->domain, tc->id);
		}
		/* Every push, so that the series exists (at 0) before a repair. */
		metrics_add(M_DRIFT_REPAIRED, r->drift ? (double)r->diff.count : 0, zc->domain,
		            tc->id);
	}
	return r->ret;
}

void engine_result_free(engine_result_t *r)
{
	zone_diff_free(&r->diff);
	zone_diff_free(&r->left);
	zone_view_free(&r->base);
	zone_view_free(&r->want);
	zone_view_free(&r->delta_want);
	target_foreign_free(&r->foreign);
	target_foreign_free(&r->conflicts);
	zone_view_skipped_free(&r->live_kept);
	zone_extdns_free(r->extdns);
	r->extdns = NULL;
	zone_rules_free(&r->rules);
	zone_free(&r->live);
	zone_view_skipped_free(&r->skipped);
	free(r->soa);
	r->soa = NULL;
}

void engine_zone_free(engine_zone_t *z)
{
	if (z->has_loaded) {
		zone_free(&z->loaded);
		z->has_loaded = false;
	}
}

void engine_delta_free(engine_delta_t *d)
{
	zone_free(&d->old);
	zone_free(&d->new);
}
