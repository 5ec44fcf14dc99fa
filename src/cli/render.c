#include "cli/render.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libknot/rrset.h>

#include "dns/name.h"
#include "dns/rdata.h"

void render_init(render_t *r, FILE *f, bool json, render_mode_t mode)
{
	*r = (render_t){ .f = f, .json = json, .mode = mode, .first_zone = true };
}

void render_free(render_t *r)
{
	free(r->rdbuf);
	free(r->txt);
	r->rdbuf = NULL;
	r->txt = NULL;
}

/* Write v (then free it) as compact JSON. */
static void dump(FILE *f, json_t *v)
{
	if (v != NULL) {
		json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(v);
	} else {
		fputs("null", f);
	}
}

/* Our texts are ASCII (zone text escapes the rest); anything else, or an
 * invalid UTF-8 sequence, still makes valid JSON. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	if (v == NULL) {
		char *copy = strdup(s);
		for (char *p = copy; p != NULL && *p != '\0'; p++) {
			if ((unsigned char)*p >= 0x80) {
				*p = '?';
			}
		}
		v = copy != NULL ? json_string(copy) : NULL;
		free(copy);
	}
	return v;
}

json_t *render_json_str(const char *s)
{
	return jstr(s);
}

void render_str(FILE *out, const char *s)
{
	dump(out, jstr(s));
}

int render_records(render_t *r, const zone_rrset_t *s, const char *prefix)
{
	knot_dname_storage_t owner;
	knot_rrset_t rr;
	int ret = zone_rrset_to_knot(s, &rr, owner, &r->rdbuf, &r->rdsize);
	for (size_t i = 0; ret == 0 && i < s->count; i++) {
		int len = dns_rr_text(&rr, i, 1, &r->txt, &r->txtsize);
		if (len < 0) {
			return len;
		}
		fprintf(r->f, "%s%.*s\n", prefix, len, r->txt);
	}
	return ret;
}

/* {"ttl":N,"values"|"rdata":[...]} */
static json_t *rrset_json(render_t *r, const zone_rrset_t *s)
{
	knot_dname_storage_t owner;
	knot_rrset_t rr;
	if (zone_rrset_to_knot(s, &rr, owner, &r->rdbuf, &r->rdsize) < 0) {
		return NULL;
	}
	json_t *values = json_array();
	for (size_t i = 0; i < s->count; i++) {
		int len = dns_rr_text(&rr, i, 0, &r->txt, &r->txtsize);
		if (len < 0) {
			json_decref(values);
			return NULL;
		}
		json_array_append_new(values, json_stringn(r->txt, (size_t)len));
	}
	return json_pack("{s:I,s:o}", "ttl", (json_int_t)s->ttl,
	                 r->mode == RENDER_DIFF ? "rdata" : "values", values);
}

int render_rrset_json(render_t *r, const char *label, const zone_rrset_t *s)
{
	fprintf(r->f, ",\"%s\":", label);
	if (s == NULL) {
		fputs("null", r->f);
		return 0;
	}
	json_t *v = rrset_json(r, s);
	if (v == NULL) {
		fputs("null", r->f);
		return -1;
	}
	dump(r->f, v);
	return 0;
}

static int change_json(render_t *r, const zone_change_t *c, bool first)
{
	static const char *const action[] = { "add", "delete", "replace" };
	static const char *const plan_action[] = { "add", "delete", "update" };
	bool diff = r->mode == RENDER_DIFF;
	const zone_rrset_t *s = c->kind == ZONE_CHANGE_ADD ? &c->new : &c->old;
	char name[DNS_NAME_STR_MAX], type[32];
	if (dns_key_to_str(s->key, s->keylen, name, sizeof(name)) == NULL) {
		return -1;
	}
	json_t *o = json_pack("{s:s,s:o,s:s}", "action", (diff ? action : plan_action)[c->kind],
	                      "name", jstr(name), "type", dns_type_str(s->type, type, 32));
	if (c->kind != ZONE_CHANGE_ADD) {
		json_object_set_new(o, "old", rrset_json(r, &c->old));
	} else if (!diff) {
		json_object_set_new(o, "old", json_null());
	}
	if (c->kind != ZONE_CHANGE_DELETE) {
		json_object_set_new(o, "new", rrset_json(r, &c->new));
	} else if (!diff) {
		json_object_set_new(o, "new", json_null());
	}
	fprintf(r->f, "%s\n    ", first ? "" : ",");
	dump(r->f, o);
	return 0;
}

