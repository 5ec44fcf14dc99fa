#include "dns/name.h"

#include <errno.h>
#include <string.h>
#include <libknot/descriptor.h>

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

size_t dns_name_key(const knot_dname_t *name, uint8_t key[DNS_KEY_MAX])
{
	/* Collect label offsets, then emit them from the root down. */
	const uint8_t *labels[KNOT_DNAME_MAXLABELS];
	size_t n = 0;
	for (const uint8_t *p = name; *p != 0; p += *p + 1) {
		labels[n++] = p;
	}

	size_t len = 0;
	while (n > 0) {
		const uint8_t *l = labels[--n];
		for (uint8_t i = 1; i <= l[0]; i++) {
			uint8_t c = lower(l[i]);
			if (c <= 0x01) {
				key[len++] = 0x01;
				key[len++] = (uint8_t)(c + 1);
			} else {
				key[len++] = c;
			}
		}
		key[len++] = 0x00;
	}
	return len;
}

int dns_name_from_key(const uint8_t *key, size_t keylen, knot_dname_storage_t out)
{
	/* Decode the labels (root first) into a scratch array, then reverse. */
	uint8_t lab[KNOT_DNAME_MAXLEN];
	uint8_t starts[KNOT_DNAME_MAXLABELS];
	size_t nlab = 0, pos = 0, i = 0;

	while (i < keylen) {
		if (nlab == KNOT_DNAME_MAXLABELS || pos >= sizeof(lab)) {
			return -EINVAL;
		}
		starts[nlab++] = (uint8_t)pos;
		size_t lstart = pos++;
		while (i < keylen && key[i] != 0x00) {
			uint8_t c = key[i++];
			if (c == 0x01) {
				if (i == keylen || key[i] < 0x01 || key[i] > 0x02) {
					return -EINVAL;
				}
				c = (uint8_t)(key[i++] - 1);
			}
			if (pos >= sizeof(lab)) {
				return -EINVAL;
			}
			lab[pos++] = c;
		}
		if (i == keylen) {
			return -EINVAL; /* every label is terminated */
		}
		i++;
		size_t llen = pos - lstart - 1;
		if (llen == 0 || llen > KNOT_DNAME_MAXLABELLEN) {
			return -EINVAL;
		}
		lab[lstart] = (uint8_t)llen;
	}
	if (pos + 1 > KNOT_DNAME_MAXLEN) {
		return -EINVAL;
	}

	size_t o = 0;
	while (nlab > 0) {
		uint8_t s = starts[--nlab];
		memcpy(out + o, lab + s, (size_t)lab[s] + 1);
		o += (size_t)lab[s] + 1;
	}
	out[o++] = 0;
	return (int)o;
}

int dns_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r = memcmp(a, b, n);
	if (r != 0) {
		return r;
	}
	return (alen > blen) - (alen < blen);
}

int dns_name_cmp(const knot_dname_t *a, const knot_dname_t *b)
{
	const uint8_t *la[KNOT_DNAME_MAXLABELS], *lb[KNOT_DNAME_MAXLABELS];
	size_t na = 0, nb = 0;
	for (const uint8_t *p = a; *p; p += *p + 1) {
		la[na++] = p;
	}
	for (const uint8_t *p = b; *p; p += *p + 1) {
		lb[nb++] = p;
	}
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		uint8_t n = x[0] < y[0] ? x[0] : y[0];
		for (uint8_t i = 1; i <= n; i++) {
			int d = (int)lower(x[i]) - (int)lower(y[i]);
			if (d != 0) {
				return d;
			}
		}
		if (x[0] != y[0]) {
			return (int)x[0] - (int)y[0];
		}
	}
	return (na > 0) - (nb > 0);
}

uint32_t dns_name_hash(const knot_dname_t *name)
{
	uint32_t h = 2166136261u;
	size_t len = knot_dname_size(name);
	for (size_t i = 0; i < len; i++) {
		h = (h ^ lower(name[i])) * 16777619u;
	}
	return h;
}

bool dns_name_equal(const knot_dname_t *a, const knot_dname_t *b)
{
	while (*a == *b) {
		if (*a == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= *a; i++) {
			if (lower(a[i]) != lower(b[i])) {
				return false;
			}
		}
		a += *a + 1;
		b += *b + 1;
	}
	return false;
}

bool dns_name_in_zone(const knot_dname_t *name, const knot_dname_t *apex)
{
	size_t nl = knot_dname_labels(name, NULL), al = knot_dname_labels(apex, NULL);
	if (nl < al) {
		return false;
	}
	while (nl-- > al) {
		name += *name + 1;
	}
	return dns_name_equal(name, apex);
}

char *dns_name_to_str(const knot_dname_t *name, char *buf, size_t size)
{
	return knot_dname_to_str(buf, name, size);
}

char *dns_key_to_str(const uint8_t *key, size_t keylen, char *buf, size_t size)
{
	knot_dname_storage_t wire;
	if (dns_name_from_key(key, keylen, wire) < 0) {
		return NULL;
	}
	return knot_dname_to_str(buf, wire, size);
}

int dns_name_from_str(const char *str, knot_dname_storage_t out)
{
	if (str == NULL || *str == '\0') {
		return -EINVAL;
	}
	if (knot_dname_from_str(out, str, KNOT_DNAME_MAXLEN) == NULL) {
		return -EINVAL;
	}
	knot_dname_to_lower(out);
	return (int)knot_dname_size(out);
}
