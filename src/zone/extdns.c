#include "zone/extdns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"
#include "zone/arena.h"

/* Old format: the claim of a marker's own name, for every type of
 * old_types (type 0 is no type). */
#define CLAIM_OLD 0

typedef struct {
	const uint8_t *key; /* in the index's arena */
	uint16_t keylen, type;
} claim_t;

struct zone_extdns {
	arena_t arena;
	claim_t *claim;
	size_t count, cap;
	size_t markers;
	uint8_t apex[DNS_KEY_MAX];
	size_t apex_len;
};

static char rule_text[] = "owned-by=external-dns";
const zone_rule_t zone_extdns_rule = { .text = rule_text };

/* The types external-dns's TXT registry names in a new-format marker
 * (registry/mapper: supportedRecords), as the prefix it writes. */
static const struct {
	const char *prefix;
	uint16_t type;
} new_types[] = {
	{ "a-", KNOT_RRTYPE_A },         { "aaaa-", KNOT_RRTYPE_AAAA },
	{ "cname-", KNOT_RRTYPE_CNAME }, { "ns-", KNOT_RRTYPE_NS },
	{ "mx-", KNOT_RRTYPE_MX },       { "ptr-", KNOT_RRTYPE_PTR },
	{ "srv-", KNOT_RRTYPE_SRV },     { "naptr-", KNOT_RRTYPE_NAPTR },
	{ "txt-", KNOT_RRTYPE_TXT },     { "dname-", KNOT_RRTYPE_DNAME },
};

/* Does an old-format marker own this type at its name?  Those above but
 * AAAA, which external-dns tracks in the new format only. */
static bool old_type(uint16_t type)
{
	for (size_t i = 0; i < sizeof(new_types) / sizeof(new_types[0]); i++) {
		if (new_types[i].type == type) {
			return type != KNOT_RRTYPE_AAAA;
		}
	}
	return false;
}

/* The text of TXT rdata, its strings joined, into buf (rdlen bytes at
 * least); its length, or -1 when the rdata is not well formed. */
static long txt_join(const uint8_t *rdata, size_t rdlen, char *buf)
{
	size_t pos = 0, len = 0;
	while (pos < rdlen) {
		size_t n = rdata[pos++];
		if (n > rdlen - pos) {
			return -1;
		}
		memcpy(buf + len, rdata + pos, n);
		len += n;
		pos += n;
	}
	return (long)len;
}

