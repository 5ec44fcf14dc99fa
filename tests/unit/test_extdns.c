/* zone/extdns: what external-dns's TXT registry marks as owned, and the
 * view of a provider's records that holds it (ignore-owned-by). */
#include "helpers.h"

#include <libknot/descriptor.h>

#include "zone/extdns.h"
#include "zone/view.h"

#define SOA "@ 3600 SOA ns.example.com. h.example.com. 1 7200 900 1209600 300\n"
#define MARK "\"heritage=external-dns,external-dns/owner=k8s,external-dns/resource=ingress/a/b\""

/* Is the RRset (name, type) of z held by x?  The RRset must exist. */
static bool held(const zone_t *z, const zone_extdns_t *x, const char *name, uint16_t type)
{
	knot_dname_storage_t n;
	zone_rrset_t set;
	assert_true(dns_name_from_str(name, n) > 0);
	if (!zone_find(z, n, type, &set)) {
		fail_msg("no RRset %s %u in the zone", name, type);
	}
	const zone_rule_t *r = zone_extdns_hold((void *)x, &set);
	assert_true(r == NULL || r == &zone_extdns_rule);
	return r != NULL;
}

static zone_extdns_t *index_of(const zone_t *z)
{
	zone_extdns_t *x = NULL;
	assert_int_equal(zone_extdns_index(z, &x), 0);
	assert_non_null(x);
	return x;
}

/* TXT rdata from its strings (NULL-terminated), into buf; its length. */
static size_t txt(uint8_t *buf, const char *s, ...)
{
	va_list ap;
	size_t len = 0;
	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		buf[len++] = (uint8_t)strlen(s);
		memcpy(buf + len, s, strlen(s));
		len += strlen(s);
	}
	va_end(ap);
	return len;
}

