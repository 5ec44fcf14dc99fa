/* Route 53 change batches: actions, costs, units that must stay together. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "target/route53/r53text.h"
#include "target/route53/r53xml.h"
#include "target/route53/route53.h"

static void set_name(const zone_rrset_t *s, char *buf, size_t size)
{
	dns_key_to_str(s->key, s->keylen, buf, size);
}

/* Texts of the set's values; *chars gets their total length. */
static int values(const zone_rrset_t *s, r53_raw_t *raw, zs_scanner_t *sc, char ***out,
                  size_t *chars, char *err, size_t errlen)
{
	knot_rrset_t rr;
	uint8_t owner[KNOT_DNAME_MAXLEN];
	uint8_t *buf = NULL;
	size_t bufsize = 0;
	char *text = NULL;
	size_t tsize = 0;
	int ret = zone_rrset_to_knot(s, &rr, owner, &buf, &bufsize);
	char **v = calloc(s->count, sizeof(*v));
	if (ret != 0 || v == NULL) {
		free(buf);
		free(v);
		return -ENOMEM;
	}
	*chars = 0;
	for (size_t i = 0; i < s->count && ret == 0; i++) {
		const char *listed = r53_raw_find(raw, s, i);
		int n = listed != NULL ? (int)strlen(listed)
		                       : r53_value_from_rr(&rr, i, sc, &text, &tsize);
		if (n < 0 || n > R53_MAX_VALUE) {
			char name[1100], type[16];
			set_name(s, name, sizeof(name));
			snprintf(err, errlen, "%s %s: %s", name, dns_type_str(s->type, type, 16),
			         n < 0 ? "a value zonesync cannot write so that it reads back the same"
			               : "a value longer than Route 53's 4,000 characters");
			ret = n < 0 ? -EINVAL : -E2BIG;
			break;
		}
		v[i] = strndup(listed != NULL ? listed : text, (size_t)n);
		if (v[i] == NULL) {
			ret = -ENOMEM;
		}
		*chars += (size_t)n;
	}
	free(text);
	free(buf);
	if (ret != 0) {
		for (size_t i = 0; i < s->count; i++) {
			free(v[i]);
		}
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

static bool at_apex(const zone_rrset_t *s, const uint8_t *apex_key, size_t apex_keylen)
{
	return s->keylen == apex_keylen && memcmp(s->key, apex_key, apex_keylen) == 0;
}

static bool same_owner(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return a->keylen == b->keylen && memcmp(a->key, b->key, a->keylen) == 0;
}

/* The fence: a DELETE of the apex SOA the provider holds and a CREATE of
 * the one it should hold, leading a batch.  Route 53 validates a batch's
 * changes in order and applies all or none (API reference,
 * ChangeResourceRecordSets, "Change Batches and Transactional Changes"), so
 * the batch lands only while the SOA is exactly old. */
typedef struct {
	const zone_rrset_t *old, *new;
	char **old_values, **new_values; /* one each: an SOA has one value */
	size_t old_chars, new_chars;
} fence_t;

static void fence_free(fence_t *f)
{
	for (size_t i = 0; f->old_values != NULL && i < f->old->count; i++) {
		free(f->old_values[i]);
	}
	for (size_t i = 0; f->new_values != NULL && i < f->new->count; i++) {
		free(f->new_values[i]);
	}
	free(f->old_values);
	free(f->new_values);
}

static int fence_change(r53_change_t *c, r53_action_t a, const zone_rrset_t *set,
                        char *const *v, size_t chars)
{
	*c = (r53_change_t){ .action = a, .set = set, .cost = { set->count, chars } };
	c->values = calloc(set->count, sizeof(*c->values));
	if (c->values == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->count; i++) {
		if ((c->values[i] = strdup(v[i])) == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* Lead every batch of out with the fence: the first claims the SOA (old to
 * new), each following one holds the claim (new to new): a batch of
 * another writer in between changes the SOA, and ours fail whole. */
static int fence_batches(r53_plan_t *out, const fence_t *f)
{
	size_t nb = out->nbatches > 0 ? out->nbatches : 1;
	r53_change_t *change = calloc(out->count + 2 * nb, sizeof(*change));
	size_t *end = calloc(nb, sizeof(*end));
	if (change == NULL || end == NULL) {
		free(change);
		free(end);
		return -ENOMEM;
	}
	size_t n = 0, from = 0;
	int ret = 0;
	for (size_t b = 0; b < nb; b++) {
		size_t to = out->nbatches > 0 ? out->batch_end[b] : 0;
		bool first = b == 0;
		size_t before = n;
		ret |= fence_change(&change[n++], R53_DELETE, first ? f->old : f->new,
		                    first ? f->old_values : f->new_values,
		                    first ? f->old_chars : f->new_chars);
		ret |= fence_change(&change[n++], R53_CREATE, f->new, f->new_values, f->new_chars);
		change[before].unit = change[before + 1].unit = 0;
		for (size_t i = from; i < to; i++) {
			change[n++] = out->change[i];
		}
		end[b] = n;
		from = to;
	}
	free(out->change);
	free(out->batch_end);
	out->change = change;
	out->batch_end = end;
	out->count = n;
	out->nbatches = nb;
	return ret;
}

static int plan(const zone_diff_t *d, const knot_dname_t *apex, r53_raw_t *raw,
                const fence_t *f, zs_scanner_t *sc, r53_plan_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	uint8_t apex_key[DNS_KEY_MAX];
	size_t apex_keylen = dns_name_key(apex, apex_key);
	/* A REPLACE is one UPSERT; at most one action per change. */
	out->change = calloc(d->count + 1, sizeof(*out->change));
	out->batch_end = calloc(d->count + 1, sizeof(*out->batch_end));
	if (out->change == NULL || out->batch_end == NULL) {
		r53_plan_free(out);
		return -ENOMEM;
	}
	size_t unit = 0;
	const zone_rrset_t *prev = NULL;
	/* Per owner: deletions first (a CNAME replacing an A must free the
	 * name first in the same batch), then the rest. */
	for (size_t i = 0; i < d->count;) {
		size_t j = i;
		const zone_change_t *c0 = &d->change[i];
		const zone_rrset_t *owner = c0->kind == ZONE_CHANGE_DELETE ? &c0->old : &c0->new;
		while (j < d->count) {
			const zone_change_t *c = &d->change[j];
			const zone_rrset_t *s = c->kind == ZONE_CHANGE_DELETE ? &c->old : &c->new;
			if (!same_owner(s, owner)) {
				break;
			}
			j++;
		}
		if (prev == NULL || !same_owner(prev, owner)) {
			unit++;
		}
		prev = owner;
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = i; k < j; k++) {
				const zone_change_t *c = &d->change[k];
				bool del = c->kind == ZONE_CHANGE_DELETE;
				if (del != (pass == 0)) {
					continue;
				}
				const zone_rrset_t *s = del ? &c->old : &c->new;
				bool apex_fixed = at_apex(s, apex_key, apex_keylen) &&
				                  (s->type == KNOT_RRTYPE_SOA ||
				                   s->type == KNOT_RRTYPE_NS);
				if (f != NULL && apex_fixed && s->type == KNOT_RRTYPE_SOA) {
					continue; /* the fence carries it */
				}
				r53_action_t a;
				if (del) {
					if (apex_fixed) {
						continue; /* Route 53 keeps them; never deleted */
					}
					a = R53_DELETE;
				} else if (c->kind == ZONE_CHANGE_ADD && !apex_fixed) {
					/* Known absent, or (an incremental push, nothing
					 * read) absent at the primary's last serial: a
					 * CREATE, so that a set someone made meanwhile
					 * (a console alias) is never overwritten: Route 53
					 * refuses the batch whole ("already exists"), the
					 * engine reads and finds the conflict. */
					a = R53_CREATE;
				} else {
					a = R53_UPSERT;
				}
				if (s->count > R53_MAX_VALUES) {
					char name[1100], type[16];
					set_name(s, name, sizeof(name));
					snprintf(err, errlen,
					         "%s %s: %zu values, Route 53 takes at most %d",
					         name, dns_type_str(s->type, type, 16), s->count,
					         R53_MAX_VALUES);
					r53_plan_free(out);
					return -E2BIG;
				}
				r53_change_t *rc = &out->change[out->count];
				size_t chars;
				int ret = values(s, del ? raw : NULL, sc, &rc->values, &chars,
				                 err, errlen);
				if (ret != 0) {
					r53_plan_free(out);
					return ret;
				}
				rc->action = a;
				rc->set = s;
				rc->unit = unit;
				size_t f = a == R53_UPSERT ? 2 : 1;
				rc->cost = (r53_cost_t){ s->count * f, chars * f };
				out->count++;
			}
		}
		i = j;
	}
	/* Fill batches greedily, a unit never split, room kept for the fence. */
	r53_cost_t cur = { 0, 0 }, room = { R53_MAX_RECORDS, R53_MAX_CHARS };
	if (f != NULL) {
		size_t most = f->old_chars > f->new_chars ? f->old_chars : f->new_chars;
		room.records -= f->old->count + f->new->count;
		room.chars -= most + f->new_chars;
	}
	for (size_t i = 0; i < out->count;) {
		size_t j = i;
		r53_cost_t u = { 0, 0 };
		while (j < out->count && out->change[j].unit == out->change[i].unit) {
			u.records += out->change[j].cost.records;
			u.chars += out->change[j].cost.chars;
			j++;
		}
		if (u.records > room.records || u.chars > room.chars) {
			char name[1100];
			set_name(out->change[i].set, name, sizeof(name));
			snprintf(err, errlen,
			         "%s: the change at this name counts %zu records and %zu characters, "
			         "more than one Route 53 request takes (%zu, %zu)",
			         name, u.records, u.chars, room.records, room.chars);
			r53_plan_free(out);
			return -E2BIG;
		}
		if (cur.records + u.records > room.records || cur.chars + u.chars > room.chars) {
			out->batch_end[out->nbatches++] = i;
			cur = (r53_cost_t){ 0, 0 };
		}
		cur.records += u.records;
		cur.chars += u.chars;
		i = j;
	}
	if (out->count > 0) {
		out->batch_end[out->nbatches++] = out->count;
	}
	if (f != NULL && fence_batches(out, f) != 0) {
		r53_plan_free(out);
		return -ENOMEM;
	}
	return 0;
}

int r53_plan_fenced(const zone_diff_t *d, const knot_dname_t *apex, r53_raw_t *raw,
                    const zone_rrset_t *fence_old, const zone_rrset_t *fence_new,
                    r53_plan_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	zs_scanner_t *sc = dns_scanner_new();
	if (sc == NULL) {
		return -ENOMEM;
	}
	fence_t f = { .old = fence_old, .new = fence_new };
	int ret = 0;
	if (fence_old != NULL) {
		/* The old SOA as listed (DELETE repeats the listing's text). */
		ret = values(fence_old, raw, sc, &f.old_values, &f.old_chars, err, errlen);
		if (ret == 0) {
			ret = values(fence_new, NULL, sc, &f.new_values, &f.new_chars, err,
			             errlen);
		}
	}
	if (ret == 0) {
		ret = plan(d, apex, raw, fence_old != NULL ? &f : NULL, sc, out, err, errlen);
	}
	fence_free(&f);
	dns_scanner_free(sc);
	return ret;
}

int r53_plan(const zone_diff_t *d, const knot_dname_t *apex, r53_raw_t *raw,
             r53_plan_t *out, char *err, size_t errlen)
{
	return r53_plan_fenced(d, apex, raw, NULL, NULL, out, err, errlen);
}

void r53_plan_free(r53_plan_t *p)
{
	for (size_t i = 0; i < p->count; i++) {
		for (size_t k = 0; p->change[i].values != NULL && k < p->change[i].set->count; k++) {
			free(p->change[i].values[k]);
		}
		free(p->change[i].values);
	}
	free(p->change);
	free(p->batch_end);
	memset(p, 0, sizeof(*p));
}
