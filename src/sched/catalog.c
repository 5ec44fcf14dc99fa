/*
 * Catalog zones (RFC 9432) as a consumer: the members of each catalog made
 * zones of the running configuration, without a reload.
 *
 * A catalog zone is refreshed as any zone (it has no targets).  When its
 * job commits a new serial, its members are read here, on the loop thread,
 * from the stored snapshot (zone/catalog.h); if they changed, a new
 * generation of the configuration is built (the file's tree, loaded again,
 * plus the members, each a zone of its template: conf_with_members) and
 * taken in by the reload's own path: a zone that stays keeps running, a new
 * member starts, a removed one stops, one whose template changed restarts.
 * The members of each catalog are kept here (not in the configuration: a
 * member hidden by a zone of the file comes back when that zone goes), so
 * that a reload of the file keeps them; the catalog zone is in the store,
 * so at start they are read from there before the primary is asked.
 */
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"
#include "obs/log.h"
#include "sched/catalog.h"
#include "sched/internal.h"
#include "sync/engine.h"
#include "zone/catalog.h"
#include "zone/zonefile.h"

typedef struct {
	knot_dname_storage_t name;
	catalog_t set;
	uint32_t serial; /* the catalog's serial the set was read at */
} catset_t;

struct sched_catalogs {
	catset_t *c;
	size_t n;
};

void sched_catalog_free(sched_t *s)
{
	struct sched_catalogs *cs = s->catalogs;
	for (size_t i = 0; cs != NULL && i < cs->n; i++) {
		catalog_free(&cs->c[i].set);
	}
	if (cs != NULL) {
		free(cs->c);
		free(cs);
	}
	s->catalogs = NULL;
}

static catset_t *catset_find(const sched_t *s, const knot_dname_t *name)
{
	for (size_t i = 0; s->catalogs != NULL && i < s->catalogs->n; i++) {
		if (dns_name_equal(s->catalogs->c[i].name, name)) {
			return &s->catalogs->c[i];
		}
	}
	return NULL;
}

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	log_warning("%s", msg);
}

