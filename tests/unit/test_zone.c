#include "helpers.h"

#include <errno.h>
#include <unistd.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 7 7200 3600 1209600 300\n"

static void test_load_basic(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, HEAD "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nwww 300 IN A 192.0.2.2\n"
	                 "www AAAA 2001:db8::2\nmail MX 10 mail\n");
	assert_int_equal(z.count, 7);
	assert_int_equal(z.rrsets, 6);
	uint32_t serial = 0;
	assert_int_equal(zone_serial(&z, &serial), 0);
	assert_int_equal(serial, 7);
	char apex[DNS_NAME_STR_MAX];
	assert_string_equal(dns_name_to_str(z.apex, apex, sizeof(apex)), "example.com.");

	zone_rrset_t s;
	assert_true(find_str(&z, "example.com.", KNOT_RRTYPE_NS, &s));
	assert_int_equal(s.count, 2);
	assert_int_equal(s.ttl, 3600);
	assert_true(find_str(&z, "WWW.example.com.", KNOT_RRTYPE_A, &s));
	assert_int_equal(s.count, 1);
	assert_int_equal(s.ttl, 300);
	assert_false(find_str(&z, "www.example.com.", KNOT_RRTYPE_MX, &s));
	assert_false(find_str(&z, "nope.example.com.", KNOT_RRTYPE_A, &s));
	char *t = NULL;
	assert_true(find_str(&z, "mail.example.com.", KNOT_RRTYPE_MX, &s));
	t = rrset_text(&s);
	assert_string_equal(t, "|mail.example.com. 3600 IN MX 10 mail.example.com.\n");
	free(t);

	/* Iteration is in canonical order: apex first, types ascending. */
	size_t pos = 0;
	const char *want[] = {
		"example.com. NS",    "example.com. SOA",   "mail.example.com. MX",
		"ns1.example.com. A", "www.example.com. A", "www.example.com. AAAA"
	};
	size_t i = 0;
	while (zone_rrset_next(&z, &pos, &s)) {
		char name[DNS_NAME_STR_MAX], type[16], got[DNS_NAME_STR_MAX + 20];
		dns_key_to_str(s.key, s.keylen, name, sizeof(name));
		knot_rrtype_to_string(s.type, type, sizeof(type));
		snprintf(got, sizeof(got), "%s %s", name, type);
		assert_true(i < 6);
		assert_string_equal(got, want[i]);
		i++;
	}
	assert_int_equal(i, 6);
	zone_free(&z);
}

static void test_canonical_form(void **state)
{
	(void)state;
	zone_t a, b;
	/* Case in owners and in rdata names is not a difference. */
	load_ok(&a, HEAD "WWW CNAME Host.Example.COM.\n@ MX 10 MAIL.example.com.\n"
	                 "x NS NS.Example.NET.\n");
	load_ok(&b,
	        "$ORIGIN EXAMPLE.COM.\n$TTL 3600\n@ SOA NS1 HostMaster 7 7200 3600 1209600 300\n"
	        "www CNAME host\n@ MX 10 mail\nX NS ns.example.net.\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, 0);
	zone_diff_free(&d);
	char *ta = zone_text(&a), *tb = zone_text(&b);
	assert_string_equal(ta, tb);
	assert_non_null(strstr(ta, "www.example.com. 3600 IN CNAME host.example.com.\n"));
	free(ta);
	free(tb);
	zone_free(&a);
	zone_free(&b);

	/* Case inside TXT is data, not a name: it must stay. */
	load_ok(&a, HEAD "t TXT \"Hello\"\n");
	load_ok(&b, HEAD "t TXT \"hello\"\n");
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, 1);
	zone_diff_free(&d);
	zone_free(&a);
	zone_free(&b);
}

static void test_duplicates_and_ttl(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, HEAD "a A 192.0.2.1\na A 192.0.2.1\nA.example.com. 60 A 192.0.2.1\n"
	                 "b 300 A 192.0.2.1\nb 100 A 192.0.2.2\nb 200 A 192.0.2.3\n");
	assert_int_equal(z.stats.duplicates, 2);
	assert_int_equal(z.stats.ttl_collapsed, 2); /* a (3600/60) and b */
	zone_rrset_t s;
	assert_true(find_str(&z, "a.example.com.", KNOT_RRTYPE_A, &s));
	assert_int_equal(s.count, 1);
	assert_int_equal(s.ttl, 60);
	assert_true(find_str(&z, "b.example.com.", KNOT_RRTYPE_A, &s));
	assert_int_equal(s.count, 3);
	for (size_t i = 0; i < s.count; i++) {
		assert_int_equal(s.rr[i].ttl, 100);
	}
	zone_free(&z);
}

