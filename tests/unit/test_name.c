#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"

/* Wire form of a presentation name, kept case as written. */
static size_t wire(const char *s, knot_dname_storage_t out)
{
	assert_non_null(knot_dname_from_str(out, s, KNOT_DNAME_MAXLEN));
	return knot_dname_size(out);
}

static int cmp_str(const char *a, const char *b)
{
	knot_dname_storage_t x, y;
	wire(a, x);
	wire(b, y);
	return dns_name_cmp(x, y);
}

static int key_cmp_str(const char *a, const char *b)
{
	knot_dname_storage_t x, y;
	uint8_t ka[DNS_KEY_MAX], kb[DNS_KEY_MAX];
	wire(a, x);
	wire(b, y);
	size_t la = dns_name_key(x, ka), lb = dns_name_key(y, kb);
	return dns_key_cmp(ka, la, kb, lb);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* RFC 4034 section 6.1's example, in canonical order. */
static const char *const RFC4034_ORDER[] = {
	"example.",         "a.example.",      "yljkjljk.a.example.",
	"Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
	"\\001.z.example.", "*.z.example.",    "\\200.z.example.",
};

static void test_canonical_order(void **state)
{
	(void)state;
	size_t n = sizeof(RFC4034_ORDER) / sizeof(RFC4034_ORDER[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = (i > j) - (i < j);
			assert_int_equal(sign(cmp_str(RFC4034_ORDER[i], RFC4034_ORDER[j])), want);
			assert_int_equal(sign(key_cmp_str(RFC4034_ORDER[i], RFC4034_ORDER[j])),
			                 want);
		}
	}
}

static void test_case_insensitive(void **state)
{
	(void)state;
	knot_dname_storage_t a, b, c;
	wire("WWW.Example.COM.", a);
	wire("www.example.com.", b);
	wire("www.example.org.", c);
	assert_true(dns_name_equal(a, b));
	assert_false(dns_name_equal(a, c));
	assert_int_equal(dns_name_cmp(a, b), 0);
	assert_int_equal(key_cmp_str("WWW.Example.COM.", "www.example.com."), 0);
	/* Only ASCII letters fold: 0xC1 and 0xE1 stay different. */
	assert_int_not_equal(cmp_str("\\193.example.", "\\225.example."), 0);
	assert_false(dns_name_equal(a, (const uint8_t *)"\3www\7example\0"));
}

static void test_binary_labels(void **state)
{
	(void)state;
	/* Labels holding 0x00 and 0x01 bytes must still order correctly:
	 * "a" < "a\000" < "a\000\000" < "a\001" < "a\002" < "ab". */
	const char *order[] = { "a.x.",      "a\\000.x.", "a\\000\\000.x.", "a\\001.x.",
		                "a\\002.x.", "ab.x.",     "a.a\\000.x." };
	/* The last one is under a\000, which sorts after "a" and its children. */
	const char *names[] = { "a.x.",      "b.a.x.",    "a\\000.x.", "a\\000\\000.x.",
		                "a\\001.x.", "a\\002.x.", "ab.x." };
	(void)order;
	size_t n = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = (i > j) - (i < j);
			assert_int_equal(sign(cmp_str(names[i], names[j])), want);
			assert_int_equal(sign(key_cmp_str(names[i], names[j])), want);
		}
	}
}

static void test_key_round_trip(void **state)
{
	(void)state;
	const char *names[] = { ".",
		                "com.",
		                "WWW.Example.com.",
		                "a\\000b\\001c.\\255.x.",
		                "*.example.",
		                "_sip._tcp.example.com." };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		knot_dname_storage_t w, back;
		wire(names[i], w);
		knot_dname_to_lower(w);
		uint8_t key[DNS_KEY_MAX];
		size_t kl = dns_name_key(w, key);
		int len = dns_name_from_key(key, kl, back);
		assert_int_equal(len, (int)knot_dname_size(w));
		assert_memory_equal(back, w, (size_t)len);
	}
	/* A 255-byte name of 1-byte labels of 0x00: the longest key. */
	knot_dname_storage_t big, back;
	size_t o = 0;
	while (o + 2 < KNOT_DNAME_MAXLEN) {
		big[o++] = 1;
		big[o++] = 0;
	}
	big[o++] = 0;
	uint8_t key[DNS_KEY_MAX];
	size_t kl = dns_name_key(big, key);
	assert_true(kl <= DNS_KEY_MAX);
	assert_int_equal(dns_name_from_key(key, kl, back), (int)o);
	assert_memory_equal(back, big, o);
}

