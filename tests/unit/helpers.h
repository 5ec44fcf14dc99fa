/* Shared helpers of the unit tests (header-only). */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "zone/diff.h"
#include "zone/zonefile.h"

/* Load zone text that must be valid. */
static inline void load_ok(zone_t *z, const char *text)
{
	zone_error_t err;
	int ret = zone_load_string(z, "test.zone", text, strlen(text), NULL, &err);
	if (ret != 0) {
		fail_msg("unexpected load error: %s", err.msg);
	}
}

/* Load zone text that must fail; returns the message. */
static inline const char *load_fail(const char *text, const char *origin, zone_error_t *err)
{
	zone_t z;
	knot_dname_storage_t o;
	if (origin != NULL) {
		assert_true(dns_name_from_str(origin, o) > 0);
	}
	int ret = zone_load_string(&z, "test.zone", text, strlen(text), origin ? o : NULL, err);
	assert_int_not_equal(ret, 0);
	assert_int_equal(z.count, 0); /* nothing kept */
	return err->msg;
}

/* The zone as canonical text (malloc'd). */
static inline char *zone_text(const zone_t *z)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(zone_write(z, f), 0);
	fclose(f);
	return buf;
}

/* Records of an RRset as one string "rdata|rdata|..." (malloc'd). */
static inline char *rrset_text(const zone_rrset_t *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(zone_write_rrset(s, "|", f), 0);
	fclose(f);
	return buf;
}

static inline bool find_str(const zone_t *z, const char *owner, uint16_t type, zone_rrset_t *out)
{
	knot_dname_storage_t o;
	assert_true(dns_name_from_str(owner, o) > 0);
	return zone_find(z, o, type, out);
}

#include <libzscanner/scanner.h>

/* A record list (IXFR delta side) from zone text, no SOA required. */
static inline void records(zone_t *z, const char *text)
{
	zone_init(z);
	zs_scanner_t *s = malloc(sizeof(*s));
	assert_non_null(s);
	assert_int_equal(zs_init(s, "example.com.", 1, 3600), 0);
	assert_int_equal(zs_set_input_string(s, text, strlen(text)), 0);
	while (zs_parse_record(s) == 0 && s->state == ZS_STATE_DATA) {
		assert_int_equal(zone_add(z, s->r_owner, s->r_type, s->r_ttl, s->r_data,
		                          (uint16_t)s->r_data_length),
		                 0);
	}
	assert_int_equal(s->state, ZS_STATE_EOF);
	zs_deinit(s);
	free(s);
	assert_int_equal(zone_finish(z), 0);
}
