/* The registry of target types: one line per provider.  Shared keys and
 * small helpers every provider uses live here too. */
#include "target/target.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/log.h"
#include "obs/metrics.h"

extern const target_type_t route53_type, powerdns_type, rfc2136_type, zonefile_type, exec_type;

const conf_type_t *const target_registry[] = {
	&route53_type.conf,  &powerdns_type.conf, &rfc2136_type.conf,
	&zonefile_type.conf, &exec_type.conf,     NULL,
};

const char *const target_apex_ns_choices[] = { "keep", "sync", NULL };
const char *const target_soa_serial_choices[] = { "keep", "mirror", NULL };

bool target_mirrors_serial(const conf_target_t *t)
{
	const char *soa = conf_target_str(t, "soa-serial");
	return soa != NULL && strcmp(soa, "mirror") == 0;
}

bool target_unfenced(const conf_target_t *t)
{
	for (const conf_item_t *i = target_type(t)->conf.items; i->name != NULL; i++) {
		if (strcmp(i->name, "soa-serial") == 0) {
			return !target_mirrors_serial(t);
		}
	}
	return false;
}

size_t target_read_max(const conf_zone_t *zc)
{
	uint64_t max = zc->xfr_max_records;
	uint64_t room = max / 8 + 1000;
	return max > SIZE_MAX - room ? SIZE_MAX : (size_t)(max + room);
}

uint32_t target_reconcile_interval(const conf_target_t *t, const conf_zone_t *zc)
{
	const char *v = conf_target_str(t, "reconcile-interval");
	uint32_t secs = zc->reconcile_interval;
	if (target_ops(t)->read == NULL) {
		return 0;
	}
	if (v != NULL && conf_parse_duration(v, &secs) != 0) {
		secs = zc->reconcile_interval; /* cannot happen: the loader checked it */
	}
	return secs;
}

void target_cleanup(void)
{
	for (size_t i = 0; target_registry[i] != NULL; i++) {
		const target_type_t *type = (const target_type_t *)(const void *)target_registry[i];
		if (type->cleanup != NULL) {
			type->cleanup();
		}
	}
}

void target_report(const target_opts_t *o, target_progress_t *p, double secs, const char *why)
{
	if (o != NULL && o->progress != NULL) {
		p->waiting = secs;
		p->why = why;
		o->progress(o->progress_ctx, p);
		p->waiting = 0;
		p->why = NULL;
	}
}

int target_foreign_add(target_foreign_t *f, const char *name, const char *type, const char *why)
{
	if (f == NULL) {
		return 0;
	}
	if (f->count == f->cap) {
		size_t cap = f->cap == 0 ? 8 : f->cap * 2;
		target_foreign_set_t *n = realloc(f->set, cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		f->set = n;
		f->cap = cap;
	}
	target_foreign_set_t *s = &f->set[f->count];
	if ((s->name = strdup(name != NULL ? name : "")) == NULL) {
		return -ENOMEM;
	}
	snprintf(s->type, sizeof(s->type), "%s", type != NULL ? type : "");
	s->why = why;
	f->count++;
	return 0;
}

void target_foreign_free(target_foreign_t *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->set[i].name);
	}
	free(f->set);
	memset(f, 0, sizeof(*f));
}

void target_count_resends(const conf_target_t *tc, const conf_zone_t *zc, target_stats_t *stats,
                          unsigned sends, const char *method, const char *what)
{
	if (sends <= 1) {
		return;
	}
	unsigned again = sends - 1;
	stats->requests += again;
	stats->retries += again;
	metrics_add(M_REQUESTS_RESENT, again, tc->id, "reconnect");
	log_info("%s request re-sent by libcurl: target=%s zone=%s %s %s times=%u: the reused "
	         "connection closed before an answer",
	         tc->type->name, tc->id, zc->domain, method, what, again);
}
