/*
 * Fuzz the catalog zone reader (zone/catalog.h) over zone text loaded at
 * origin catalog.example.  Beyond "no crash": a refusal says why; what is
 * read is sorted, holds each name once, and none of them is the root or at
 * or below the catalog; a second read given the first as prev reads the
 * same members.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "zone/catalog.h"
#include "zone/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	knot_dname_storage_t apex;
	dns_name_from_str("catalog.example.", apex);
	zone_t z;
	zone_error_t zerr;
	if (zone_load_string(&z, "fuzz", (const char *)data, size, apex, &zerr) != 0) {
		return 0;
	}
	catalog_t c, again;
	char err[512] = "";
	int ret = catalog_parse(&z, NULL, &c, NULL, NULL, err, sizeof(err));
	if (ret != 0) {
		if (err[0] == '\0' || c.n != 0) {
			abort();
		}
		zone_free(&z);
		return 0;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (c.m[i].name[0] == 0 || dns_name_in_zone(c.m[i].name, apex) ||
		    (i > 0 && dns_name_cmp(c.m[i - 1].name, c.m[i].name) >= 0) ||
		    catalog_find(&c, c.m[i].name) != &c.m[i]) {
			abort();
		}
	}
	if (catalog_parse(&z, &c, &again, NULL, NULL, err, sizeof(err)) != 0 ||
	    !catalog_equal(&c, &again)) {
		abort();
	}
	catalog_free(&again);
	catalog_free(&c);
	zone_free(&z);
	return 0;
}
