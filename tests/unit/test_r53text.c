#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

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
	assert_string_equal(v, "\"v=spf1\\040\" \"a\\\"\\\\\\351\"");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_txt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
