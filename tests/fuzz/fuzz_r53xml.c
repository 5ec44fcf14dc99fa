/* Fuzz the readers of Route 53's XML answers.  Whatever a record set page
 * gives must be records we can send back: each value printed for Route 53
 * must read back to the same rdata. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrset.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "obs/log.h"
#include "target/route53/r53text.h"
#include "target/route53/r53xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values printed that do not read back the same: refused by the checked
 * form; rare (libknot's printer and scanner disagree on a few rdata). */
static size_t refused;

static void check_round_trip(const zone_t *z)
{
	zs_scanner_t *sc = dns_scanner_new();
	uint8_t *rd = malloc(DNS_RDATA_MAX);
	uint8_t *buf = NULL;
	size_t bsize = 0, vsize = 0;
	char *v = NULL;
	size_t pos = 0;
	zone_rrset_t s;
	while (sc != NULL && rd != NULL && zone_rrset_next(z, &pos, &s)) {
		knot_rrset_t rr;
		knot_dname_storage_t owner;
		if (zone_rrset_to_knot(&s, &rr, owner, &buf, &bsize) != 0) {
			abort();
		}
		for (size_t i = 0; i < s.count; i++) {
			int n = r53_value_from_rr(&rr, i, NULL, &v, &vsize);
			if (n < 0 || r53_value_from_rr(&rr, i, sc, &v, &vsize) < 0) {
				refused++; /* refused to send (reported), never sent wrong */
				continue;
			}
			int m = r53_value_to_rdata(sc, s.type, v, rd, DNS_RDATA_MAX);
			if (m != s.rr[i].rd->len || memcmp(rd, s.rr[i].rd->data, (size_t)m) != 0) {
				fprintf(stderr, "round trip failed: type %u value '%s' (%d vs %u)\n",
				        s.type, v, m, s.rr[i].rd->len);
				abort();
			}
		}
	}
	free(v);
	free(buf);
	free(rd);
	dns_scanner_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR); /* unreadable values warn */
		quiet = true;
	}
	const char *xml = (const char *)data;
	zone_t z;
	zone_init(&z);
	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	zone_set_apex(&z, apex);
	target_foreign_t foreign = { 0 };
	r53_next_t next;
	r53_raw_t raw = { 0 };
	char err[512], id[R53_ID_MAX], status[16], code[64], msg[1024];
	if (r53_parse_rrsets(xml, size, &z, &raw, &foreign, &next, err, sizeof(err)) == 0 &&
	    zone_finish(&z) == 0) {
		check_round_trip(&z);
		/* Every record read has its listed text, for a DELETE. */
		size_t pos = 0;
		zone_rrset_t s;
		while (zone_rrset_next(&z, &pos, &s)) {
			for (size_t i = 0; i < s.count; i++) {
				if (r53_raw_find(&raw, &s, i) == NULL) {
					abort();
				}
			}
		}
	}
	r53_raw_free(&raw);
	target_foreign_free(&foreign);
	zone_free(&z);
	/* A listing page: every zone read is found again once sorted. */
	r53_zones_t zones = { 0 };
	r53_zone_next_t znext;
	if (r53_parse_zone_list(xml, size, &zones, 1000, &znext, err, sizeof(err)) == 0) {
		if (zones.count > 1000 || (znext.truncated && znext.marker[0] == '\0')) {
			abort();
		}
		r53_zones_sort(&zones);
		for (size_t i = 0; i < zones.count; i++) {
			size_t first, n = r53_zones_find(&zones, zones.e[i].name, &first);
			if (n == 0 || i < first || i >= first + n) {
				abort();
			}
		}
	}
	r53_zones_free(&zones);
	r53_zone_info_t info;
	if (r53_parse_zone_info(xml, size, &info) == 0 &&
	    (info.id[0] == '\0' || info.ns > R53_NS_MAX)) {
		abort();
	}
	r53_parse_change(xml, size, id, status);
	r53_parse_error(xml, size, code, sizeof(code), msg, sizeof(msg));
	knot_dname_storage_t ns[4];
	r53_parse_nameservers(xml, size, ns, 4);
	return 0;
}