int render_change(render_t *r, const zone_change_t *c, bool first)
{
	if (r->json) {
		return change_json(r, c, first);
	}
	switch (c->kind) {
	case ZONE_CHANGE_ADD:
		return render_records(r, &c->new, "+ ");
	case ZONE_CHANGE_DELETE:
		return render_records(r, &c->old, "- ");
	case ZONE_CHANGE_REPLACE: {
		char name[DNS_NAME_STR_MAX], type[32];
		if (dns_key_to_str(c->old.key, c->old.keylen, name, sizeof(name)) == NULL) {
			return -1;
		}
		fprintf(r->f, "~ %s %s\n", name, dns_type_str(c->old.type, type, sizeof(type)));
		int ret = render_records(r, &c->old, "  - ");
		return ret == 0 ? render_records(r, &c->new, "  + ") : ret;
	}
	}
	return -1;
}

/* --- sync, plan, verify ------------------------------------------------------ */

void render_begin(render_t *r)
{
	if (r->json) {
		fputs("{\"zones\":[", r->f);
	}
}

void render_end(render_t *r, size_t changes)
{
	if (r->json) {
		fprintf(r->f, "],\"changes\":%zu}\n", changes);
	}
}

void render_zone_begin(render_t *r, const conf_zone_t *zc)
{
	if (r->json) {
		fprintf(r->f, "%s\n {\"zone\":", r->first_zone ? "" : ",");
		render_str(r->f, zc->domain);
		fputs(",\"targets\":[", r->f);
	}
	r->first_zone = false;
	r->first_target = true;
}

void render_zone_end(render_t *r, const sync_pass_t *p)
{
	if (!r->json) {
		return;
	}
	fputs("]", r->f);
	if (r->mode != RENDER_VERIFY) {
		fputs(",\"serial\":", r->f);
		if (p->has_data) {
			fprintf(r->f, "%u", p->serial);
		} else {
			fputs("null", r->f);
		}
	}
	fprintf(r->f, ",\"primary_checked\":%s}", p->checked ? "true" : "false");
}

static void skipped_text(render_t *r, const zone_view_skipped_t *s)
{
	char type[32];
	for (size_t i = 0; i < s->count; i++) {
		fprintf(r->f, "%s%s %zu", i == 0 ? "" : ", ",
		        dns_type_str(s->skip[i].type, type, 32), s->skip[i].records);
	}
}

/* What the rules kept out of one side's view, for JSON. */
static void kept_json(json_t *a, const zone_view_skipped_t *s, const char *side)
{
	for (size_t i = 0; i < s->nkept; i++) {
		const zone_view_kept_t *k = &s->kept[i];
		json_t *names = json_array();
		for (size_t n = 0; n < k->nnames; n++) {
			json_array_append_new(names, jstr(k->names[n]));
		}
		json_array_append_new(a, json_pack("{s:s,s:o,s:s,s:I,s:I,s:o}", "kind",
		                                   k->ignore ? "ignore" : "exclude", "rule",
		                                   jstr(k->rule->text), "side", side, "rrsets",
		                                   (json_int_t)k->rrsets, "records",
		                                   (json_int_t)k->records, "names", names));
	}
}

static json_t *sets_json(const target_foreign_t *f)
{
	json_t *a = json_array();
	for (size_t i = 0; i < f->count; i++) {
		const target_foreign_set_t *s = &f->set[i];
		json_array_append_new(a, json_pack("{s:o,s:s,s:s}", "name", jstr(s->name), "type",
		                                   s->type, "why", s->why));
	}
	return a;
}