/* The marker's text as external-dns reads it (endpoint/labels.go). */
static void test_marker_text(void **state)
{
	(void)state;
	uint8_t rd[2048];
	char owner[64];
	size_t n;

	n = txt(rd, "heritage=external-dns,external-dns/owner=k8s,external-dns/resource=svc/a/b",
	        NULL);
	assert_true(zone_extdns_marker(rd, n, owner, sizeof(owner)));
	assert_string_equal(owner, "k8s");
	/* Quotes at the ends are dropped (as a provider's text has them). */
	n = txt(rd, "\"heritage=external-dns,external-dns/owner=quoted\"", NULL);
	assert_true(zone_extdns_marker(rd, n, owner, sizeof(owner)));
	assert_string_equal(owner, "quoted");
	/* Several strings are one text: a token may span two. */
	n = txt(rd, "heritage=exter", "nal-dns,external-dns/own", "er=split", NULL);
	assert_true(zone_extdns_marker(rd, n, owner, sizeof(owner)));
	assert_string_equal(owner, "split");
	/* Order does not matter; no owner is still a marker. */
	n = txt(rd, "external-dns/resource=x,heritage=external-dns", NULL);
	assert_true(zone_extdns_marker(rd, n, owner, sizeof(owner)));
	assert_string_equal(owner, "");
	/* The owner is cut to fit. */
	n = txt(rd, "heritage=external-dns,external-dns/owner=0123456789", NULL);
	assert_true(zone_extdns_marker(rd, n, owner, 5));
	assert_string_equal(owner, "0123");
	assert_true(zone_extdns_marker(rd, n, NULL, 0));

	/* Another heritage, anywhere, is no marker; nor is none. */
	n = txt(rd, "heritage=cert-manager,external-dns/owner=k8s", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "heritage=external-dns,heritage=other", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "external-dns/owner=k8s", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	/* Exactly so: case, spaces, a token with two '=' are not it. */
	n = txt(rd, "heritage=External-DNS", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "heritage = external-dns", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "heritage=external-dns=1", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "v=spf1 -all", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	/* Hostile or empty rdata. */
	assert_false(zone_extdns_marker(rd, 0, NULL, 0));
	n = txt(rd, "", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "\"\"\"", ",,,", "===", NULL);
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "heritage=external-dns", NULL);
	rd[0] = 40; /* a string longer than the rdata */
	assert_false(zone_extdns_marker(rd, n, NULL, 0));
	n = txt(rd, "heritage=external-dns", NULL);
	assert_true(zone_extdns_marker(rd, n, NULL, 0));
	assert_false(zone_extdns_marker(rd, n - 1, NULL, 0)); /* cut short */
	/* A long text of many strings. */
	n = 0;
	for (int i = 0; i < 7; i++) {
		n += txt(rd + n,
		         "x=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy,",
		         NULL);
	}
	n += txt(rd + n, "heritage=external-dns", NULL);
	assert_true(zone_extdns_marker(rd, n, NULL, 0));
}

/* The new format: TYPE-NAME owns that one type at NAME. */
static void test_new_format(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, "$ORIGIN example.com.\n" SOA "@ NS ns\n"
	            "a-www TXT " MARK "\n"
	            "www A 192.0.2.1\n"
	            "aaaa-www TXT " MARK "\n"
	            "www AAAA 2001:db8::1\n"
	            "www MX 10 mx\n" /* no marker for it */
	            "cname-app TXT " MARK "\n"
	            "app CNAME lb.example.net.\n"
	            "cname-*.wild TXT " MARK "\n"
	            "*.wild CNAME lb.example.net.\n"
	            "txt-note TXT " MARK "\n"
	            "note TXT \"hello\"\n"
	            "mx-mail TXT " MARK "\n"
	            "mail MX 10 mx\n"
	            "mail A 192.0.2.9\n"
	            "other A 192.0.2.2\n");
	zone_extdns_t *x = index_of(&z);
	assert_int_equal(zone_extdns_markers(x), 6);
	assert_int_equal(zone_extdns_claims(x), 12); /* each marker's TXT and its claim */
	assert_true(held(&z, x, "www.example.com", KNOT_RRTYPE_A));
	assert_true(held(&z, x, "www.example.com", KNOT_RRTYPE_AAAA));
	assert_false(held(&z, x, "www.example.com", KNOT_RRTYPE_MX));
	assert_true(held(&z, x, "app.example.com", KNOT_RRTYPE_CNAME));
	assert_true(held(&z, x, "*.wild.example.com", KNOT_RRTYPE_CNAME));
	assert_true(held(&z, x, "note.example.com", KNOT_RRTYPE_TXT));
	assert_true(held(&z, x, "mail.example.com", KNOT_RRTYPE_MX));
	assert_false(held(&z, x, "mail.example.com", KNOT_RRTYPE_A));
	assert_false(held(&z, x, "other.example.com", KNOT_RRTYPE_A));
	/* The markers themselves. */
	assert_true(held(&z, x, "a-www.example.com", KNOT_RRTYPE_TXT));
	assert_true(held(&z, x, "cname-*.wild.example.com", KNOT_RRTYPE_TXT));
	/* A new-format name owns nothing at its own name but the marker:
	 * a-www is no old-format marker of a-www. */
	assert_false(held(&z, x, "example.com", KNOT_RRTYPE_SOA));
	assert_false(held(&z, x, "example.com", KNOT_RRTYPE_NS));
	zone_extdns_free(x);
	zone_free(&z);
}

/* The old format: the marker at the records' own name owns its types
 * but AAAA; never the SOA, nor NS at the apex. */
