#include "zone/view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"

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
		memcpy(&out->rr[out->count], set.rr, set.count * sizeof(*set.rr));
		out->count += set.count;
		out->rrsets++;
	}
	out->sorted = true;
	out->owners_in_apex = src->owners_in_apex;
	return 0;
}

void zone_view_skipped_free(zone_view_skipped_t *s)
{
	free(s->skip);
	memset(s, 0, sizeof(*s));
}

void zone_view_free(zone_t *view)
{
	free(view->rr);
	zone_init(view);
}
