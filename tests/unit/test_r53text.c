#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrset.h>
#include <libzscanner/scanner.h>

#include "dns/rdata.h"
#include "target/route53/r53text.h"

static void name_round(const char *r53, const char *request_form, const char *wire, size_t wlen)
{
	knot_dname_storage_t w;
	int len = r53_name_to_wire(r53, w);
	assert_int_equal(len, (int)wlen);
	assert_memory_equal(w, wire, wlen);
	char text[1100];
	assert_true(r53_name_from_wire(w, text, sizeof(text)) > 0);
	assert_string_equal(text, request_form);
}

static void test_names(void **state)
{
	(void)state;
	name_round("www.example.com.", "www.example.com.", "\3www\7example\3com", 17);
	/* Responses escape '*' and keep case lowercase; requests send '*' bare. */
	name_round("\\052.example.com.", "*.example.com.", "\1*\7example\3com", 15);
	/* A dot inside a label, a space, an uppercase letter. */
	name_round("a\\056b.Example.com", "a\\056b.example.com.", "\3a.b\7example\3com", 17);
	name_round("sp\\040ace.x.", "sp\\040ace.x.", "\6sp ace\1x", 10);
	name_round("_dmarc.x.", "_dmarc.x.", "\6_dmarc\1x", 10);
	name_round(".", ".", "", 1);
	/* '*' that is not a whole leftmost label is escaped. */
	knot_dname_storage_t w;
	char text[64];
	assert_int_equal(r53_name_to_wire("a*.x.", w), 6);
	r53_name_from_wire(w, text, sizeof(text));
	assert_string_equal(text, "a\\052.x.");
	/* Errors. */
	assert_int_equal(r53_name_to_wire("a..b.", w), -EINVAL);
	assert_int_equal(r53_name_to_wire("a\\9", w), -EINVAL);
	assert_int_equal(r53_name_to_wire("a\\", w), -EINVAL);
	char lab[80];
	memset(lab, 'a', 64);
	strcpy(lab + 64, ".x.");
	assert_int_equal(r53_name_to_wire(lab, w), -EINVAL);
	assert_int_equal(r53_name_from_wire((const uint8_t *)"\3www\0", text, 4), -ENOSPC);
}

static void test_txt(void **state)
{
	(void)state;
	uint8_t rd[1024];
	char v[4096];
	/* Two strings, a quote, a backslash, a space, a byte above 0x7e. */
	const uint8_t in[] = { 7, 'v', '=', 's', 'p', 'f', '1', ' ', 4, 'a', '"', '\\', 0xe9 };
	int len = r53_txt_from_rdata(in, sizeof(in), v, sizeof(v));
	assert_true(len > 0);
	assert_string_equal(v, "\"v=spf1 \" \"a\\\"\\\\\\351\"");
	assert_int_equal(r53_txt_to_rdata(v, rd, sizeof(rd)), (int)sizeof(in));
	assert_memory_equal(rd, in, sizeof(in));
	/* Route 53 may return a space unescaped; bare words work too. */
	assert_int_equal(r53_txt_to_rdata("\"v=spf1 -all\"", rd, sizeof(rd)), 12);
	assert_memory_equal(rd, "\13v=spf1 -all", 12);
	assert_int_equal(r53_txt_to_rdata("abc \"d\"", rd, sizeof(rd)), 6);
	assert_memory_equal(rd, "\3abc\1d", 6);
	/* An empty string is a string. */
	assert_int_equal(r53_txt_to_rdata("\"\"", rd, sizeof(rd)), 1);
	assert_int_equal(rd[0], 0);
	/* Errors: unterminated, over 255 bytes in one string, empty value. */
	assert_int_equal(r53_txt_to_rdata("\"abc", rd, sizeof(rd)), -EINVAL);
	char big[300];
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_int_equal(r53_txt_to_rdata(big, rd, sizeof(rd)), -EINVAL);
	assert_int_equal(r53_txt_to_rdata("  ", rd, sizeof(rd)), -EINVAL);
	const uint8_t bad[] = { 5, 'a' };
	assert_int_equal(r53_txt_from_rdata(bad, sizeof(bad), v, sizeof(v)), -EINVAL);
	assert_int_equal(r53_txt_from_rdata(in, sizeof(in), v, 8), -ENOSPC);
}

/* TXT and SPF values as people write them: printable ASCII as it is inside
 * the quotes, only '"' and '\' escaped, every other byte \ooo (issue 14). */