static void test_generic_syntax(void **state)
{
	(void)state;
	zone_t a, b;
	/* RFC 3597: a known type in generic form equals its usual form. */
	load_ok(&a, HEAD "x TYPE1 \\# 4 c0000201\nm MX \\# 5 000a016d00\nu TYPE65000 \\# 3 010203\n"
	                 "e TYPE65001 \\# 0\n");
	load_ok(&b,
	        HEAD "x A 192.0.2.1\nm MX 10 m.\nu TYPE65000 \\# 3 010203\ne TYPE65001 \\# 0\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, 0);
	zone_diff_free(&d);
	char *t = zone_text(&a);
	assert_non_null(strstr(t, "u.example.com. 3600 IN TYPE65000 \\# 3 010203\n"));
	assert_non_null(strstr(t, "e.example.com. 3600 IN TYPE65001 \\# 0\n"));
	free(t);
	zone_free(&b);
	/* Rdata libknot reads but cannot print falls back to RFC 3597 form,
	 * which loads again to the same zone (an IPSECKEY without its key). */
	load_ok(&b, HEAD "k IPSECKEY 12 3 4 gw\n");
	t = zone_text(&b);
	assert_non_null(strstr(t, "k.example.com. 3600 IN IPSECKEY \\# "));
	zone_t c;
	load_ok(&c, t);
	zone_diff_t d2;
	assert_int_equal(zone_diff(&b, &c, &d2), 0);
	assert_int_equal(d2.count, 0);
	zone_diff_free(&d2);
	zone_free(&c);
	free(t);
	zone_free(&a);
	zone_free(&b);
}

static void test_round_trip_all_types(void **state)
{
	(void)state;
	zone_t a, b;
	zone_error_t err;
	int ret = zone_load_file(&a, SRCDIR "/tests/data/alltypes.zone", NULL, &err);
	if (ret != 0) {
		fail_msg("%s", err.msg);
	}
	assert_true(a.rrsets >= 50);
	char *text = zone_text(&a);
	/* SOA first, absolute names. */
	assert_memory_equal(text, "all.test. 3600 IN SOA ns1.all.test. hostmaster.all.test. ", 57);
	ret = zone_load_string(&b, "written", text, strlen(text), NULL, &err);
	if (ret != 0) {
		fail_msg("written text does not load: %s\n%s", err.msg, text);
	}
	assert_int_equal(a.count, b.count);
	zone_diff_t d;
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, 0);
	zone_diff_free(&d);
	/* Writing again gives the same bytes. */
	char *again = zone_text(&b);
	assert_string_equal(text, again);
	/* Every type made it through. */
	const uint16_t types[] = { KNOT_RRTYPE_CAA,
		                   KNOT_RRTYPE_HTTPS,
		                   KNOT_RRTYPE_SVCB,
		                   KNOT_RRTYPE_TLSA,
		                   KNOT_RRTYPE_LOC,
		                   KNOT_RRTYPE_NAPTR,
		                   KNOT_RRTYPE_NSEC3,
		                   KNOT_RRTYPE_RRSIG,
		                   KNOT_RRTYPE_APL,
		                   KNOT_RRTYPE_ZONEMD,
		                   65000 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t pos = 0;
		zone_rrset_t s;
		bool found = false;
		while (!found && zone_rrset_next(&b, &pos, &s)) {
			found = s.type == types[i];
		}
		assert_true(found);
	}
	free(text);
	free(again);
	zone_free(&a);
	zone_free(&b);
}

