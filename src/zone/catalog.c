#include "zone/catalog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libknot/descriptor.h>

#include "dns/name.h"

static void warn(catalog_warn_fn fn, void *ctx, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void warn(catalog_warn_fn fn, void *ctx, const char *fmt, ...)
{
	if (fn == NULL) {
		return;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(ctx, msg);
}

/* Is label lab (wire: length first) this text, without case? */
static bool label_is(const uint8_t *lab, const char *text)
{
	size_t n = strlen(text);
	return lab[0] == n && strncasecmp((const char *)lab + 1, text, n) == 0;
}

/* Two labels (wire, length first), both lowercased. */
static bool label_eq(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && memcmp(a + 1, b + 1, a[0]) == 0;
}

/* One label as text, for messages. */
static const char *label_str(const uint8_t *lab, char *buf, size_t size)
{
	uint8_t name[KNOT_DNAME_MAXLEN];
	memcpy(name, lab, lab[0] + 1u);
	name[lab[0] + 1] = 0;
	if (dns_name_to_str(name, buf, size) == NULL) {
		snprintf(buf, size, "?");
	}
	size_t n = strlen(buf);
	if (n > 1 && buf[n - 1] == '.') {
		buf[n - 1] = '\0'; /* a label, not a name */
	}
	return buf;
}

/* The first string of TXT rdata rd, into out (NUL-terminated): false when
 * it holds a NUL byte.  *more: rd holds further strings. */
static bool txt_first(const knot_rdata_t *rd, char out[256], bool *more)
{
	uint8_t len = rd->len > 0 ? rd->data[0] : 0;
	if (rd->len == 0 || 1u + len > rd->len || memchr(rd->data + 1, 0, len) != NULL) {
		return false;
	}
	memcpy(out, rd->data + 1, len);
	out[len] = '\0';
	*more = 1u + len < rd->len;
	return true;
}

static void member_free(catalog_member_t *m)
{
	free(m->name);
	free(m->group);
}

void catalog_free(catalog_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		member_free(&c->m[i]);
	}
	free(c->m);
	c->m = NULL;
	c->n = 0;
}

static int member_cmp(const void *a, const void *b)
{
	const catalog_member_t *x = a, *y = b;
	int r = dns_name_cmp(x->name, y->name);
	/* Then by unique id: the first in canonical order comes first. */
	if (r == 0) {
		r = dns_name_cmp(x->id, y->id);
	}
	return r;
}

const catalog_member_t *catalog_find(const catalog_t *c, const knot_dname_t *name)
{
	if (c == NULL) {
		return NULL;
	}
	catalog_member_t key = { .name = (uint8_t *)name };
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = dns_name_cmp(key.name, c->m[mid].name);
		if (r == 0) {
			return &c->m[mid];
		}
		if (r < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return NULL;
}

bool catalog_equal(const catalog_t *a, const catalog_t *b)
{
	if (a->n != b->n) {
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		const catalog_member_t *x = &a->m[i], *y = &b->m[i];
		if (!dns_name_equal(x->name, y->name) || (x->group == NULL) != (y->group == NULL) ||
		    (x->group != NULL && strcmp(x->group, y->group) != 0)) {
			return false;
		}
	}
	return true;
}

/* The labels of name below apex, leftmost first, into lab (at most max;
 * their count is returned, however many). */
static size_t rel_labels(const knot_dname_t *name, size_t apex_labels, const uint8_t **lab,
                         size_t max)
{
	size_t n = (size_t)knot_dname_labels(name, NULL) - apex_labels;
	for (size_t i = 0; i < n && i < max; i++) {
		lab[i] = name;
		name += *name + 1;
	}
	return n;
}

typedef struct {
	catalog_member_t *m;
	size_t n, cap;
} list_t;

static int list_add(list_t *l, const uint8_t *name, const uint8_t *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		catalog_member_t *m = realloc(l->m, cap * sizeof(*m));
		if (m == NULL) {
			return -ENOMEM;
		}
		l->m = m;
		l->cap = cap;
	}
	catalog_member_t *m = &l->m[l->n];
	memset(m, 0, sizeof(*m));
	size_t len = knot_dname_size(name);
	if ((m->name = malloc(len)) == NULL) {
		return -ENOMEM;
	}
	memcpy(m->name, name, len);
	memcpy(m->id, id, id[0] + 1u);
	m->id[id[0] + 1] = 0;
	l->n++;
	return 0;
}

/* The version property: one TXT record of one string "2". */
static int check_version(const zone_rrset_t *s, const char *catz, char *err, size_t errlen)
{
	char v[256] = "";
	bool more = false;
	if (s->count != 1 || !txt_first(s->rr[0].rd, v, &more) || more || strcmp(v, "2") != 0) {
		snprintf(err, errlen,
		         "catalog %s: version %s%s%s is not supported (only \"2\", RFC 9432)", catz,
		         s->count != 1 ? "has several records" : "\"", s->count != 1 ? "" : v,
		         s->count != 1 ? "" : "\"");
		return -EINVAL;
	}
	return 0;
}

/* Is member m (a member name) one a consumer can hold?  NULL, or why not. */
static const char *member_invalid(const knot_dname_t *m, const knot_dname_t *apex)
{
	if (m[0] == 0) {
		return "the root";
	}
	if (dns_name_equal(m, apex)) {
		return "the catalog itself";
	}
	if (dns_name_in_zone(m, apex)) {
		return "a name inside the catalog";
	}
	return NULL;
}

/* Drop the second and later entries of each name (sorted by name, then id:
 * the first id in canonical order, unless prev held it under another id). */
static void dedupe(list_t *l, const catalog_t *prev, const char *catz, catalog_warn_fn wfn,
                   void *ctx)
{
	size_t out = 0;
	for (size_t i = 0; i < l->n;) {
		size_t j = i + 1;
		while (j < l->n && dns_name_equal(l->m[i].name, l->m[j].name)) {
			j++;
		}
		size_t keep = i;
		const catalog_member_t *was = catalog_find(prev, l->m[i].name);
		for (size_t k = i; was != NULL && k < j; k++) {
			if (dns_name_equal(l->m[k].id, was->id)) {
				keep = k;
			}
		}
		for (size_t k = i; k < j; k++) {
			if (k == keep) {
				continue;
			}
			char name[DNS_NAME_STR_MAX], a[DNS_NAME_STR_MAX], b[DNS_NAME_STR_MAX];
			dns_name_to_str(l->m[k].name, name, sizeof(name));
			warn(wfn, ctx,
			     "catalog %s: member %s is listed under unique ids %s and %s: "
			     "held under %s, the other is ignored (RFC 9432 4.1)",
			     catz, name, label_str(l->m[keep].id, a, sizeof(a)),
			     label_str(l->m[k].id, b, sizeof(b)), a);
			member_free(&l->m[k]);
		}
		l->m[out++] = l->m[keep];
		i = j;
	}
	l->n = out;
}

int catalog_parse(const zone_t *z, const catalog_t *prev, catalog_t *out, catalog_warn_fn wfn,
                  void *ctx, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char catz[DNS_NAME_STR_MAX];
	if (z->apex_len == 0 || dns_name_to_str(z->apex, catz, sizeof(catz)) == NULL) {
		snprintf(err, errlen, "catalog: the zone has no apex");
		return -EINVAL;
	}
	size_t apex_labels = (size_t)knot_dname_labels(z->apex, NULL);
	list_t l = { 0 };
	bool version = false;
	int ret = 0;
	zone_rrset_t s;
	/* Canonical order: UNIQUE.zones.CATZ comes right before its own
	 * properties (PROP.UNIQUE.zones.CATZ), so a property belongs to the
	 * member added last, if that one has its unique id. */
	for (size_t pos = 0; ret == 0 && zone_rrset_next(z, &pos, &s);) {
		knot_dname_storage_t owner;
		if (dns_name_from_key(s.key, s.keylen, owner) < 0) {
			continue;
		}
		const uint8_t *lab[3];
		size_t n = rel_labels(owner, apex_labels, lab, 3);
		char on[DNS_NAME_STR_MAX];
		if (n == 1 && label_is(lab[0], "version") && s.type == KNOT_RRTYPE_TXT) {
			ret = check_version(&s, catz, err, errlen);
			version = true;
		} else if (n == 2 && label_is(lab[1], "zones") && s.type == KNOT_RRTYPE_PTR) {
			if (s.count != 1) {
				snprintf(err, errlen,
				         "catalog %s: %s has %zu PTR records, one allowed: the "
				         "catalog is broken (RFC 9432 4.1)",
				         catz, dns_name_to_str(owner, on, sizeof(on)), s.count);
				ret = -EINVAL;
				break;
			}
			const knot_dname_t *m = s.rr[0].rd->data;
			const char *why = member_invalid(m, z->apex);
			if (why != NULL) {
				char mn[DNS_NAME_STR_MAX];
				warn(wfn, ctx, "catalog %s: member %s at %s skipped: it is %s",
				     catz, dns_name_to_str(m, mn, sizeof(mn)),
				     dns_name_to_str(owner, on, sizeof(on)), why);
				continue;
			}
			ret = list_add(&l, m, lab[0]);
		} else if (n == 3 && label_is(lab[2], "zones") && label_is(lab[0], "group") &&
		           s.type == KNOT_RRTYPE_TXT && l.n > 0 &&
		           label_eq(l.m[l.n - 1].id, lab[1]) && l.m[l.n - 1].group == NULL) {
			char g[256];
			bool more = false;
			if (!txt_first(s.rr[0].rd, g, &more)) {
				warn(wfn, ctx, "catalog %s: group of %s ignored: not text", catz,
				     dns_name_to_str(owner, on, sizeof(on)));
				continue;
			}
			if (more || s.count > 1) {
				warn(wfn, ctx,
				     "catalog %s: %s has several groups: the first, \"%s\", is "
				     "used",
				     catz, dns_name_to_str(owner, on, sizeof(on)), g);
			}
			if ((l.m[l.n - 1].group = strdup(g)) == NULL) {
				ret = -ENOMEM;
			}
		}
	}
	if (ret == 0 && !version) {
		snprintf(err, errlen,
		         "catalog %s: no version property (version.%s TXT \"2\", RFC 9432)", catz,
		         catz);
		ret = -EINVAL;
	}
	if (ret != 0) {
		if (ret == -ENOMEM) {
			snprintf(err, errlen, "catalog %s: out of memory", catz);
		}
		catalog_t c = { .m = l.m, .n = l.n };
		catalog_free(&c);
		return ret;
	}
	if (l.n > 0) {
		qsort(l.m, l.n, sizeof(*l.m), member_cmp);
	}
	dedupe(&l, prev, catz, wfn, ctx);
	out->m = l.m;
	out->n = l.n;
	return 0;
}
