#include "zone/diff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"

static int rejected(zone_error_t *err, const char *what, const zone_rr_t *rr)
{
	char txt[512];
	snprintf(err->msg, sizeof(err->msg), "%s: %s", what, zone_rr_str(rr, txt, sizeof(txt)));
	return -EINVAL;
}

int zone_apply(zone_t *z, const zone_t *del, const zone_t *add, zone_error_t *err)
{
	err->msg[0] = '\0';
	if (!z->sorted || !del->sorted || !add->sorted) {
		snprintf(err->msg, sizeof(err->msg), "internal error: unsorted zone");
		return -EINVAL;
	}

	/* Validate first, so that a bad delta leaves the zone untouched.
	 * Records match by owner, type and rdata: zone_rr_cmp() ignores TTLs. */
	size_t i = 0;
	for (size_t d = 0; d < del->count; d++) {
		while (i < z->count && zone_rr_cmp(&z->rr[i], &del->rr[d]) < 0) {
			i++;
		}
		if (i == z->count || zone_rr_cmp(&z->rr[i], &del->rr[d]) != 0) {
			return rejected(err, "delta removes a record the zone does not have",
			                &del->rr[d]);
		}
	}
	i = 0;
	size_t d = 0;
	uint8_t akey[DNS_KEY_MAX];
	size_t alen = dns_name_key(z->apex, akey);
	for (size_t a = 0; a < add->count; a++) {
		const zone_rr_t *rr = &add->rr[a];
		if (rr->keylen < alen || memcmp(rr->key, akey, alen) != 0) {
			return rejected(err, "delta adds a record outside the zone", rr);
		}
		if (rr->type == KNOT_RRTYPE_SOA &&
		    dns_key_cmp(rr->key, rr->keylen, akey, alen) != 0) {
			return rejected(err, "delta adds an SOA below the apex", rr);
		}
		while (i < z->count && zone_rr_cmp(&z->rr[i], rr) < 0) {
			i++;
		}
		while (d < del->count && zone_rr_cmp(&del->rr[d], rr) < 0) {
			d++;
		}
		bool in_zone = i < z->count && zone_rr_cmp(&z->rr[i], rr) == 0;
		bool removed = d < del->count && zone_rr_cmp(&del->rr[d], rr) == 0;
		if (in_zone && !removed) {
			return rejected(err, "delta adds a record the zone already has", rr);
		}
	}

	/* Merge: (zone minus del) plus add, copying added data into the zone. */
	size_t cap = z->count - del->count + add->count;
	zone_rr_t *out = malloc((cap ? cap : 1) * sizeof(*out));
	if (out == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	size_t n = 0, a = 0;
	i = 0;
	d = 0;
	const uint8_t *last_key = NULL;
	size_t last_len = 0;
	while (i < z->count || a < add->count) {
		if (i < z->count && d < del->count && zone_rr_cmp(&z->rr[i], &del->rr[d]) == 0) {
			i++;
			d++;
			continue;
		}
		bool take_zone = a == add->count ||
		                 (i < z->count && zone_rr_cmp(&z->rr[i], &add->rr[a]) < 0);
		if (take_zone) {
			out[n++] = z->rr[i++];
			continue;
		}
		const zone_rr_t *rr = &add->rr[a++];
		zone_rr_t copy = *rr;
		if (last_key == NULL || dns_key_cmp(last_key, last_len, rr->key, rr->keylen) != 0) {
			uint8_t *k = arena_alloc(&z->arena, rr->keylen ? rr->keylen : 1);
			if (k == NULL) {
				free(out);
				snprintf(err->msg, sizeof(err->msg), "out of memory");
				return -ENOMEM;
			}
			memcpy(k, rr->key, rr->keylen);
			last_key = k;
			last_len = rr->keylen;
		}
		copy.key = last_key;
		size_t rsize = knot_rdata_size(rr->rd->len);
		knot_rdata_t *rd = arena_alloc(&z->arena, rsize);
		if (rd == NULL) {
			free(out);
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			return -ENOMEM;
		}
		memcpy(rd, rr->rd, rsize);
		copy.rd = rd;
		out[n++] = copy;
	}

	/* Exactly one SOA at the apex must remain. */
	size_t soas = 0;
	for (size_t k = 0; k < n && out[k].keylen == alen && memcmp(out[k].key, akey, alen) == 0;
	     k++) {
		soas += out[k].type == KNOT_RRTYPE_SOA;
	}
	if (soas != 1) {
		free(out);
		snprintf(err->msg, sizeof(err->msg), "delta leaves %zu SOA records at the apex",
		         soas);
		return -EINVAL;
	}

	zone_t next = *z;
	next.rr = out;
	next.count = n;
	next.cap = cap ? cap : 1;
	zone_finish(&next);
	free(z->rr);
	*z = next;
	return 0;
}