/* What the rules did, and the conflicts, as text lines. */
static void rules_text(render_t *r, const engine_result_t *res)
{
	const zone_view_skipped_t *sides[2] = { &res->skipped, &res->live_kept };
	for (int side = 0; side < 2; side++) {
		for (size_t i = 0; i < sides[side]->nkept; i++) {
			const zone_view_kept_t *k = &sides[side]->kept[i];
			fprintf(r->f, "  kept out by %s %s (%s): %zu RRset%s:", k->ignore ? "ignore" : "exclude",
			        k->rule->text, side == 0 ? "primary" : "target", k->rrsets,
			        k->rrsets == 1 ? "" : "s");
			for (size_t n = 0; n < k->nnames; n++) {
				fprintf(r->f, "%s %s", n == 0 ? "" : ",", k->names[n]);
			}
			fputs(k->rrsets > k->nnames ? ", ...\n" : "\n", r->f);
		}
	}
	if (res->skipped.ttl_clamped > 0) {
		fprintf(r->f, "  ttl bounds: %zu RRset%s pushed with a clamped TTL\n",
		        res->skipped.ttl_clamped, res->skipped.ttl_clamped == 1 ? "" : "s");
	}
	if (res->conflicts.count > 0) {
		fprintf(r->f, "  conflicts, not pushed: %zu RRset%s the target holds as its own:\n",
		        res->conflicts.count, res->conflicts.count == 1 ? "" : "s");
		for (size_t i = 0; i < res->conflicts.count; i++) {
			const target_foreign_set_t *c = &res->conflicts.set[i];
			fprintf(r->f, "    %s %s (%s)\n", c->name, c->type, c->why);
		}
	}
}

/* First contact: the RRsets left, named up to this many (then a count). */
#define LEFT_LISTED 20

static void left_text(render_t *r, const engine_result_t *res)
{
	const zone_diff_t *l = &res->left;
	if (l->count == 0) {
		return;
	}
	fprintf(r->f,
	        "  not deleted, first contact: %zu RRset%s the target holds and the primary "
	        "lacks:\n",
	        l->count, l->count == 1 ? "" : "s");
	for (size_t i = 0; i < l->count && i < LEFT_LISTED; i++) {
		char name[DNS_NAME_STR_MAX], type[32];
		const zone_rrset_t *s = &l->change[i].old;
		if (dns_key_to_str(s->key, s->keylen, name, sizeof(name)) == NULL) {
			snprintf(name, sizeof(name), "?");
		}
		fprintf(r->f, "    %s %s\n", name, dns_type_str(s->type, type, sizeof(type)));
	}
	if (l->count > LEFT_LISTED) {
		fprintf(r->f, "    ... and %zu more\n", l->count - LEFT_LISTED);
	}
	fputs("  to delete them (adopt the target): 'zonesync sync --force' once, or adopt: "
	      "replace on the target\n",
	      r->f);
}

static json_t *left_json(const engine_result_t *res)
{
	json_t *a = json_array();
	for (size_t i = 0; i < res->left.count && i < LEFT_LISTED; i++) {
		char name[DNS_NAME_STR_MAX], type[32];
		const zone_rrset_t *s = &res->left.change[i].old;
		if (dns_key_to_str(s->key, s->keylen, name, sizeof(name)) == NULL) {
			snprintf(name, sizeof(name), "?");
		}
		json_array_append_new(a, json_pack("{s:o,s:s}", "name", jstr(name), "type",
		                                   dns_type_str(s->type, type, sizeof(type))));
	}
	return json_pack("{s:I,s:o}", "count", (json_int_t)res->left.count, "rrsets", a);
}

