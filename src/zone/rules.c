#include "zone/rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrset.h>

#include "dns/name.h"
#include "dns/rdata.h"

void zone_rule_free(zone_rule_t *r)
{
	free(r->name);
	free(r->types);
	free(r->value);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

static bool text_equal(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

bool zone_rule_equal(const zone_rule_t *a, const zone_rule_t *b)
{
	return text_equal(a->name, b->name) && text_equal(a->value, b->value) &&
	       a->ntypes == b->ntypes &&
	       (a->ntypes == 0 || memcmp(a->types, b->types, a->ntypes * sizeof(*a->types)) == 0);
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *c = d; c != NULL && *c != '\0'; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	return d;
}

/* "10.0.0.0/8", "2001:db8::/32", or an address alone (all its bits). */
static int parse_prefix(const char *s, zone_rule_t *r)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf)) {
		return -EINVAL;
	}
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash != NULL) {
		*slash = '\0';
		char *end;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0) {
			return -EINVAL;
		}
	}
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		r->bits = bits < 0 ? 32 : (unsigned)bits;
		return bits > 32 ? -EINVAL : 0;
	}
	if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		r->bits = bits < 0 ? 128 : (unsigned)bits;
		return bits > 128 ? -EINVAL : 0;
	}
	return -EINVAL;
}