static void test_include(void **state)
{
	(void)state;
	char dir[] = "/tmp/zonesync-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char main_path[256], sub_path[256];
	snprintf(main_path, sizeof(main_path), "%s/main.zone", dir);
	snprintf(sub_path, sizeof(sub_path), "%s/sub.zone", dir);
	FILE *f = fopen(main_path, "w");
	fprintf(f, HEAD "$INCLUDE %s sub.example.com.\nafter A 192.0.2.9\n", sub_path);
	fclose(f);
	f = fopen(sub_path, "w");
	fprintf(f, "www A 192.0.2.7\n@ TXT \"sub\"\n");
	fclose(f);

	zone_t z;
	zone_error_t err;
	int ret = zone_load_file(&z, main_path, NULL, &err);
	if (ret != 0) {
		fail_msg("%s", err.msg);
	}
	zone_rrset_t s;
	assert_true(find_str(&z, "www.sub.example.com.", KNOT_RRTYPE_A, &s));
	assert_true(find_str(&z, "sub.example.com.", KNOT_RRTYPE_TXT, &s));
	/* The origin is restored after the included file. */
	assert_true(find_str(&z, "after.example.com.", KNOT_RRTYPE_A, &s));
	zone_free(&z);

	/* An error inside the included file names that file and line. */
	f = fopen(sub_path, "w");
	fprintf(f, "www A 192.0.2.7\nbad A 300.0.0.1\n");
	fclose(f);
	ret = zone_load_file(&z, main_path, NULL, &err);
	assert_int_equal(ret, -EINVAL);
	char want[300];
	snprintf(want, sizeof(want), "%s:2: ", sub_path);
	assert_memory_equal(err.msg, want, strlen(want));

	/* From memory, $INCLUDE is refused. */
	const char *msg = load_fail(HEAD "$INCLUDE /etc/passwd\n", NULL, &err);
	assert_non_null(strstr(msg, "test.zone:4: $INCLUDE is not allowed"));

	unlink(main_path);
	unlink(sub_path);
	rmdir(dir);
}

static void expect_error(const char *text, const char *origin, const char *want)
{
	zone_error_t err;
	const char *msg = load_fail(text, origin, &err);
	if (strstr(msg, want) == NULL) {
		fail_msg("expected '%s' in '%s'", want, msg);
	}
}