static void target_json(render_t *r, const conf_target_t *tc, const engine_result_t *res)
{
	FILE *f = r->f;
	bool failed = res->ret != 0 && !res->refused;
	json_t *o = json_pack("{s:o,s:s,s:o,s:o}", "target", jstr(tc->id), "type", tc->type->name,
	                      "error", failed ? jstr(res->error) : json_null(), "refused",
	                      res->refused ? jstr(res->error) : json_null());
	/* The object is written open: the changes stream in, then the rest. */
	char *head = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	fprintf(f, "%s\n  %.*s", r->first_target ? "" : ",", head ? (int)strlen(head) - 1 : 0,
	        head ? head : "");
	free(head);
	r->first_target = false;
	fputs(",\"changes\":[", f);
	for (size_t i = 0; !failed && i < res->diff.count; i++) {
		render_change(r, &res->diff.change[i], i == 0);
	}
	json_t *skipped = json_object();
	char type[32];
	for (size_t i = 0; i < res->skipped.count; i++) {
		json_object_set_new(skipped, dns_type_str(res->skipped.skip[i].type, type, 32),
		                    json_integer((json_int_t)res->skipped.skip[i].records));
	}
	json_t *left = sets_json(&res->foreign);
	json_t *kept = json_array();
	kept_json(kept, &res->skipped, "primary");
	kept_json(kept, &res->live_kept, "target");
	json_t *tail = json_pack(
	        "{s:o,s:I,s:o,s:{s:I,s:I,s:I},s:I}", "skipped", skipped, "foreign",
	        (json_int_t)res->foreign.count, "left_alone", left, "summary", "add",
	        (json_int_t)res->diff.added, "update", (json_int_t)res->diff.replaced, "delete",
	        (json_int_t)res->diff.deleted, "requests", (json_int_t)res->stats.requests);
	json_object_set_new(tail, "kept_out", kept);
	json_object_set_new(tail, "conflicts", sets_json(&res->conflicts));
	json_object_set_new(tail, "ttl_clamped", json_integer((json_int_t)res->skipped.ttl_clamped));
	json_object_set_new(tail, "unadopted", json_boolean(res->unadopted));
	json_object_set_new(tail, "not_deleted", left_json(res));
	if (res->notifier) {
		json_object_set_new(tail, "notify", json_boolean(res->notify));
	}
	char *t = json_dumps(tail, JSON_COMPACT);
	json_decref(tail);
	/* The tail's members after the changes: drop its braces. */
	fprintf(f, "],%.*s", t ? (int)strlen(t) - 2 : 0, t ? t + 1 : "");
	free(t);
}

static void left_alone_text(render_t *r, const engine_result_t *res)
{
	if (res->foreign.count == 0) {
		return;
	}
	fprintf(r->f, "  left alone: %zu record set%s zonesync does not manage:\n",
	        res->foreign.count, res->foreign.count == 1 ? "" : "s");
	for (size_t i = 0; i < res->foreign.count; i++) {
		const target_foreign_set_t *s = &res->foreign.set[i];
		fprintf(r->f, "    %s %s (%s)\n", s->name, s->type, s->why);
	}
}

