/* Fuzz the readers of PowerDNS's JSON answers.  Whatever a zone answer
 * gives must be records we can send back: each content written for
 * PowerDNS reads back to the same rdata (or is refused, never sent wrong),
 * and the PATCH body that would recreate the zone is JSON that names every
 * RRset once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libknot/rrset.h>
#include <libzscanner/scanner.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "obs/log.h"
#include "target/powerdns/pdnsjson.h"
#include "target/powerdns/powerdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const zone_t *z, zs_scanner_t *sc)
{
	uint8_t *rd = malloc(DNS_RDATA_MAX);
	uint8_t *buf = NULL;
	size_t bsize = 0, tsize = 0;
	char *text = NULL;
	size_t pos = 0;
	zone_rrset_t s;
	while (rd != NULL && zone_rrset_next(z, &pos, &s)) {
		knot_rrset_t rr;
		knot_dname_storage_t owner;
		if (zone_rrset_to_knot(&s, &rr, owner, &buf, &bsize) != 0) {
			abort();
		}
		for (size_t i = 0; i < s.count; i++) {
			if (pdns_content_from_rr(&rr, i, sc, &text, &tsize) < 0) {
				continue; /* refused to send (reported), never sent wrong */
			}
			int m = pdns_content_to_rdata(sc, s.type, text, rd, DNS_RDATA_MAX);
			if (m != s.rr[i].rd->len || memcmp(rd, s.rr[i].rd->data, (size_t)m) != 0) {
				fprintf(stderr, "round trip failed: type %u content '%s'\n", s.type,
				        text);
				abort();
			}
		}
	}
	free(text);
	free(buf);
	free(rd);
}

/* The PATCH that would write the whole zone: valid JSON, one entry per
 * RRset (or an error naming the set it could not write). */
static void check_patch(const zone_t *z, zs_scanner_t *sc)
{
	zone_t empty;
	zone_init(&empty);
	zone_set_apex(&empty, z->apex);
	zone_diff_t d;
	pdns_plan_t p;
	if (zone_finish(&empty) != 0 || zone_diff(&empty, z, &d) != 0) {
		abort();
	}
	if (pdns_plan(&d, 7, &p) != 0) {
		abort();
	}
	for (size_t b = 0, from = 0; b < p.nbatches; from = p.batch_end[b++]) {
		char *body = NULL, err[512];
		size_t len = 0;
		if (pdns_patch_body((const zone_change_t *const *)p.order, from, p.batch_end[b], sc,
		                    &body, &len, err, sizeof(err)) != 0) {
			continue;
		}
		json_t *root = json_loadb(body, len, 0, NULL);
		if (root == NULL || json_array_size(json_object_get(root, "rrsets")) !=
		                            p.batch_end[b] - from) {
			fprintf(stderr, "bad PATCH body: %s\n", body);
			abort();
		}
		json_decref(root);
		free(body);
	}
	pdns_plan_free(&p);
	zone_diff_free(&d);
	zone_free(&empty);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR); /* unreadable contents warn */
		quiet = true;
	}
	const char *json = (const char *)data;
	uint32_t serial;
	(void)pdns_parse_serial(json, size, &serial);
	zone_t z;
	zone_init(&z);
	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	zone_set_apex(&z, apex);
	pdns_zone_info_t info;
	char err[512], msg[512];
	zs_scanner_t *sc = dns_scanner_new();
	if (sc != NULL && pdns_parse_zone(json, size, &z, &info, err, sizeof(err)) == 0 &&
	    zone_finish(&z) == 0) {
		check_round_trip(&z, sc);
		check_patch(&z, sc);
		/* A set left alone is never also in the live zone. */
		size_t pos = 0;
		zone_rrset_t s;
		while (zone_rrset_next(&z, &pos, &s)) {
			if (pdns_zone_info_has(&info, &s)) {
				abort();
			}
		}
	}
	pdns_zone_info_free(&info);
	zone_free(&z);
	dns_scanner_free(sc);
	pdns_parse_error(json, size, msg, sizeof(msg));
	return 0;
}