struct txt_case {
	const char *wire;
	size_t wlen;
	const char *text;
};

static const struct txt_case TXT_CASES[] = {
	{ "\16v=spf1 mx -all", 15, "\"v=spf1 mx -all\"" },
	{ "\1 ", 2, "\" \"" },
	{ "\1\"", 2, "\"\\\"\"" },
	{ "\1\\", 2, "\"\\\\\"" },
	{ "\1\0", 2, "\"\\000\"" },
	{ "\1\t", 2, "\"\\011\"" },
	{ "\1\37", 2, "\"\\037\"" },
	{ "\1~", 2, "\"~\"" },
	{ "\1\177", 2, "\"\\177\"" },
	{ "\1\377", 2, "\"\\377\"" },
	{ "\0", 1, "\"\"" },
	{ "\3a b\0\3\"\\\0", 9, "\"a b\" \"\" \"\\\"\\\\\\000\"" },
	{ "\4say \2hi", 8, "\"say \" \"hi\"" },
};

static void test_txt_people(void **state)
{
	(void)state;
	char v[4096];
	uint8_t rd[1024];
	for (size_t i = 0; i < sizeof(TXT_CASES) / sizeof(TXT_CASES[0]); i++) {
		const struct txt_case *c = &TXT_CASES[i];
		int len = r53_txt_from_rdata((const uint8_t *)c->wire, c->wlen, v, sizeof(v));
		assert_int_equal(len, (int)strlen(c->text));
		assert_string_equal(v, c->text);
		/* And back: wire -> text -> wire. */
		assert_int_equal(r53_txt_to_rdata(v, rd, sizeof(rd)), (int)c->wlen);
		assert_memory_equal(rd, c->wire, c->wlen);
	}
}

static void test_txt_255(void **state)
{
	(void)state;
	/* One string of 255 bytes, 0x01 .. 0xff: 31 control bytes and 129
	 * bytes >= 0x7f as \ooo, 95 printable, '"' and '\' with a backslash. */
	uint8_t in[256], rd[512];
	char v[2048];
	in[0] = 255;
	for (int i = 1; i <= 255; i++) {
		in[i] = (uint8_t)i;
	}
	int len = r53_txt_from_rdata(in, sizeof(in), v, sizeof(v));
	assert_int_equal(len, 2 + 31 * 4 + 95 + 2 + 129 * 4);
	assert_true(strncmp(v, "\"\\001\\002", 9) == 0);
	assert_non_null(strstr(v, "\\037 !\\\"#$"));
	assert_non_null(strstr(v, "Z[\\\\]^_`a"));
	assert_non_null(strstr(v, "|}~\\177\\200"));
	assert_string_equal(v + len - 9, "\\376\\377\"");
	assert_int_equal(r53_txt_to_rdata(v, rd, sizeof(rd)), (int)sizeof(in));
	assert_memory_equal(rd, in, sizeof(in));
	/* 255 bytes of 0xff: the longest text of one string. */
	memset(in + 1, 0xff, 255);
	assert_int_equal(r53_txt_from_rdata(in, sizeof(in), v, sizeof(v)), 2 + 255 * 4);
	assert_int_equal(r53_txt_to_rdata(v, rd, sizeof(rd)), (int)sizeof(in));
	assert_memory_equal(rd, in, sizeof(in));
	/* Out of room exactly at the end: no partial value is reported. */
	assert_int_equal(r53_txt_from_rdata(in, sizeof(in), v, 2 + 255 * 4), -ENOSPC);
	assert_int_equal(r53_txt_from_rdata(in, sizeof(in), v, 2 + 255 * 4 + 1), 2 + 255 * 4);
}

/* The text zonesync wrote before issue 14: every byte outside 0x21..0x7e as
 * \ooo.  Zones pushed with it must read back to the same wire. */
