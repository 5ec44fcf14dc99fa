/* A reload: a new configuration taken in while the old one's jobs run. */
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

int sched_reload(sched_t *s, conf_t *conf, sched_reload_t *out, char *err, size_t errlen)
{
	/* The catalogs' members are kept: the new file plus what each of its
	 * catalogs holds now. */
	int ret = sched_catalog_expand(s, conf, err, errlen);
	return ret != 0 ? ret : sched_reload_gen(s, conf, out, true, err, errlen);
}

int sched_reload_gen(sched_t *s, conf_t *conf, sched_reload_t *out, bool start, char *err,
                     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	gen_t *g = calloc(1, sizeof(*g));
	zstate_t **zones = calloc(conf->nzone + 1, sizeof(*zones));
	bool *kept = calloc(s->nzones + 1, sizeof(*kept));
	store_t *st = NULL;
	int ret = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	if (g == NULL || zones == NULL || kept == NULL ||
	    (ret = store_open(s->gen->conf->server.state, &st, err, errlen)) != 0 ||
	    (ret = sched_lanes(s, conf)) != 0) {
		goto fail;
	}
	/* First all that can fail: a zone the same as before keeps its state
	 * (timers, running jobs); any other gets a new one.  The old zone of
	 * the same name is found by name (s->zones[k] is the old
	 * configuration's zone[k]). */
	const conf_t *old = s->gen->conf;
	size_t starting = 0;
	for (size_t i = 0; i < conf->nzone; i++) {
		const conf_zone_t *was = conf_zone_find(old, conf->zone[i].name);
		size_t k = was != NULL ? (size_t)(was - old->zone) : 0;
		if (was != NULL && conf_zone_same(was, &conf->zone[i])) {
			kept[k] = true;
			zones[i] = s->zones[k];
		}
		starting += zones[i] == NULL;
		if (zones[i] == NULL && (zones[i] = sched_zone_alloc(s, &conf->zone[i])) == NULL) {
			for (size_t k = 0; k < i; k++) {
				if (zones[k]->gen == NULL) {
					sched_zone_free(zones[k]);
				}
			}
			ret = -ENOMEM;
			goto fail;
		}
	}
	/* From here nothing fails. */
	if (start) {
		sched_first_checks_log(starting);
	}
	g->conf = conf;
	sched_gen_ref(g);
	for (size_t k = 0; k < s->nzones; k++) {
		if (!kept[k]) {
			bool changed = conf_zone_find(conf, s->zones[k]->conf->name) != NULL;
			out->changed += changed;
			out->removed += !changed;
			log_info("zone %s: zone=%s",
			         changed ? "restarts, its configuration changed"
			                 : "removed, its state is kept",
			         s->zones[k]->conf->domain);
			sched_zone_retire(s->zones[k]);
		}
	}
	for (size_t i = 0; i < conf->nzone; i++) {
		zstate_t *z = zones[i];
		if (z->gen != NULL) {
			/* The same zone: its pointers move to the new generation. */
			out->kept++;
			sched_gen_unref(z->gen);
			z->gen = sched_gen_ref(g);
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
		sched_zone_arm(z, g);
		for (size_t o = 0; was != NULL && o < was->ntarget; o++) {
			bool kept = false;
			for (size_t k = 0; k < z->ntargets && !kept; k++) {
				kept = strcmp(was->target[o]->id, z->targets[k].conf->id) == 0;
			}
			if (!kept) {
				metrics_forget(z->conf->domain, was->target[o]->id);
			}
		}
		/* Its rules changed: what each target holds, in sync by its
		 * state, was so for the old rules. */
		bool rules = was != NULL && !zone_rules_equal(&was->rules, &z->conf->rules);
		for (size_t k = 0; was != NULL && k < z->ntargets; k++) {
			for (size_t o = 0; o < was->ntarget; o++) {
				const conf_target_t *a = was->target[o], *b = z->targets[k].conf;
				bool same = strcmp(a->id, b->id) != 0 || conf_target_same(a, b);
				if (strcmp(a->id, b->id) == 0 && (rules || !same)) {
					z->targets[k].reconcile = true;
					log_info("%s: zone=%s "
					         "target=%s: "
					         "pushed again in full (its live records read)",
					         !same ? "target's configuration changed"
					               : "zone's rules changed",
					         z->conf->domain, b->id);
				}
			}
		}
		if (start) {
			sched_zone_load(z, st);
			z->waiting = sched_name_retiring(s, z->conf);
			sched_zone_first_check(z, starting);
		}
	}
	store_close(st);
	free(kept);
	free(s->zones);
	s->zones = zones;
	s->nzones = conf->nzone;
	sched_gen_unref(s->gen); /* the old one lives on while its jobs run */
	s->gen = g;
	return 0;
fail:
	store_close(st);
	free(zones);
	free(kept);
	free(g);
	return ret;
}