int zone_rule_make(const char *name, const char *const *types, size_t ntypes, const char *value,
                   zone_rule_t *out, char *err, size_t errlen)
{
	zone_rule_t r = { 0 };
	char text[1024];
	size_t o = 0;
	if (name != NULL) {
		if (*name == '\0' || strlen(name) > 1024) {
			snprintf(err, errlen, "name: must be a glob of 1 to 1024 characters");
			return -EINVAL;
		}
		r.name = lower_dup(name);
		r.absolute = name[strlen(name) - 1] == '.' && strcmp(name, ".") != 0;
		o += (size_t)snprintf(text + o, sizeof(text) - o, "name=%.200s", name);
	}
	if (ntypes > 0) {
		r.types = calloc(ntypes, sizeof(*r.types));
		if (r.types == NULL) {
			zone_rule_free(&r);
			return -ENOMEM;
		}
		for (size_t i = 0; i < ntypes; i++) {
			if (knot_rrtype_from_string(types[i], &r.types[i]) != 0) {
				snprintf(err, errlen, "type: '%.40s' is not a record type", types[i]);
				zone_rule_free(&r);
				return -EINVAL;
			}
			if (o < sizeof(text)) {
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s%.20s",
				                      o > 0 && i == 0 ? " " : "",
				                      i == 0 ? "type=" : ",", types[i]);
			}
		}
		r.ntypes = ntypes;
	}
	if (value != NULL) {
		if (*value == '\0') {
			snprintf(err, errlen, "value: must not be empty");
			zone_rule_free(&r);
			return -EINVAL;
		}
		bool addresses = ntypes > 0;
		for (size_t i = 0; i < ntypes; i++) {
			addresses &= r.types[i] == KNOT_RRTYPE_A || r.types[i] == KNOT_RRTYPE_AAAA;
		}
		if (addresses && strpbrk(value, "*?[") == NULL) {
			if (parse_prefix(value, &r) != 0) {
				snprintf(err, errlen,
				         "value: '%.80s' is not an address prefix (ADDRESS[/BITS]) "
				         "nor a glob",
				         value);
				zone_rule_free(&r);
				return -EINVAL;
			}
			r.prefix = true;
		}
		r.value = r.prefix ? strdup(value) : lower_dup(value);
		if (o < sizeof(text)) {
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%svalue=%.200s",
			                      o > 0 ? " " : "", value);
		}
	}
	if (o == 0) {
		snprintf(text, sizeof(text), "all");
	}
	r.text = strdup(text);
	if ((name != NULL && r.name == NULL) || (value != NULL && r.value == NULL) ||
	    r.text == NULL) {
		zone_rule_free(&r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

static int rule_copy(const zone_rule_t *from, zone_rule_t *to)
{
	*to = *from;
	to->name = from->name != NULL ? strdup(from->name) : NULL;
	to->value = from->value != NULL ? strdup(from->value) : NULL;
	to->text = strdup(from->text);
	to->types = from->ntypes > 0 ? malloc(from->ntypes * sizeof(*to->types)) : NULL;
	if ((from->name != NULL && to->name == NULL) || (from->value != NULL && to->value == NULL) ||
	    to->text == NULL || (from->ntypes > 0 && to->types == NULL)) {
		zone_rule_free(to);
		return -ENOMEM;
	}
	if (from->ntypes > 0) {
		memcpy(to->types, from->types, from->ntypes * sizeof(*to->types));
	}
	return 0;
}

static int append(zone_rule_t **to, size_t *n, const zone_rule_t *from, size_t count)
{
	if (count == 0) {
		return 0;
	}
	zone_rule_t *a = realloc(*to, (*n + count) * sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	*to = a;
	for (size_t i = 0; i < count; i++) {
		if (rule_copy(&from[i], &a[*n]) != 0) {
			return -ENOMEM;
		}
		(*n)++;
	}
	return 0;
}

int zone_rules_add(zone_rules_t *to, const zone_rules_t *from)
{
	if (append(&to->ignore, &to->nignore, from->ignore, from->nignore) != 0 ||
	    append(&to->exclude, &to->nexclude, from->exclude, from->nexclude) != 0) {
		return -ENOMEM;
	}
	if (from->ttl_min != 0) {
		to->ttl_min = from->ttl_min;
	}
	if (from->ttl_max != 0) {
		to->ttl_max = from->ttl_max;
	}
	/* Each section's pair is ordered (the loader checks), the mix may not
	 * be: from's bound wins, so that no TTL is clamped both ways. */
	if (to->ttl_max != 0 && to->ttl_min > to->ttl_max) {
		if (from->ttl_max != 0) {
			to->ttl_min = to->ttl_max;
		} else {
			to->ttl_max = to->ttl_min;
		}
	}
	return 0;
}

void zone_rules_free(zone_rules_t *r)
{
	for (size_t i = 0; i < r->nignore; i++) {
		zone_rule_free(&r->ignore[i]);
	}
	for (size_t i = 0; i < r->nexclude; i++) {
		zone_rule_free(&r->exclude[i]);
	}
	free(r->ignore);
	free(r->exclude);
	memset(r, 0, sizeof(*r));
}

bool zone_rules_equal(const zone_rules_t *a, const zone_rules_t *b)
{
	if (a->nignore != b->nignore || a->nexclude != b->nexclude || a->ttl_min != b->ttl_min ||
	    a->ttl_max != b->ttl_max) {
		return false;
	}
	for (size_t i = 0; i < a->nignore; i++) {
		if (!zone_rule_equal(&a->ignore[i], &b->ignore[i])) {
			return false;
		}
	}
	for (size_t i = 0; i < a->nexclude; i++) {
		if (!zone_rule_equal(&a->exclude[i], &b->exclude[i])) {
			return false;
		}
	}
	return true;
}

bool zone_rules_empty(const zone_rules_t *r)
{
	return r == NULL || (r->nignore == 0 && r->nexclude == 0 && r->ttl_min == 0 &&
	                     r->ttl_max == 0);
}

void zone_rule_owner_init(zone_rule_owner_t *o, const char *apex, const zone_rrset_t *set)
{
	o->set = set;
	o->apex = apex;
	o->ready = false;
}

static void owner_ready(zone_rule_owner_t *o)
{
	if (o->ready) {
		return;
	}
	o->ready = true;
	o->in_zone = false;
	if (dns_name_from_key(o->set->key, o->set->keylen, o->wire) < 0 ||
	    dns_name_to_str(o->wire, o->full, sizeof(o->full)) == NULL) {
		snprintf(o->full, sizeof(o->full), "?");
		return;
	}
	size_t ol = strlen(o->full), al = strlen(o->apex);
	if (strcasecmp(o->full, o->apex) == 0) {
		strcpy(o->rel, "@");
	} else if (strcmp(o->apex, ".") == 0) {
		snprintf(o->rel, sizeof(o->rel), "%.*s", (int)(ol > 0 ? ol - 1 : 0), o->full);
	} else if (ol > al + 1 && o->full[ol - al - 1] == '.' &&
	           strcasecmp(o->full + ol - al, o->apex) == 0) {
		snprintf(o->rel, sizeof(o->rel), "%.*s", (int)(ol - al - 1), o->full);
	} else {
		return; /* not in the zone: no relative glob matches */
	}
	o->in_zone = true;
}

const char *zone_rule_owner_text(zone_rule_owner_t *o)
{
	owner_ready(o);
	return o->full;
}

static bool name_matches(const zone_rule_t *r, zone_rule_owner_t *o)
{
	if (r->name == NULL) {
		return true;
	}
	owner_ready(o);
	if (r->absolute) {
		return fnmatch(r->name, o->full, FNM_CASEFOLD) == 0;
	}
	return o->in_zone && fnmatch(r->name, o->rel, FNM_CASEFOLD) == 0;
}

static bool type_matches(const zone_rule_t *r, uint16_t type)
{
	for (size_t i = 0; i < r->ntypes; i++) {
		if (r->types[i] == type) {
			return true;
		}
	}
	return r->ntypes == 0;
}

static bool prefix_matches(const zone_rule_t *r, const zone_rr_t *rr)
{
	size_t len = r->family == AF_INET ? 4 : 16;
	if ((rr->type != KNOT_RRTYPE_A && rr->type != KNOT_RRTYPE_AAAA) || rr->rd->len != len ||
	    (r->family == AF_INET) != (rr->type == KNOT_RRTYPE_A)) {
		return false;
	}
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(rr->rd->data, r->addr, full) != 0) {
		return false;
	}
	if (rest == 0) {
		return true;
	}
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (rr->rd->data[full] & mask) == (r->addr[full] & mask);
}

static bool value_matches(const zone_rule_t *r, const knot_dname_t *owner_wire,
                          const zone_rr_t *rr)
{
	if (r->value == NULL) {
		return true;
	}
	if (r->prefix) {
		return prefix_matches(r, rr);
	}
	knot_rrset_t rs;
	knot_rrset_init(&rs, (knot_dname_t *)owner_wire, rr->type, KNOT_CLASS_IN, rr->ttl);
	rs.rrs.count = 1;
	rs.rrs.size = knot_rdata_size(rr->rd->len);
	rs.rrs.rdata = (knot_rdata_t *)rr->rd;
	char *buf = NULL;
	size_t size = 0;
	bool match = dns_rr_text(&rs, 0, 0, &buf, &size) >= 0 &&
	             fnmatch(r->value, buf, FNM_CASEFOLD) == 0;
	free(buf);
	return match;
}

bool zone_rule_match_rr(const zone_rule_t *r, zone_rule_owner_t *o, size_t i)
{
	if (!type_matches(r, o->set->type) || !name_matches(r, o)) {
		return false;
	}
	if (r->value == NULL) {
		return true;
	}
	if (!r->prefix) {
		owner_ready(o); /* the text of a record names its owner */
	}
	return value_matches(r, o->wire, &o->set->rr[i]);
}

bool zone_rule_match_name_type(const zone_rule_t *r, zone_rule_owner_t *o)
{
	return type_matches(r, o->set->type) && name_matches(r, o);
}

bool zone_rule_match_set(const zone_rule_t *r, zone_rule_owner_t *o)
{
	if (!type_matches(r, o->set->type) || !name_matches(r, o)) {
		return false;
	}
	if (r->value == NULL) {
		return true;
	}
	if (!r->prefix) {
		owner_ready(o);
	}
	for (size_t i = 0; i < o->set->count; i++) {
		if (value_matches(r, o->wire, &o->set->rr[i])) {
			return true;
		}
	}
	return false;
}