static void test_old_format(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, "$ORIGIN example.com.\n" SOA "@ NS ns\n"
	            "@ TXT " MARK "\n"
	            "@ A 192.0.2.10\n"
	            "@ MX 10 mx\n"
	            "legacy TXT " MARK "\n"
	            "legacy A 192.0.2.1\n"
	            "legacy AAAA 2001:db8::1\n"
	            "legacy SRV 0 0 443 t\n"
	            "legacy HINFO a b\n"
	            "sub TXT " MARK "\n"
	            "sub NS ns.example.net.\n"
	            "a-.x TXT " MARK "\n" /* "a-" alone: claims nothing */
	            "x A 192.0.2.3\n");
	zone_extdns_t *x = index_of(&z);
	assert_int_equal(zone_extdns_markers(x), 4);
	assert_true(held(&z, x, "legacy.example.com", KNOT_RRTYPE_TXT));
	assert_true(held(&z, x, "legacy.example.com", KNOT_RRTYPE_A));
	assert_false(held(&z, x, "legacy.example.com", KNOT_RRTYPE_AAAA));
	assert_true(held(&z, x, "legacy.example.com", KNOT_RRTYPE_SRV));
	assert_false(held(&z, x, "legacy.example.com", KNOT_RRTYPE_HINFO));
	assert_true(held(&z, x, "sub.example.com", KNOT_RRTYPE_NS)); /* a delegation */
	assert_true(held(&z, x, "example.com", KNOT_RRTYPE_TXT));
	assert_true(held(&z, x, "example.com", KNOT_RRTYPE_A));
	assert_true(held(&z, x, "example.com", KNOT_RRTYPE_MX));
	assert_false(held(&z, x, "example.com", KNOT_RRTYPE_SOA));
	assert_false(held(&z, x, "example.com", KNOT_RRTYPE_NS));
	assert_true(held(&z, x, "a-.x.example.com", KNOT_RRTYPE_TXT));
	assert_false(held(&z, x, "x.example.com", KNOT_RRTYPE_A));
	zone_extdns_free(x);
	zone_free(&z);
}

/* A TXT of another heritage, or none, owns nothing; a TXT set with a
 * marker among other texts is held whole. */
static void test_not_markers(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, "$ORIGIN example.com.\n" SOA
	            "a-www TXT \"heritage=cert-manager,external-dns/owner=k8s\"\n"
	            "www A 192.0.2.1\n"
	            "a-api TXT \"v=spf1 -all\"\n"
	            "api A 192.0.2.2\n"
	            "a-mixed TXT \"v=spf1 -all\"\n"
	            "a-mixed TXT " MARK "\n"
	            "mixed A 192.0.2.3\n"
	            "a-gone A 192.0.2.4\n" /* an A at a marker-like name */
	            "gone A 192.0.2.5\n");
	zone_extdns_t *x = index_of(&z);
	assert_int_equal(zone_extdns_markers(x), 1);
	assert_false(held(&z, x, "a-www.example.com", KNOT_RRTYPE_TXT));
	assert_false(held(&z, x, "www.example.com", KNOT_RRTYPE_A));
	assert_false(held(&z, x, "a-api.example.com", KNOT_RRTYPE_TXT));
	assert_false(held(&z, x, "api.example.com", KNOT_RRTYPE_A));
	assert_true(held(&z, x, "a-mixed.example.com", KNOT_RRTYPE_TXT));
	assert_true(held(&z, x, "mixed.example.com", KNOT_RRTYPE_A));
	assert_false(held(&z, x, "a-gone.example.com", KNOT_RRTYPE_A));
	assert_false(held(&z, x, "gone.example.com", KNOT_RRTYPE_A));
	zone_extdns_free(x);
	zone_free(&z);

	/* A zone without markers: an empty index that holds nothing. */
	load_ok(&z, "$ORIGIN example.com.\n" SOA "www A 192.0.2.1\n");
	x = index_of(&z);
	assert_int_equal(zone_extdns_markers(x), 0);
	assert_int_equal(zone_extdns_claims(x), 0);
	assert_false(held(&z, x, "www.example.com", KNOT_RRTYPE_A));
	zone_extdns_free(x);
	zone_free(&z);
	assert_null(zone_extdns_hold(NULL, NULL)); /* no index */
	zone_extdns_free(NULL);
}

/* What a marker claims is owned with its records missing: the primary's
 * RRset there is held (a conflict), from another zone. */