static void test_errors(void **state)
{
	(void)state;
	expect_error(HEAD "www A 192.0.2.300\n", NULL, "test.zone:4: ");
	expect_error(HEAD "www A 192.0.2.300\n", NULL, "IPv4");
	expect_error(HEAD "\n\nwww NOSUCHTYPE 1\n", NULL, "test.zone:6: ");
	expect_error(HEAD "www CH A 192.0.2.1\n", NULL, "test.zone:4: ");
	expect_error(HEAD "www TYPE255 \\# 0\n", NULL, "test.zone:4: type ANY cannot appear");
	expect_error(HEAD "www TYPE41 \\# 0\n", NULL, "type OPT cannot appear");
	expect_error(HEAD "@ SOA ns1 hm 8 1 1 1 1\n", NULL,
	             "test.zone:4: second SOA record (example.com.)");
	expect_error("$ORIGIN example.com.\nwww A 192.0.2.1\n", NULL, "test.zone: no SOA record");
	expect_error(HEAD "www.example.org. A 192.0.2.1\n", NULL,
	             "test.zone:4: record owner www.example.org. is outside the zone example.com.");
	expect_error(HEAD "notexample.com. A 192.0.2.1\n", NULL, "outside the zone");
	/* A record before the SOA is checked once the SOA gives the apex. */
	expect_error("$ORIGIN example.com.\nstray.example.net. A 192.0.2.1\n"
	             "@ SOA ns1 hm 1 1 1 1 1\n",
	             NULL, "test.zone:2: record owner stray.example.net. is outside");
	/* With an origin given, the SOA must sit there. */
	expect_error(HEAD, "example.org.",
	             "SOA owner example.com. is not the zone apex example.org.");
	expect_error("@ SOA ns1 hm 1 1 1 1 1\nwww.example.net. A 192.0.2.1\n", "example.org.",
	             "test.zone:2: record owner www.example.net. is outside the zone example.org.");
	/* Malformed rdata in generic form is caught, never trusted. */
	expect_error(HEAD "x A \\# 3 010203\n", NULL, "test.zone:4: malformed A record data");
	expect_error(HEAD "x MX \\# 3 000a09\n", NULL, "malformed MX record data");
	expect_error(HEAD "x MX \\# 4 000ac000\n", NULL, "malformed MX record data");
	expect_error("$ORIGIN example.com.\n@ SOA \\# 2 0000\n", NULL,
	             "test.zone:2: malformed SOA");
	expect_error(HEAD "x TXT \"unterminated\n", NULL, "test.zone:");

	zone_t z;
	zone_error_t err;
	assert_int_equal(zone_load_file(&z, "/nonexistent/zone", NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "/nonexistent/zone: cannot open: No such file or directory");
}

static void test_origin_given(void **state)
{
	(void)state;
	zone_t z;
	knot_dname_storage_t o;
	zone_error_t err;
	const char *text = "@ SOA ns1 hm 5 1 1 1 1\nwww A 192.0.2.1\n";
	assert_true(dns_name_from_str("Example.NET", o) > 0);
	assert_int_equal(zone_load_string(&z, "t", text, strlen(text), o, &err), 0);
	zone_rrset_t s;
	assert_true(find_str(&z, "www.example.net.", KNOT_RRTYPE_A, &s));
	zone_free(&z);
}

static void test_add_keyed_and_empty(void **state)
{
	(void)state;
	zone_t z;
	zone_init(&z);
	assert_int_equal(zone_finish(&z), 0);
	assert_int_equal(z.rrsets, 0);
	uint32_t serial;
	assert_int_equal(zone_serial(&z, &serial), -ENOENT);

	knot_dname_storage_t owner;
	dns_name_from_str("b.example.", owner);
	uint8_t key[DNS_KEY_MAX];
	size_t kl = dns_name_key(owner, key);
	_Alignas(8) uint8_t buf[8];
	knot_rdata_t *rd = (knot_rdata_t *)buf;
	const uint8_t ip[4] = { 192, 0, 2, 1 };
	knot_rdata_init(rd, 4, ip);
	assert_int_equal(zone_add_keyed(&z, key, kl, KNOT_RRTYPE_A, 60, rd), 0);
	dns_name_from_str("a.example.", owner);
	assert_int_equal(zone_add(&z, owner, KNOT_RRTYPE_A, 60, ip, 4), 0);
	assert_int_equal(zone_add(&z, owner, KNOT_RRTYPE_A, 60, ip, 3), -EINVAL);
	assert_int_equal(zone_finish(&z), 0);
	assert_int_equal(z.rrsets, 2);
	char name[DNS_NAME_STR_MAX];
	assert_string_equal(dns_key_to_str(z.rr[0].key, z.rr[0].keylen, name, sizeof(name)),
	                    "a.example.");
	char txt[200];
	assert_string_equal(zone_rr_str(&z.rr[1], txt, sizeof(txt)),
	                    "b.example. 60 IN A 192.0.2.1");
	zone_free(&z);
}

static void test_many_records_sorted(void **state)
{
	(void)state;
	/* Enough records, in reverse order, to take the radix sort path and
	 * the runs of equal prefixes (long names sharing 8 bytes). */
	size_t n = 5000;
	size_t cap = 64 * n + 200;
	char *text = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "%s", HEAD);
	for (size_t i = n; i-- > 0;) {
		len += (size_t)snprintf(text + len, cap - len,
		                        "longprefix-%zu A 192.0.2.%zu\nh%zu TXT \"%zu\"\n", i,
		                        i % 250, i, i);
	}
	zone_t z;
	load_ok(&z, text);
	assert_int_equal(z.rrsets, 2 * n + 1);
	for (size_t i = 1; i < z.count; i++) {
		assert_true(zone_rr_cmp(&z.rr[i - 1], &z.rr[i]) < 0);
	}
	zone_free(&z);
	free(text);
}

/*
 * The shape of an AXFR from a server that keeps canonical order: the apex
 * SOA first, then everything in order, here with a few records out of
 * place and duplicates besides (set aside and merged back in, not sorted).
 * The result is the zone the same records give in any order.
 */
