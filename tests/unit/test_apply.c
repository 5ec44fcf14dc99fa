#include "helpers.h"

#include <errno.h>

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
#define SOA1 "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
#define SOA2 "@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"

/* Apply a delta and compare with the expected zone text. */
static void apply_ok(const char *base, const char *del_text, const char *add_text,
                     const char *expect)
{
	zone_t z, del, add, want;
	load_ok(&z, base);
	records(&del, del_text);
	records(&add, add_text);
	zone_error_t err;
	int ret = zone_apply(&z, &del, &add, &err);
	if (ret != 0) {
		fail_msg("apply failed: %s", err.msg);
	}
	/* The zone must not depend on the delta's memory afterwards. */
	zone_free(&del);
	zone_free(&add);
	load_ok(&want, expect);
	char *got = zone_text(&z), *exp = zone_text(&want);
	assert_string_equal(got, exp);
	assert_int_equal(z.rrsets, want.rrsets);
	free(got);
	free(exp);
	zone_free(&z);
	zone_free(&want);
}

static void apply_fail(const char *base, const char *del_text, const char *add_text,
                       const char *want_msg)
{
	zone_t z, del, add;
	load_ok(&z, base);
	char *before = zone_text(&z);
	records(&del, del_text);
	records(&add, add_text);
	zone_error_t err;
	assert_int_equal(zone_apply(&z, &del, &add, &err), -EINVAL);
	if (strstr(err.msg, want_msg) == NULL) {
		fail_msg("expected '%s' in '%s'", want_msg, err.msg);
	}
	/* A refused delta leaves the zone as it was. */
	char *after = zone_text(&z);
	assert_string_equal(before, after);
	free(before);
	free(after);
	zone_free(&del);
	zone_free(&add);
	zone_free(&z);
}

static void test_apply_changes(void **state)
{
	(void)state;
	apply_ok(HEAD "www A 192.0.2.1\nold TXT \"x\"\n", SOA1 "www A 192.0.2.1\nold TXT \"x\"\n",
	         SOA2 "www A 192.0.2.2\nnew AAAA 2001:db8::1\n",
	         "$ORIGIN example.com.\n$TTL 3600\n" SOA2
	         "www A 192.0.2.2\nnew AAAA 2001:db8::1\n");
}

static void test_apply_member(void **state)
{
	(void)state;
	/* Remove one record of three, add one to another set. */
	apply_ok(HEAD "ns NS a.example.net.\nns NS b.example.net.\nns NS c.example.net.\n",
	         SOA1 "ns NS b.example.net.\n", SOA2 "ns NS d.example.net.\n",
	         "$ORIGIN example.com.\n$TTL 3600\n" SOA2
	         "ns NS a.example.net.\nns NS c.example.net.\nns NS d.example.net.\n");
}

static void test_apply_ttl(void **state)
{
	(void)state;
	/* Removal matches regardless of TTL; re-adding changes the TTL. */
	apply_ok(HEAD "www 300 A 192.0.2.1\n", SOA1 "www 999 A 192.0.2.1\n",
	         SOA2 "www 60 A 192.0.2.1\n",
	         "$ORIGIN example.com.\n$TTL 3600\n" SOA2 "www 60 A 192.0.2.1\n");
	/* Names compare case-insensitively. */
	apply_ok(HEAD "www CNAME host.example.net.\n", SOA1 "WWW CNAME HOST.example.NET.\n", SOA2,
	         "$ORIGIN example.com.\n$TTL 3600\n" SOA2);
}

static void test_apply_empty(void **state)
{
	(void)state;
	/* Only the SOA changes (a serial bump). */
	apply_ok(HEAD "a A 192.0.2.1\n", SOA1, SOA2,
	         "$ORIGIN example.com.\n$TTL 3600\n" SOA2 "a A 192.0.2.1\n");
}

static void test_apply_refused(void **state)
{
	(void)state;
	apply_fail(HEAD "www A 192.0.2.1\n", SOA1 "www A 192.0.2.9\n", SOA2,
	           "delta removes a record the zone does not have: www.example.com. 3600 IN A "
	           "192.0.2.9");
	apply_fail(HEAD "www A 192.0.2.1\n", SOA1, SOA2 "www A 192.0.2.1\n",
	           "delta adds a record the zone already has: www.example.com. 3600 IN A "
	           "192.0.2.1");
	apply_fail(HEAD, SOA1, SOA2 "www.example.org. A 192.0.2.1\n",
	           "delta adds a record outside the zone: www.example.org.");
	apply_fail(HEAD, SOA1, SOA2 "sub SOA a b 1 1 1 1 1\n",
	           "delta adds an SOA below the apex: sub.example.com.");
	apply_fail(HEAD, SOA1, "", "delta leaves 0 SOA records at the apex");
	apply_fail(HEAD, "", SOA2, "delta leaves 2 SOA records at the apex");
	/* Removing the same record as absent, once it is gone. */
	apply_fail(HEAD "a A 192.0.2.1\n", SOA1 "a A 192.0.2.1\nb A 192.0.2.1\n", SOA2,
	           "b.example.com. 3600 IN A 192.0.2.1");
}

static void test_apply_sequence(void **state)
{
	(void)state;
	/* Many deltas in a row on a larger zone end where a fresh load ends. */
	size_t n = 2000;
	size_t cap = 40 * n + 200;
	char *text = malloc(cap), *expect = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "%s", HEAD);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, cap - len, "h%zu A 192.0.2.%zu\n", i, i % 250);
	}
	zone_t z;
	load_ok(&z, text);
	for (uint32_t serial = 1; serial < 50; serial++) {
		char del_text[200], add_text[200];
		snprintf(del_text, sizeof(del_text),
		         "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\nh%u A 192.0.2.%u\n",
		         serial, serial, serial % 250);
		snprintf(add_text, sizeof(add_text),
		         "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\nh%u AAAA 2001:db8::%u\n",
		         serial + 1, serial, serial);
		zone_t del, add;
		records(&del, del_text);
		records(&add, add_text);
		zone_error_t err;
		int ret = zone_apply(&z, &del, &add, &err);
		if (ret != 0) {
			fail_msg("%s", err.msg);
		}
		zone_free(&del);
		zone_free(&add);
	}
	len = (size_t)snprintf(expect, cap,
	                       "$ORIGIN example.com.\n$TTL 3600\n"
	                       "@ SOA ns1 hostmaster 50 7200 3600 1209600 300\n");
	for (size_t i = 0; i < n; i++) {
		if (i >= 1 && i < 50) {
			len += (size_t)snprintf(expect + len, cap - len,
			                        "h%zu AAAA 2001:db8::%zu\n", i, i);
		} else {
			len += (size_t)snprintf(expect + len, cap - len, "h%zu A 192.0.2.%zu\n", i,
			                        i % 250);
		}
	}
	zone_t want;
	load_ok(&want, expect);
	zone_diff_t d;
	assert_int_equal(zone_diff(&z, &want, &d), 0);
	assert_int_equal(d.count, 0);
	uint32_t serial;
	assert_int_equal(zone_serial(&z, &serial), 0);
	assert_int_equal(serial, 50);
	zone_diff_free(&d);
	zone_free(&z);
	zone_free(&want);
	free(text);
	free(expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_changes), cmocka_unit_test(test_apply_member),
		cmocka_unit_test(test_apply_ttl),     cmocka_unit_test(test_apply_empty),
		cmocka_unit_test(test_apply_refused), cmocka_unit_test(test_apply_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