static bool token_is(const char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* The text of a marker as external-dns reads it (endpoint/labels.go):
 * double quotes dropped at both ends, then tokens split at commas; a token
 * with one '=' is a key and a value, any other is skipped; a heritage
 * other than external-dns is no marker, and a marker needs one. */
static bool marker_text(const char *s, size_t len, char *owner, size_t size)
{
	while (len > 0 && s[0] == '"') {
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == '"') {
		len--;
	}
	if (owner != NULL && size > 0) {
		owner[0] = '\0';
	}
	bool heritage = false;
	size_t start = 0;
	while (start <= len) {
		const char *tok = s + start;
		const char *comma = memchr(tok, ',', len - start);
		size_t tlen = comma != NULL ? (size_t)(comma - tok) : len - start;
		start += tlen + 1;
		const char *eq = memchr(tok, '=', tlen);
		if (eq == NULL || memchr(eq + 1, '=', tlen - (size_t)(eq + 1 - tok)) != NULL) {
			continue;
		}
		size_t klen = (size_t)(eq - tok), vlen = tlen - klen - 1;
		if (token_is(tok, klen, "heritage")) {
			if (!token_is(eq + 1, vlen, "external-dns")) {
				return false;
			}
			heritage = true;
		} else if (token_is(tok, klen, "external-dns/owner") && owner != NULL && size > 0) {
			size_t n = vlen < size - 1 ? vlen : size - 1;
			memcpy(owner, eq + 1, n);
			owner[n] = '\0';
		}
	}
	return heritage;
}

bool zone_extdns_marker(const uint8_t *rdata, size_t rdlen, char *owner, size_t size)
{
	char *buf = malloc(rdlen + 1);
	if (buf == NULL) {
		return false;
	}
	long len = txt_join(rdata, rdlen, buf);
	bool ok = len >= 0 && marker_text(buf, (size_t)len, owner, size);
	free(buf);
	return ok;
}

static int claim_add(zone_extdns_t *x, const uint8_t *key, size_t keylen, uint16_t type)
{
	if (x->count == x->cap) {
		size_t cap = x->cap == 0 ? 16 : 2 * x->cap;
		claim_t *n = realloc(x->claim, cap * sizeof(*n));
		if (n == NULL) {
			return -ENOMEM;
		}
		x->claim = n;
		x->cap = cap;
	}
	uint8_t *copy = arena_alloc(&x->arena, keylen > 0 ? keylen : 1);
	if (copy == NULL) {
		return -ENOMEM;
	}
	memcpy(copy, key, keylen);
	x->claim[x->count++] = (claim_t){ copy, (uint16_t)keylen, type };
	return 0;
}

/* Where the first label (the last in key order) of a key starts. */
static size_t first_label(const uint8_t *key, size_t keylen)
{
	if (keylen < 1) {
		return 0;
	}
	size_t i = keylen - 1; /* its terminator */
	while (i > 0 && key[i - 1] != 0x00) {
		i--;
	}
	return i;
}

/* What a marker at key claims besides its own TXT set. */
static int claim_name(zone_extdns_t *x, const uint8_t *key, size_t keylen)
{
	size_t lab = first_label(key, keylen);
	size_t lablen = keylen > lab ? keylen - 1 - lab : 0;
	for (size_t i = 0; i < sizeof(new_types) / sizeof(new_types[0]); i++) {
		size_t plen = strlen(new_types[i].prefix);
		if (lablen > plen && memcmp(key + lab, new_types[i].prefix, plen) == 0) {
			/* The name with the rest of the label as its first. */
			uint8_t owned[DNS_KEY_MAX];
			memcpy(owned, key, lab);
			memcpy(owned + lab, key + lab + plen, keylen - lab - plen);
			return claim_add(x, owned, keylen - plen, new_types[i].type);
		}
	}
	/* "a-" alone (an empty label) claims nothing: external-dns would
	 * read it as a name that cannot be. */
	for (size_t i = 0; i < sizeof(new_types) / sizeof(new_types[0]); i++) {
		if (token_is((const char *)key + lab, lablen, new_types[i].prefix)) {
			return 0;
		}
	}
	return claim_add(x, key, keylen, CLAIM_OLD);
}

static int claim_cmp(const uint8_t *ak, size_t alen, uint16_t at, const claim_t *b)
{
	int c = dns_key_cmp(ak, alen, b->key, b->keylen);
	return c != 0 ? c : (int)at - (int)b->type;
}

static int claim_sort(const void *a, const void *b)
{
	const claim_t *x = a;
	return claim_cmp(x->key, x->keylen, x->type, b);
}

static bool claimed(const zone_extdns_t *x, const uint8_t *key, size_t keylen, uint16_t type)
{
	size_t lo = 0, hi = x->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = claim_cmp(key, keylen, type, &x->claim[mid]);
		if (c == 0) {
			return true;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return false;
}

int zone_extdns_index(const zone_t *z, zone_extdns_t **out)
{
	*out = NULL;
	zone_extdns_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return -ENOMEM;
	}
	arena_init(&x->arena);
	x->apex_len = z->apex_len > 0 ? dns_name_key(z->apex, x->apex) : 0;
	char *buf = NULL;
	int ret = 0;
	size_t pos = 0;
	zone_rrset_t set;
	while (ret == 0 && zone_rrset_next(z, &pos, &set)) {
		if (set.type != KNOT_RRTYPE_TXT) {
			continue;
		}
		if (buf == NULL && (buf = malloc(UINT16_MAX + 1)) == NULL) {
			ret = -ENOMEM;
			break;
		}
		bool marker = false;
		for (size_t i = 0; i < set.count && !marker; i++) {
			const knot_rdata_t *rd = set.rr[i].rd;
			long len = txt_join(rd->data, rd->len, buf);
			marker = len >= 0 && marker_text(buf, (size_t)len, NULL, 0);
		}
		if (!marker) {
			continue;
		}
		x->markers++;
		ret = claim_add(x, set.key, set.keylen, KNOT_RRTYPE_TXT);
		if (ret == 0) {
			ret = claim_name(x, set.key, set.keylen);
		}
	}
	free(buf);
	if (ret != 0) {
		zone_extdns_free(x);
		return ret;
	}
	if (x->count > 1) {
		qsort(x->claim, x->count, sizeof(*x->claim), claim_sort);
	}
	*out = x;
	return 0;
}

void zone_extdns_free(zone_extdns_t *x)
{
	if (x == NULL) {
		return;
	}
	arena_free(&x->arena);
	free(x->claim);
	free(x);
}

size_t zone_extdns_markers(const zone_extdns_t *x)
{
	return x != NULL ? x->markers : 0;
}

size_t zone_extdns_claims(const zone_extdns_t *x)
{
	return x != NULL ? x->count : 0;
}

const zone_rule_t *zone_extdns_hold(void *ctx, const zone_rrset_t *set)
{
	const zone_extdns_t *x = ctx;
	if (x == NULL || x->count == 0 || set->type == KNOT_RRTYPE_SOA) {
		return NULL;
	}
	if (claimed(x, set->key, set->keylen, set->type)) {
		return &zone_extdns_rule;
	}
	bool apex = set->keylen == x->apex_len && memcmp(set->key, x->apex, x->apex_len) == 0;
	if (old_type(set->type) && !(apex && set->type == KNOT_RRTYPE_NS) &&
	    claimed(x, set->key, set->keylen, CLAIM_OLD)) {
		return &zone_extdns_rule;
	}
	return NULL;
}