static void test_missing_owned(void **state)
{
	(void)state;
	zone_t live, primary;
	load_ok(&live, "$ORIGIN example.com.\n" SOA "a-gone TXT " MARK "\n"
	               "legacy TXT " MARK "\n");
	load_ok(&primary, "$ORIGIN example.com.\n" SOA "gone A 192.0.2.1\n"
	                  "gone AAAA 2001:db8::1\n"
	                  "legacy CNAME x.example.net.\n"
	                  "a-gone TXT \"the primary's own text\"\n"
	                  "free A 192.0.2.2\n");
	zone_extdns_t *x = index_of(&live);
	assert_true(held(&primary, x, "gone.example.com", KNOT_RRTYPE_A));
	assert_false(held(&primary, x, "gone.example.com", KNOT_RRTYPE_AAAA));
	assert_true(held(&primary, x, "legacy.example.com", KNOT_RRTYPE_CNAME));
	assert_true(held(&primary, x, "a-gone.example.com", KNOT_RRTYPE_TXT));
	assert_false(held(&primary, x, "free.example.com", KNOT_RRTYPE_A));
	assert_false(held(&primary, x, "example.com", KNOT_RRTYPE_SOA));
	zone_extdns_free(x);
	zone_free(&live);
	zone_free(&primary);
}

/* Names in any case: keys are lowercased, so are the type prefixes. */
static void test_case(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, "$ORIGIN Example.COM.\n" SOA "A-WWW TXT " MARK "\n"
	            "WwW A 192.0.2.1\n"
	            "CName-App TXT " MARK "\n"
	            "app CNAME lb.example.net.\n"
	            "Legacy TXT " MARK "\n"
	            "LEGACY A 192.0.2.2\n");
	zone_extdns_t *x = index_of(&z);
	assert_true(held(&z, x, "www.example.com", KNOT_RRTYPE_A));
	assert_true(held(&z, x, "APP.example.COM", KNOT_RRTYPE_CNAME));
	assert_true(held(&z, x, "legacy.example.com", KNOT_RRTYPE_A));
	assert_true(held(&z, x, "a-www.example.com", KNOT_RRTYPE_TXT));
	zone_extdns_free(x);
	zone_free(&z);
}

/* In the view of a provider's records: the held sets are kept out,
 * counted under the rule and listed as held; the rest is the view. */
static void test_view(void **state)
{
	(void)state;
	zone_t z, v;
	load_ok(&z, "$ORIGIN example.com.\n" SOA "@ NS ns\n"
	            "a-www TXT " MARK "\n"
	            "www A 192.0.2.1\n"
	            "www A 192.0.2.2\n"
	            "cname-app TXT " MARK "\n"
	            "app CNAME lb.example.net.\n"
	            "ours A 192.0.2.3\n");
	zone_extdns_t *x = index_of(&z);
	zone_view_rules_t rules = {
		.apex_soa = true, .apex_ns = true, .hold = zone_extdns_hold, .hold_ctx = x
	};
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&z, &rules, &v, &sk), 0);
	char *text = zone_text(&v);
	assert_null(strstr(text, "www"));
	assert_null(strstr(text, "app"));
	assert_non_null(strstr(text, "ours.example.com."));
	assert_non_null(strstr(text, "SOA"));
	free(text);
	assert_int_equal(v.rrsets, 3); /* SOA, NS, ours */
	assert_int_equal(sk.nheld, 4);
	assert_int_equal(sk.nkept, 1);
	assert_ptr_equal(sk.kept[0].rule, &zone_extdns_rule);
	assert_true(sk.kept[0].ignore);
	assert_int_equal(sk.kept[0].rrsets, 4);
	assert_int_equal(sk.kept[0].records, 5);
	assert_int_equal(sk.rrsets, 0); /* not counted as skipped */
	zone_view_skipped_free(&sk);
	zone_view_free(&v);

	/* The primary's side never asks the hold. */
	rules.primary_side = true;
	assert_int_equal(zone_view(&z, &rules, &v, &sk), 0);
	assert_int_equal(v.rrsets, z.rrsets);
	assert_int_equal(sk.nheld, 0);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_extdns_free(x);
	zone_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marker_text),   cmocka_unit_test(test_new_format),
		cmocka_unit_test(test_old_format),    cmocka_unit_test(test_not_markers),
		cmocka_unit_test(test_missing_owned), cmocka_unit_test(test_case),
		cmocka_unit_test(test_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