int sched_catalog_path(const char *state, const knot_dname_t *name, char *buf, size_t size)
{
	char domain[DNS_NAME_STR_MAX];
	if (dns_name_to_str(name, domain, sizeof(domain)) == NULL) {
		return -EINVAL;
	}
	/* A '/' in a label would leave the directory. */
	for (char *p = domain; *p != '\0'; p++) {
		*p = *p == '/' ? '_' : *p;
	}
	int n = snprintf(buf, size, "%s/catalog-%szone", state, domain);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int sched_catalog_accepted(const char *state, const knot_dname_t *name, catalog_t *out,
                           uint32_t *serial, char *err, size_t errlen)
{
	char path[4096];
	zone_t z;
	zone_error_t zerr;
	memset(out, 0, sizeof(*out));
	if (sched_catalog_path(state, name, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "name too long");
		return -ENAMETOOLONG;
	}
	int ret = zone_load_file(&z, path, name, &zerr);
	if (ret != 0) {
		snprintf(err, errlen, "%s", zerr.msg);
		return access(path, F_OK) != 0 ? -ENOENT : ret;
	}
	if (zone_serial(&z, serial) != 0) {
		*serial = 0;
	}
	ret = catalog_parse(&z, NULL, out, NULL, NULL, err, errlen);
	zone_free(&z);
	return ret;
}

/* Keep z as the catalog accepted (written whole, then renamed). */
static void accept_write(const char *state, const conf_zone_t *zc, const zone_t *z)
{
	char path[4096], tmp[4200];
	if (sched_catalog_path(state, zc->name, path, sizeof(path)) != 0) {
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int ret = f != NULL ? zone_write(z, f) : -errno;
	if (f != NULL && (fflush(f) != 0 || fsync(fileno(f)) != 0) && ret == 0) {
		ret = -errno;
	}
	if (f != NULL && fclose(f) != 0 && ret == 0) {
		ret = -errno;
	}
	if (ret == 0 && rename(tmp, path) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		unlink(tmp);
		log_error("catalog members not kept for a restart: catalog=%s path=%s error=%s",
		          zc->domain, LOGV(path), LOGV(strerror(-ret)));
	}
}

/* The members of catalog zc in the store (its snapshot at serial), with
 * prev for the unique ids members had; the snapshot into keep (when not
 * NULL, on success).  0, -ENOENT (none stored), or another error logged. */
static int read_stored(store_t *st, const conf_zone_t *zc, const catalog_t *prev, catalog_t *out,
                       uint32_t *serial, zone_t *keep)
{
	zone_t z;
	int ret = store_zone_load(st, zc->name, &z);
	if (ret != 0) {
		if (ret != -ENOENT) {
			log_error("catalog not read: catalog=%s error=%s", zc->domain,
			          LOGV(strerror(-ret)));
		}
		return ret;
	}
	if (z.apex_len == 0) {
		zone_set_apex(&z, zc->name);
	}
	if (zone_serial(&z, serial) != 0) {
		*serial = 0;
	}
	char err[512];
	ret = catalog_parse(&z, prev, out, on_warn, NULL, err, sizeof(err));
	if (ret != 0) {
		log_error("catalog refused, its members stay as they were: catalog=%s serial=%u "
		          "error=%s",
		          zc->domain, *serial, LOGV(err));
	}
	if (ret == 0 && keep != NULL) {
		*keep = z;
	} else {
		zone_free(&z);
	}
	return ret;
}

void sched_catalog_read(sched_t *s, const conf_t *conf, store_t *st)
{
	struct sched_catalogs *cs = s->catalogs;
	if (cs == NULL && conf->ncatalog == 0) {
		return;
	}
	if (cs == NULL && (cs = s->catalogs = calloc(1, sizeof(*cs))) == NULL) {
		return;
	}
	/* Forget the catalogs the file does not list any more. */
	size_t keep = 0;
	for (size_t i = 0; i < cs->n; i++) {
		if (conf_catalog_find(conf, cs->c[i].name) != NULL) {
			cs->c[keep++] = cs->c[i];
		} else {
			catalog_free(&cs->c[i].set);
		}
	}
	cs->n = keep;
	catset_t *c = realloc(cs->c, (cs->n + conf->ncatalog + 1) * sizeof(*c));
	if (c == NULL) {
		return;
	}
	cs->c = c;
	for (size_t i = 0; i < conf->ncatalog; i++) {
		const conf_catalog_t *cat = &conf->catalog[i];
		const conf_zone_t *zc = conf_zone_find(conf, cat->name);
		if (catset_find(s, cat->name) != NULL || zc == NULL) {
			continue;
		}
		catset_t *n = &cs->c[cs->n];
		memset(n, 0, sizeof(*n));
		memcpy(n->name, cat->name, knot_dname_size(cat->name));
		/* The members last accepted; else (none yet) the stored
		 * catalog, if it can be accepted. */
		char err[512];
		zone_t z;
		int ret = sched_catalog_accepted(conf->server.state, cat->name, &n->set, &n->serial,
		                                 err, sizeof(err));
		if (ret == -ENOENT && read_stored(st, zc, NULL, &n->set, &n->serial, &z) == 0) {
			accept_write(conf->server.state, zc, &z);
			zone_free(&z);
			ret = 0;
		} else if (ret != 0 && ret != -ENOENT) {
			log_error("catalog members not read: catalog=%s error=%s", cat->domain,
			          LOGV(err));
		}
		if (ret == 0) {
			log_info("catalog read from the store: catalog=%s serial=%u members=%zu",
			         cat->domain, n->serial, n->set.n);
		}
		cs->n++;
	}
}

/* The members to make zones of, in the order of conf's catalogs: a name
 * the file lists, a catalog's name, or one an earlier catalog holds, is
 * left out with a warning.  *out malloc'd. */
static int members_of(const sched_t *s, const conf_t *conf, conf_member_t **out, size_t *n)
{
	size_t total = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; s->catalogs != NULL && i < s->catalogs->n; i++) {
		total += s->catalogs->c[i].set.n;
	}
	if (total == 0) {
		return 0;
	}
	conf_member_t *m = calloc(total, sizeof(*m));
	if (m == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < conf->ncatalog; i++) {
		const conf_catalog_t *cat = &conf->catalog[i];
		const catset_t *cs = catset_find(s, cat->name);
		for (size_t k = 0; cs != NULL && k < cs->set.n; k++) {
			const catalog_member_t *cm = &cs->set.m[k];
			/* conf may be a generation with members already: those
			 * are not the file's. */
			const conf_zone_t *zc = conf_zone_find(conf, cm->name);
			if (zc != NULL && zc->member_of != NULL) {
				zc = NULL;
			}
			const conf_member_t *twice = NULL;
			for (size_t j = 0; j < *n && twice == NULL; j++) {
				twice = dns_name_equal(m[j].name, cm->name) ? &m[j] : NULL;
			}
			char name[DNS_NAME_STR_MAX], other[DNS_NAME_STR_MAX];
			dns_name_to_str(cm->name, name, sizeof(name));
			if (zc != NULL && zc->catalog != NULL) {
				log_warning("catalog member skipped: zone=%s catalog=%s: it is a "
				            "catalog",
				            name, cat->domain);
			} else if (zc != NULL) {
				log_warning("catalog member skipped: zone=%s catalog=%s: the zone "
				            "is also "
				            "in the configuration file, which wins",
				            name, cat->domain);
			} else if (twice != NULL) {
				log_warning("catalog member skipped: zone=%s catalog=%s: it is a "
				            "member "
				            "of catalog %s already (listed first)",
				            name, cat->domain,
				            dns_name_to_str(twice->catalog, other, sizeof(other)));
			} else {
				m[(*n)++] = (conf_member_t){ .name = cm->name,
					                     .catalog = cat->name,
					                     .group = cm->group };
			}
		}
	}
	*out = m;
	return 0;
}

/* from with the members held now, into out. */
static int build(sched_t *s, const conf_t *from, conf_t *out, char *err, size_t errlen)
{
	conf_member_t *m;
	size_t n;
	if (members_of(s, from, &m, &n) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	int ret = errs != NULL ? conf_with_members(from, m, n, out, errs) : -ENOMEM;
	if (errs != NULL) {
		fclose(errs);
	}
	/* What conf_with_members told: a member its template's targets
	 * cannot take (left out), or why it failed. */
	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		if (ret == 0) {
			log_warning("catalog member skipped: %s", line);
		} else {
			log_error("catalog members not taken: %s", line);
		}
	}
	free(text);
	free(m);
	if (ret != 0) {
		snprintf(err, errlen, "the configuration with the catalogs' members has errors");
	}
	return ret;
}

int sched_catalog_expand(sched_t *s, conf_t *conf, char *err, size_t errlen)
{
	if (conf->ncatalog == 0 && s->catalogs == NULL) {
		return 0;
	}
	store_t *st;
	int ret = store_open(conf->server.state, &st, err, errlen);
	if (ret != 0) {
		return ret;
	}
	sched_catalog_read(s, conf, st);
	store_close(st);
	conf_t with;
	if ((ret = build(s, conf, &with, err, errlen)) != 0) {
		return ret;
	}
	conf_free(conf);
	*conf = with;
	return 0;
}

int sched_catalog_start(sched_t *s, store_t *st, char *err, size_t errlen)
{
	const conf_t *conf = s->gen->conf;
	if (conf->ncatalog == 0) {
		return 0;
	}
	sched_catalog_read(s, conf, st);
	conf_t *with = calloc(1, sizeof(*with));
	if (with == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int ret = build(s, conf, with, err, errlen);
	if (ret != 0) {
		free(with); /* nothing loaded */
		return ret;
	}
	sched_reload_t r;
	if ((ret = sched_reload_gen(s, with, &r, false, err, errlen)) != 0) {
		conf_free(with);
		free(with);
	}
	return ret;
}

/* Too many members leave at once?  (max-remove; one always may.) */
static bool too_many_removed(const conf_catalog_t *cat, size_t before, size_t removed)
{
	uint64_t limit = cat->max_remove.percent ? (uint64_t)before * cat->max_remove.value / 100
	                                         : cat->max_remove.value;
	return removed > 1 && removed > limit;
}

void sched_catalog_commit(zstate_t *z)
{
	sched_t *s = z->s;
	const conf_zone_t *zc = z->conf;
	catset_t *cs = catset_find(s, zc->name);
	if (cs == NULL || zc->catalog == NULL) {
		return;
	}
	store_t *st;
	char err[512];
	if (store_open(s->gen->conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("catalog not read: catalog=%s error=%s", zc->domain, LOGV(err));
		return;
	}
	catalog_t set;
	uint32_t serial;
	zone_t snap;
	int ret = read_stored(st, zc, &cs->set, &set, &serial, &snap);
	store_close(st);
	if (ret != 0) {
		return;
	}
	if (catalog_equal(&set, &cs->set)) {
		cs->serial = serial;
		accept_write(s->gen->conf->server.state, zc, &snap);
		zone_free(&snap);
		catalog_free(&set);
		return;
	}
	size_t added = 0, removed = 0;
	for (size_t i = 0; i < set.n; i++) {
		added += catalog_find(&cs->set, set.m[i].name) == NULL;
	}
	for (size_t i = 0; i < cs->set.n; i++) {
		removed += catalog_find(&set, cs->set.m[i].name) == NULL;
	}
	if (too_many_removed(zc->catalog, cs->set.n, removed)) {
		log_error(
		        "catalog change held, its members stay as they were: catalog=%s serial=%u "
		        "removes %zu of %zu members, more than max-remove allows; fix the "
		        "catalog, or raise max-remove and reload",
		        zc->domain, serial, removed, cs->set.n);
		zone_free(&snap);
		catalog_free(&set);
		return;
	}
	catalog_t was = cs->set;
	cs->set = set;
	cs->serial = serial;
	conf_t *with = calloc(1, sizeof(*with));
	sched_reload_t r;
	ret = with != NULL ? build(s, s->gen->conf, with, err, sizeof(err)) : -ENOMEM;
	if (ret == 0 && (ret = sched_reload_gen(s, with, &r, true, err, sizeof(err))) != 0) {
		conf_free(with);
	}
	if (ret != 0) {
		free(with);
		cs->set = was; /* tried again at its next serial */
		zone_free(&snap);
		catalog_free(&set);
		log_error("catalog change not taken: catalog=%s serial=%u error=%s", zc->domain,
		          serial, LOGV(err));
		return;
	}
	zc = z->conf; /* the old generation may be gone: z is in the new one */
	/* The members that left with on-remove: purge, once idle. */
	for (zstate_t *o = s->retiring; o != NULL; o = o->next) {
		const conf_zone_t *oc = o->conf;
		if (oc->member_of != NULL && dns_name_equal(oc->member_of->name, zc->name) &&
		    oc->template->on_remove == CONF_ON_REMOVE_PURGE &&
		    catalog_find(&was, oc->name) != NULL && catalog_find(&set, oc->name) == NULL &&
		    conf_zone_find(s->gen->conf, oc->name) == NULL) {
			o->purge = true;
		}
	}
	catalog_free(&was);
	accept_write(s->gen->conf->server.state, zc, &snap);
	zone_free(&snap);
	log_info("catalog changed: catalog=%s serial=%u members=%zu added=%zu removed=%zu "
	         "restarted=%zu",
	         zc->domain, serial, set.n, added, removed, r.changed);
}

/* --- on-remove: purge ------------------------------------------------------
 *
 * One job per target of a member that left its catalog, once the member's
 * own jobs have ended: the engine pushes a zone of the apex SOA and NS
 * alone (what a provider requires stays; what the target's rules ignore
 * is not touched), reading the live records first.  Forced: the removal
 * is the catalog's explicit word, so max-delete does not hold it (the
 * catalog's max-remove guards against a catalog emptied by accident).
 * The target is left dirty: a member that comes back is compared with
 * its live records, not trusted to be at its old serial.
 */

typedef struct {
	uv_work_t work;
	sched_t *s;
	gen_t *gen; /* where zc and tc live */
	const conf_zone_t *zc;
	const conf_target_t *tc;
} purge_t;

/* The apex SOA and NS of snap, into out (finished). */
static int apex_only(const zone_t *snap, const knot_dname_t *apex, zone_t *out)
{
	static const uint16_t types[] = { KNOT_RRTYPE_SOA, KNOT_RRTYPE_NS };
	zone_init(out);
	zone_set_apex(out, apex);
	for (size_t t = 0; t < 2; t++) {
		zone_rrset_t r;
		for (size_t i = 0; zone_find(snap, apex, types[t], &r) && i < r.count; i++) {
			const zone_rr_t *rr = &r.rr[i];
			if (zone_add_keyed(out, rr->key, rr->keylen, rr->type, rr->ttl, rr->rd) !=
			    0) {
				return -ENOMEM;
			}
		}
	}
	return zone_finish(out);
}

static void purge_run(uv_work_t *w)
{
	purge_t *p = w->data;
	const conf_zone_t *zc = p->zc;
	const conf_target_t *tc = p->tc;
	store_t *st;
	char err[512];
	if (store_open(p->gen->conf->server.state, &st, err, sizeof(err)) != 0) {
		log_error("catalog member not purged: zone=%s target=%s error=%s", zc->domain,
		          tc->id, LOGV(err));
		return;
	}
	zone_t snap, empty;
	uint32_t serial = 0;
	int ret = store_zone_load(st, zc->name, &snap);
	if (ret == -ENOENT) {
		log_info("catalog member had no data, nothing to purge: zone=%s target=%s",
		         zc->domain, tc->id);
		store_close(st);
		return;
	}
	if (ret != 0 || apex_only(&snap, zc->name, &empty) != 0) {
		log_error("catalog member not purged: zone=%s target=%s error=%s", zc->domain,
		          tc->id, ret != 0 ? "its snapshot cannot be read" : "out of memory");
		if (ret == 0) {
			zone_free(&snap);
			zone_free(&empty);
		}
		store_close(st);
		return;
	}
	zone_serial(&snap, &serial);
	engine_zone_t ez = { .store = st, .zone = &empty, .serial = serial };
	engine_opts_t eo = { .force = true, .full = true, .topts.cancel = &p->s->cancel };
	engine_result_t r;
	ret = engine_push(&ez, zc, tc, &eo, &r);
	store_target_t ts;
	if (store_target_get(st, zc->name, tc->id, &ts) == 0) {
		ts.dirty = true;
		store_target_set(st, zc->name, tc->id, &ts);
	}
	if (ret == 0) {
		log_notice("catalog member purged: zone=%s target=%s changes=%zu", zc->domain,
		           tc->id, r.diff.count);
	} else {
		log_error("catalog member not purged: zone=%s target=%s error=%s", zc->domain,
		          tc->id, LOGV(r.error));
	}
	engine_result_free(&r);
	engine_zone_free(&ez);
	zone_free(&empty);
	zone_free(&snap);
	store_close(st);
}

static void purge_done(uv_work_t *w, int status)
{
	(void)status;
	purge_t *p = w->data;
	sched_gen_unref(p->gen);
	free(p);
}

void sched_catalog_purge(zstate_t *z)
{
	for (size_t k = 0; k < z->ntargets; k++) {
		purge_t *p = calloc(1, sizeof(*p));
		if (p == NULL) {
			log_error(
			        "catalog member not purged: zone=%s target=%s error=out of memory",
			        z->conf->domain, z->targets[k].conf->id);
			continue;
		}
		*p = (purge_t){ .s = z->s,
			        .gen = sched_gen_ref(z->gen),
			        .zc = z->conf,
			        .tc = z->targets[k].conf };
		p->work.data = p;
		log_info("catalog member left, purging: zone=%s target=%s", z->conf->domain,
		         p->tc->id);
		if (uv_queue_work(z->s->loop, &p->work, purge_run, purge_done) != 0) {
			sched_gen_unref(p->gen);
			free(p);
		}
	}
}
