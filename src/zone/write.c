#include "zone/zonefile.h"

#include <errno.h>
#include <stdlib.h>
#include <libknot/descriptor.h>

#include "dns/name.h"
#include "dns/rdata.h"

struct writer {
	uint8_t *rdbuf;
	size_t rdsize;
	char *txt;
	size_t txtsize;
};

static int write_set(struct writer *w, const zone_rrset_t *s, const char *prefix, FILE *out)
{
	knot_dname_storage_t owner;
	knot_rrset_t rr;
	int ret = zone_rrset_to_knot(s, &rr, owner, &w->rdbuf, &w->rdsize);
	if (ret < 0) {
		return ret;
	}
	for (size_t i = 0; i < s->count; i++) {
		int len = dns_rr_text(&rr, i, 1, &w->txt, &w->txtsize);
		if (len < 0) {
			return len;
		}
		if (fputs(prefix, out) == EOF ||
		    fwrite(w->txt, 1, (size_t)len, out) != (size_t)len || fputc('\n', out) == EOF) {
			return -EIO;
		}
	}
	return 0;
}

static void writer_free(struct writer *w)
{
	free(w->rdbuf);
	free(w->txt);
}

int zone_write_rrset(const zone_rrset_t *s, const char *prefix, FILE *out)
{
	struct writer w = { 0 };
	int ret = write_set(&w, s, prefix, out);
	writer_free(&w);
	return ret;
}

int zone_write(const zone_t *z, FILE *out)
{
	struct writer w = { 0 };
	zone_rrset_t s;
	int ret = 0;

	/* SOA first, as every zone file reader expects; then canonical order. */
	bool have_soa = z->apex_len > 0 && zone_find(z, z->apex, KNOT_RRTYPE_SOA, &s);
	if (have_soa) {
		ret = write_set(&w, &s, "", out);
	}
	uint8_t akey[DNS_KEY_MAX];
	size_t alen = have_soa ? dns_name_key(z->apex, akey) : 0;
	size_t pos = 0;
	while (ret == 0 && zone_rrset_next(z, &pos, &s)) {
		if (have_soa && s.type == KNOT_RRTYPE_SOA &&
		    dns_key_cmp(s.key, s.keylen, akey, alen) == 0) {
			continue; /* the apex SOA, already written */
		}
		ret = write_set(&w, &s, "", out);
	}
	writer_free(&w);
	if (ret == 0 && fflush(out) != 0) {
		ret = -EIO;
	}
	return ret;
}
