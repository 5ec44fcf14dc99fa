#include "zone/view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"
#include "dns/rdata.h"

static int skip_add(zone_view_skipped_t *s, const zone_rrset_t *set)
{
	if (s == NULL) {
		return 0;
	}
	size_t i = 0;
	while (i < s->count && s->skip[i].type < set->type) {
		i++;
	}
	if (i == s->count || s->skip[i].type != set->type) {
		zone_view_skip_t *n = realloc(s->skip, (s->count + 1) * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		s->skip = n;
		memmove(&n[i + 1], &n[i], (s->count - i) * sizeof(*n));
		n[i] = (zone_view_skip_t){ .type = set->type };
		s->count++;
	}
	s->skip[i].rrsets++;
	s->skip[i].records += set->count;
	s->rrsets++;
	s->records += set->count;
	return 0;
}

/* A wildcard owner: its first label (last in key order) is "*". */
static bool is_wildcard(const zone_rrset_t *set)
{
	/* Keys end with the leftmost label followed by its 0x00 terminator. */
	return set->keylen >= 2 && set->key[set->keylen - 1] == 0x00 &&
	       set->key[set->keylen - 2] == '*' &&
	       (set->keylen == 2 || set->key[set->keylen - 3] == 0x00);
}

/* records more of o's set kept out by rule r (the set counted once per
 * rule, however the rules take turns in it). */
static int kept_add(zone_view_skipped_t *s, const zone_rule_t *r, bool ignore,
                    zone_rule_owner_t *o, size_t records)
{
	const zone_rrset_t *set = o->set;
	if (s == NULL) {
		return 0;
	}
	size_t i = 0;
	while (i < s->nkept && s->kept[i].rule != r) {
		i++;
	}
	if (i == s->nkept) {
		zone_view_kept_t *n = realloc(s->kept, (s->nkept + 1) * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		s->kept = n;
		n[i] = (zone_view_kept_t){ .rule = r, .ignore = ignore };
		s->nkept++;
	}
	zone_view_kept_t *k = &s->kept[i];
	k->records += records;
	if (k->last == set->rr) {
		return 0;
	}
	k->last = set->rr;
	k->rrsets++;
	if (k->nnames < ZONE_VIEW_NAMES) {
		char type[16], buf[KNOT_DNAME_TXT_MAXLEN + 24];
		snprintf(buf, sizeof(buf), "%s %s", zone_rule_owner_text(o),
		         dns_type_str(set->type, type, sizeof(type)));
		if ((k->names[k->nnames] = strdup(buf)) == NULL) {
			return -ENOMEM;
		}
		k->nnames++;
	}
	return 0;
}

static int held_add(zone_view_skipped_t *s, const zone_rrset_t *set)
{
	if (s == NULL) {
		return 0;
	}
	if ((s->nheld & (s->nheld - 1)) == 0) { /* 0, 1, 2, 4...: grow */
		size_t cap = s->nheld == 0 ? 4 : 2 * s->nheld;
		zone_view_held_t *n = realloc(s->held, cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		s->held = n;
	}
	s->held[s->nheld++] = (zone_view_held_t){ set->key, set->keylen, set->type };
	return 0;
}

/* Is set kept out whole by an ignore rule?  1 yes, 0 no, <0 error. */
static int ignored(const zone_view_rules_t *r, zone_rule_owner_t *o,
                   zone_view_skipped_t *skipped)
{
	const zone_rrset_t *set = o->set;
	size_t n = r->filter != NULL ? r->filter->nignore : 0;
	for (size_t i = 0; i <= n; i++) {
		const zone_rule_t *rule = NULL;
		if (i < n && zone_rule_match_set(&r->filter->ignore[i], o)) {
			rule = &r->filter->ignore[i];
		} else if (i == n && r->hold != NULL && !r->primary_side) {
			rule = r->hold(r->hold_ctx, set);
		}
		if (rule != NULL) {
			int ret = kept_add(skipped, rule, true, o, set->count);
			if (ret == 0) {
				ret = held_add(skipped, set);
			}
			return ret < 0 ? ret : 1;
		}
	}
	return 0;
}

/* Copy the records of set into out but those an exclude rule matches
 * (primary side), their TTL within the bounds.  The records copied. */
static int copy_set(const zone_view_rules_t *r, zone_rule_owner_t *o, zone_t *out,
                    zone_view_skipped_t *skipped)
{
	const zone_rrset_t *set = o->set;
	const zone_rules_t *f = r->primary_side ? r->filter : NULL;
	size_t n = 0;
	for (size_t i = 0; i < set->count; i++) {
		const zone_rule_t *hit = NULL;
		for (size_t k = 0; f != NULL && k < f->nexclude && hit == NULL; k++) {
			if (zone_rule_match_rr(&f->exclude[k], o, i)) {
				hit = &f->exclude[k];
			}
		}
		if (hit != NULL) {
			if (kept_add(skipped, hit, false, o, 1) != 0) {
				return -ENOMEM;
			}
			continue;
		}
		out->rr[out->count + n++] = set->rr[i];
	}
	if (f != NULL && n > 0 &&
	    (set->ttl < f->ttl_min || (f->ttl_max != 0 && set->ttl > f->ttl_max))) {
		uint32_t ttl = set->ttl < f->ttl_min ? f->ttl_min : f->ttl_max;
		for (size_t i = 0; i < n; i++) {
			out->rr[out->count + i].ttl = ttl;
		}
		if (skipped != NULL) {
			skipped->ttl_clamped++;
		}
	}
	return (int)n;
}

int zone_view(const zone_t *src, const zone_view_rules_t *r, zone_t *out,
              zone_view_skipped_t *skipped)
{
	zone_init(out);
	if (src->apex_len > 0) {
		zone_set_apex(out, src->apex);
	}
	if (src->count > 0) {
		out->rr = malloc(src->count * sizeof(*out->rr));
		if (out->rr == NULL) {
			return -ENOMEM;
		}
		out->cap = src->count;
	}
	uint8_t apex_key[DNS_KEY_MAX];
	size_t apex_keylen = src->apex_len > 0 ? dns_name_key(src->apex, apex_key) : SIZE_MAX;

	char apex_text[KNOT_DNAME_TXT_MAXLEN + 1];
	bool filtered = (!zone_rules_empty(r->filter) || (r->hold != NULL && !r->primary_side)) &&
	                src->apex_len > 0 && dns_name_to_str(src->apex, apex_text,
	                                                     sizeof(apex_text)) != NULL;
	size_t pos = 0;
	zone_rrset_t set;
	while (zone_rrset_next(src, &pos, &set)) {
		bool apex = set.keylen == apex_keylen && memcmp(set.key, apex_key, apex_keylen) == 0;
		if (apex && set.type == KNOT_RRTYPE_SOA && !r->apex_soa) {
			continue;
		}
		if (apex && set.type == KNOT_RRTYPE_NS && !r->apex_ns) {
			continue;
		}
		zone_rule_owner_t owner;
		if (filtered) {
			zone_rule_owner_init(&owner, apex_text, &set);
			int ign = ignored(r, &owner, skipped);
			if (ign != 0) {
				if (ign < 0) {
					zone_view_free(out);
					return -ENOMEM;
				}
				continue;
			}
		}
		bool keep = (r->type_ok == NULL || r->type_ok(set.type)) &&
		            (r->max_values == 0 || set.count <= r->max_values) &&
		            !(r->no_wildcard_ns && set.type == KNOT_RRTYPE_NS && is_wildcard(&set));
		if (!keep) {
			if (skip_add(skipped, &set) != 0) {
				zone_view_free(out);
				return -ENOMEM;
			}
			continue;
		}
		if (!filtered) {
			memcpy(&out->rr[out->count], set.rr, set.count * sizeof(*set.rr));
			out->count += set.count;
			out->rrsets++;
			continue;
		}
		int n = copy_set(r, &owner, out, skipped);
		if (n < 0) {
			zone_view_free(out);
			return n;
		}
		out->count += (size_t)n;
		out->rrsets += n > 0;
	}
	out->sorted = true;
	out->owners_in_apex = src->owners_in_apex;
	return 0;
}

void zone_view_skipped_free(zone_view_skipped_t *s)
{
	for (size_t i = 0; i < s->nkept; i++) {
		for (size_t k = 0; k < s->kept[i].nnames; k++) {
			free(s->kept[i].names[k]);
		}
	}
	free(s->kept);
	free(s->held);
	free(s->skip);
	memset(s, 0, sizeof(*s));
}

void zone_view_free(zone_t *view)
{
	free(view->rr);
	zone_init(view);
}