static void listed_text(render_t *r, const conf_zone_t *zc, const conf_target_t *tc,
                        const engine_zone_t *z, const engine_result_t *res)
{
	FILE *f = r->f;
	const char *who = tc->id, *kind = tc->type->name, *zone = zc->domain;
	const zone_diff_t *d = &res->diff;
	if (res->ret != 0 && !res->refused) {
		fprintf(f, "%s -> %s: failed: %s\n", zone, who, res->error);
		return;
	}
	bool verify = r->mode == RENDER_VERIFY;
	if (res->notifier && verify) {
		fprintf(f, "%s -> %s (%s): holds nothing to compare\n", zone, who, kind);
		return;
	}
	if (res->notifier) {
		if (res->notify) {
			fprintf(f, "%s -> %s (%s): would be told of serial %u\n", zone, who, kind,
			        z->serial);
		} else {
			fprintf(f, "%s -> %s (%s): no changes, serial %u\n", zone, who, kind,
			        z->serial);
		}
		return;
	}
	if (verify && d->count == 0 && res->conflicts.count > 0) {
		fprintf(f,
		        "%s -> %s (%s): %zu RRset%s of the primary's serial %u held by the target "
		        "as its own (conflicts)\n",
		        zone, who, kind, res->conflicts.count, res->conflicts.count == 1 ? "" : "s",
		        z->serial);
	} else if (verify && d->count == 0) {
		fprintf(f, "%s -> %s (%s): same as the primary, serial %u\n", zone, who, kind,
		        z->serial);
	} else if (verify) {
		fprintf(f,
		        "%s -> %s (%s): %zu RRset%s differ%s from the primary's serial %u "
		        "(%zu missing, %zu different, %zu extra)\n",
		        zone, who, kind, d->count, d->count == 1 ? "" : "s",
		        d->count == 1 ? "s" : "", z->serial, d->added, d->replaced, d->deleted);
	} else if (d->count == 0) {
		fprintf(f, "%s -> %s (%s): no changes, serial %u\n", zone, who, kind, z->serial);
	} else {
		fprintf(f,
		        "%s -> %s (%s): %zu change%s (%zu to add, %zu to update, %zu to "
		        "delete), serial %u\n",
		        zone, who, kind, d->count, d->count == 1 ? "" : "s", d->added, d->replaced,
		        d->deleted, z->serial);
	}
	for (size_t i = 0; i < d->count; i++) {
		render_change(r, &d->change[i], i == 0);
	}
	if (res->skipped.count > 0) {
		fprintf(f, "  skipped, %s cannot hold them: ", kind);
		skipped_text(r, &res->skipped);
		fputc('\n', f);
	}
	left_alone_text(r, res);
	rules_text(r, res);
	left_text(r, res);
	if (res->refused && !verify) {
		fprintf(f, "  refused: %s\n", res->error);
	}
}

static void sync_text(render_t *r, const conf_zone_t *zc, const conf_target_t *tc,
                      const engine_zone_t *z, const engine_result_t *res)
{
	FILE *f = r->f;
	const char *who = tc->id, *zone = zc->domain;
	if (res->ret == 0 && res->uptodate) {
		fprintf(f, "%s -> %s: up to date, serial %u\n", zone, who, z->serial);
	} else if (res->stood_down) {
		fprintf(f, "%s -> %s: stood down: the target is at serial %u, ahead of %u (another "
		           "zonesync host?); not pushed\n",
		        zone, who, res->provider_serial, z->serial);
	} else if (res->ret == 0 && res->notifier) {
		fprintf(f, "%s -> %s: told of serial %u\n", zone, who, z->serial);
	} else if (res->ret == 0 && res->drift) {
		fprintf(f,
		        "%s -> %s: repaired drift at serial %u: %zu added, %zu updated, %zu "
		        "deleted; %zu requests\n",
		        zone, who, z->serial, res->diff.added, res->diff.replaced,
		        res->diff.deleted, res->stats.requests);
	} else if (res->ret == 0) {
		fprintf(f,
		        "%s -> %s: synced serial %u (%s): %zu added, %zu updated, %zu deleted; "
		        "%zu requests\n",
		        zone, who, z->serial, res->incremental ? "incremental" : "full",
		        res->diff.added, res->diff.replaced, res->diff.deleted,
		        res->stats.requests);
	} else {
		fprintf(f, "%s -> %s: %s: %s\n", zone, who, res->refused ? "refused" : "failed",
		        res->error);
	}
	if (res->skipped.count > 0) {
		fprintf(f, "  skipped, %s cannot hold them: ", tc->type->name);
		skipped_text(r, &res->skipped);
		fputc('\n', f);
	}
	if (res->conflicts.count > 0 || res->skipped.ttl_clamped > 0) {
		rules_text(r, res);
	}
	if (res->ret == 0) {
		left_text(r, res);
	}
}

void render_target(render_t *r, const conf_zone_t *zc, const conf_target_t *tc,
                   const engine_zone_t *z, const engine_result_t *res)
{
	if (r->json) {
		target_json(r, tc, res);
	} else if (r->mode == RENDER_SYNC) {
		sync_text(r, zc, tc, z, res);
	} else {
		listed_text(r, zc, tc, z, res);
	}
}

void render_target_end(render_t *r)
{
	if (r->json) {
		fputs("}", r->f);
	}
}