static size_t old_form(const uint8_t *s, size_t n, char *out)
{
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			o += (size_t)sprintf(out + o, "\\%c", s[i]);
		} else if (s[i] <= 0x20 || s[i] >= 0x7f) {
			o += (size_t)sprintf(out + o, "\\%03o", s[i]);
		} else {
			out[o++] = (char)s[i];
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static void txt_same(const char *a, const char *b)
{
	uint8_t ra[1024], rb[1024];
	int la = r53_txt_to_rdata(a, ra, sizeof(ra));
	assert_true(la > 0);
	assert_int_equal(r53_txt_to_rdata(b, rb, sizeof(rb)), la);
	assert_memory_equal(ra, rb, (size_t)la);
}

static void test_txt_old_form(void **state)
{
	(void)state;
	/* \040 and ' ' are one byte; so are \042 and \", \134 and \\. */
	txt_same("\"v=spf1\\040mx\\040-all\"", "\"v=spf1 mx -all\"");
	txt_same("\"\\040\"", "\" \"");
	txt_same("\"\\042\\134\"", "\"\\\"\\\\\"");
	txt_same("\"a\\040b\" \"c d\"", "\"a b\" \"c\\040d\"");
	/* Every byte: the old text and the new one give the same wire. */
	for (int c = 0; c < 256; c++) {
		uint8_t in[2] = { 1, (uint8_t)c }, rd[8];
		char old[16], now[16];
		old_form(in + 1, 1, old);
		int n = r53_txt_from_rdata(in, sizeof(in), now, sizeof(now));
		assert_int_equal(n, (int)strlen(now));
		txt_same(old, now);
		assert_int_equal(r53_txt_to_rdata(old, rd, sizeof(rd)), 2);
		assert_memory_equal(rd, in, 2);
		/* Only the space changed its spelling. */
		if (c == ' ') {
			assert_string_equal(old, "\"\\040\"");
			assert_string_equal(now, "\" \"");
		} else {
			assert_string_equal(old, now);
		}
	}
}

/* Whole values of each type that holds character-strings: TXT and SPF (ours),
 * CAA and NAPTR (libknot's zone text, \DDD made \ooo).  The checked form
 * reads back to the same rdata, and the old spelling reads to it too. */
static void value_case(uint16_t type, const uint8_t *rdata, size_t len, const char *want,
                       const char *old)
{
	knot_dname_t owner[] = "\1x";
	knot_rrset_t rr;
	knot_rrset_init(&rr, owner, type, KNOT_CLASS_IN, 300);
	assert_int_equal(knot_rrset_add_rdata(&rr, rdata, (uint16_t)len, NULL), 0);
	zs_scanner_t *sc = dns_scanner_new();
	assert_non_null(sc);
	char *v = NULL;
	size_t vsize = 0;
	int n = r53_value_from_rr(&rr, 0, sc, &v, &vsize);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(v, want);
	uint8_t *rd = malloc(DNS_RDATA_MAX);
	assert_non_null(rd);
	assert_int_equal(r53_value_to_rdata(sc, type, old, rd, DNS_RDATA_MAX), (int)len);
	assert_memory_equal(rd, rdata, len);
	free(rd);
	free(v);
	dns_scanner_free(sc);
	knot_rdataset_clear(&rr.rrs, NULL);
}

static void test_values_people(void **state)
{
	(void)state;
	value_case(KNOT_RRTYPE_TXT, (const uint8_t *)"\16v=spf1 mx -all", 15, "\"v=spf1 mx -all\"",
	           "\"v=spf1\\040mx\\040-all\"");
	value_case(KNOT_RRTYPE_SPF, (const uint8_t *)"\16v=spf1 mx -all", 15, "\"v=spf1 mx -all\"",
	           "\"v=spf1\\040mx\\040-all\"");
	value_case(KNOT_RRTYPE_TXT, (const uint8_t *)"\10say \"hi\"\12back\\slash", 20,
	           "\"say \\\"hi\\\"\" \"back\\\\slash\"",
	           "\"say\\040\\\"hi\\\"\" \"back\\\\slash\"");
	/* 0 issue "a \"\\\377\177\000b" */
	const uint8_t *caa = (const uint8_t *)"\0\5issuea \"\\\377\177\0b";
	value_case(KNOT_RRTYPE_CAA, caa, 15, "0 issue \"a \\\"\\\\\\377\\177\\000b\"",
	           "0 issue \"a\\040\\\"\\\\\\377\\177\\000b\"");
	/* 1 2 "U" "a\"b" "!a \\!" . */
	const uint8_t *naptr = (const uint8_t *)"\0\1\0\2\1U\3a\"b\5!a \\!\0";
	value_case(KNOT_RRTYPE_NAPTR, naptr, 17, "1 2 \"U\" \"a\\\"b\" \"!a \\\\!\" .",
	           "1 2 \"U\" \"a\\\"b\" \"!a\\040\\\\!\" .");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),        cmocka_unit_test(test_txt),
		cmocka_unit_test(test_txt_people),   cmocka_unit_test(test_txt_255),
		cmocka_unit_test(test_txt_old_form), cmocka_unit_test(test_values_people),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