static void test_nearly_sorted(void **state)
{
	(void)state;
	size_t n = 4000, cap = 64 * n;
	char *text = malloc(cap), *shuffled = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "%s", HEAD), slen = len;
	memcpy(shuffled, text, len + 1);
	len += (size_t)snprintf(text + len, cap - len, "@ NS ns1\n");
	slen += (size_t)snprintf(shuffled + slen, cap - slen, "@ NS ns1\n");
	for (size_t k = 0; k < n; k++) {
		size_t i = (k * 7919) % n;
		len += (size_t)snprintf(text + len, cap - len, "a%05zu A 192.0.2.%zu\n", k,
		                        k % 250);
		slen += (size_t)snprintf(shuffled + slen, cap - slen, "a%05zu A 192.0.2.%zu\n", i,
		                         i % 250);
		if (k % 500 == 499) {
			/* Out of place: an earlier owner, and a duplicate in
			 * another case, both in the shuffled text too. */
			const char *add[2] = { "a%05zu TXT \"late\"\n", "A%05zu A 192.0.2.%zu\n" };
			size_t a = k - 400, b = (k * 13) % (k - 300);
			len += (size_t)snprintf(text + len, cap - len, add[0], a);
			len += (size_t)snprintf(text + len, cap - len, add[1], b, b % 250);
			slen += (size_t)snprintf(shuffled + slen, cap - slen, add[0], a);
			slen += (size_t)snprintf(shuffled + slen, cap - slen, add[1], b, b % 250);
		}
	}
	zone_t z, want;
	load_ok(&z, text);
	load_ok(&want, shuffled);
	assert_int_equal(z.count, n + 2 + n / 500);
	assert_int_equal(z.stats.duplicates, n / 500);
	assert_int_equal(z.rrsets, want.rrsets);
	for (size_t i = 1; i < z.count; i++) {
		assert_true(zone_rr_cmp(&z.rr[i - 1], &z.rr[i]) < 0);
	}
	zone_diff_t d;
	assert_int_equal(zone_diff(&z, &want, &d), 0);
	assert_int_equal(d.count, 0);
	zone_diff_free(&d);
	zone_free(&z);
	zone_free(&want);
	free(text);
	free(shuffled);
}

static void test_sort_paths(void **state)
{
	(void)state;
	/* Owners with several types and records, shuffled, in numbers that
	 * take every path of the sort: big radix runs, runs of one owner,
	 * small runs, names longer than 8 and 16 key bytes past the apex. */
	size_t n = 3000, cap = 200 * n;
	char *text = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "%s", HEAD);
	for (size_t k = 0; k < n; k++) {
		size_t i = (k * 7919) % n; /* a permutation of 0..n-1 */
		len += (size_t)snprintf(text + len, cap - len,
		                        "o%zu.deeper.names.here TXT \"%zu\"\n"
		                        "o%zu.deeper.names.here A 192.0.2.%zu\n"
		                        "o%zu A 192.0.2.1\no%zu A 192.0.2.2\n"
		                        "o%zu AAAA 2001:db8::%zx\nO%zu A 192.0.2.1\n",
		                        i, i, i, i % 250, i, i, i, i, i);
	}
	zone_t z;
	load_ok(&z, text);
	/* Per i: deeper TXT, deeper A, o A (2 records, 1 duplicate), o AAAA. */
	assert_int_equal(z.rrsets, 4 * n + 1);
	assert_int_equal(z.count, 5 * n + 1);
	assert_int_equal(z.stats.duplicates, n);
	for (size_t i = 1; i < z.count; i++) {
		assert_true(zone_rr_cmp(&z.rr[i - 1], &z.rr[i]) < 0);
	}
	/* Iterating RRsets finds each set whole. */
	size_t pos = 0, sets = 0, recs = 0;
	zone_rrset_t s;
	while (zone_rrset_next(&z, &pos, &s)) {
		sets++;
		recs += s.count;
		if (s.type == KNOT_RRTYPE_A && s.keylen < 20) {
			assert_int_equal(s.count, 2);
		}
	}
	assert_int_equal(sets, z.rrsets);
	assert_int_equal(recs, z.count);
	/* And a reload of its text is the same zone. */
	char *t = zone_text(&z);
	zone_t b;
	load_ok(&b, t);
	zone_diff_t d;
	assert_int_equal(zone_diff(&z, &b, &d), 0);
	assert_int_equal(d.count, 0);
	zone_diff_free(&d);
	zone_free(&b);
	free(t);
	zone_free(&z);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_basic),
		cmocka_unit_test(test_canonical_form),
		cmocka_unit_test(test_duplicates_and_ttl),
		cmocka_unit_test(test_generic_syntax),
		cmocka_unit_test(test_round_trip_all_types),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_origin_given),
		cmocka_unit_test(test_add_keyed_and_empty),
		cmocka_unit_test(test_many_records_sorted),
		cmocka_unit_test(test_sort_paths),
		cmocka_unit_test(test_nearly_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