static void test_key_malformed(void **state)
{
	(void)state;
	knot_dname_storage_t out;
	/* Unterminated label, bad escape, empty label, label too long. */
	assert_int_equal(dns_name_from_key((const uint8_t *)"com", 3, out), -EINVAL);
	assert_int_equal(dns_name_from_key((const uint8_t *)"c\001\005\000", 4, out), -EINVAL);
	assert_int_equal(dns_name_from_key((const uint8_t *)"\000", 1, out), -EINVAL);
	assert_int_equal(dns_name_from_key((const uint8_t *)"c\001", 2, out), -EINVAL);
	uint8_t longlab[70];
	memset(longlab, 'a', 64);
	longlab[64] = 0;
	assert_int_equal(dns_name_from_key(longlab, 65, out), -EINVAL);
	/* Too many bytes for one name. */
	uint8_t longname[300];
	for (size_t i = 0; i < 300; i += 2) {
		longname[i] = 'a';
		longname[i + 1] = 0;
	}
	assert_int_equal(dns_name_from_key(longname, 300, out), -EINVAL);
	/* The empty key is the root. */
	assert_int_equal(dns_name_from_key(longname, 0, out), 1);
	assert_int_equal(out[0], 0);
}

static void test_in_zone(void **state)
{
	(void)state;
	knot_dname_storage_t apex, a, b, c, d;
	wire("example.com.", apex);
	wire("WWW.EXAMPLE.com.", a);
	wire("example.COM.", b);
	wire("example.org.", c);
	wire("notexample.com.", d);
	assert_true(dns_name_in_zone(a, apex));
	assert_true(dns_name_in_zone(b, apex));
	assert_false(dns_name_in_zone(c, apex));
	assert_false(dns_name_in_zone(d, apex));
	assert_false(dns_name_in_zone((const uint8_t *)"\3com", apex));
}

static void test_presentation(void **state)
{
	(void)state;
	knot_dname_storage_t w;
	char buf[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_from_str("WWW.Example.com", w), 17);
	assert_string_equal(dns_name_to_str(w, buf, sizeof(buf)), "www.example.com.");
	assert_int_equal(dns_name_from_str("a\\.b.example.", w), 13);
	assert_string_equal(dns_name_to_str(w, buf, sizeof(buf)), "a\\.b.example.");
	assert_int_equal(dns_name_from_str("sp\\032ace\\000.example.", w), 17);
	assert_string_equal(dns_name_to_str(w, buf, sizeof(buf)), "sp\\032ace\\000.example.");
	uint8_t key[DNS_KEY_MAX];
	size_t kl = dns_name_key(w, key);
	assert_string_equal(dns_key_to_str(key, kl, buf, sizeof(buf)), "sp\\032ace\\000.example.");
	assert_null(dns_key_to_str((const uint8_t *)"x", 1, buf, sizeof(buf)));
	assert_int_equal(dns_name_from_str("", w), -EINVAL);
	assert_int_equal(dns_name_from_str(NULL, w), -EINVAL);
	assert_int_equal(dns_name_from_str("a..b", w), -EINVAL);
	char toolong[300];
	memset(toolong, 'a', 70);
	strcpy(toolong + 70, ".com.");
	assert_int_equal(dns_name_from_str(toolong, w), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_order), cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_binary_labels),   cmocka_unit_test(test_key_round_trip),
		cmocka_unit_test(test_key_malformed),   cmocka_unit_test(test_in_zone),
		cmocka_unit_test(test_presentation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
