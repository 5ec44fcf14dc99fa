/* SigV4 against AWS's published test-suite vectors (aws-sig-v4-test-suite). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "net/sigv4.h"

static const sigv4_creds_t SUITE = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	                             NULL };
#define CRED "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

static sigv4_request_t suite_req(const char *method, const char *path, const sigv4_pair_t *q,
                                 size_t nq)
{
	sigv4_request_t r = { .method = method,
		              .host = "example.amazonaws.com",
		              .path = path,
		              .query = q,
		              .nquery = nq,
		              .region = "us-east-1",
		              .service = "service",
		              .amz_date = "20150830T123600Z" };
	return r;
}

static void check(const sigv4_request_t *r, const char *want)
{
	char *auth = sigv4_authorization(r, &SUITE);
	assert_non_null(auth);
	assert_string_equal(auth, want);
	free(auth);
}

static void test_get_vanilla(void **state)
{
	(void)state;
	sigv4_request_t r = suite_req("GET", "/", NULL, 0);
	char *cr = sigv4_canonical_request(&r, &SUITE);
	assert_string_equal(cr,
	                    "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	                    "host;x-amz-date\n"
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(cr);
	check(&r,
	      CRED "SignedHeaders=host;x-amz-date, "
	           "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_query_order(void **state)
{
	(void)state;
	/* get-vanilla-query-order-key-case: parameters sorted by name. */
	sigv4_pair_t q[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	sigv4_request_t r = suite_req("GET", "/", q, 2);
	char *cr = sigv4_canonical_request(&r, &SUITE);
	char hash[SIGV4_HEX_LEN + 1];
	sigv4_sha256_hex(cr, strlen(cr), hash);
	assert_string_equal(hash,
	                    "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
	free(cr);
	check(&r,
	      CRED "SignedHeaders=host;x-amz-date, "
	           "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	/* get-vanilla-query-order-value: same name, sorted by value. */
	sigv4_pair_t v[] = { { "Param1", "value2" }, { "Param1", "value1" } };
	r = suite_req("GET", "/", v, 2);
	check(&r,
	      CRED "SignedHeaders=host;x-amz-date, "
	           "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

static void test_unreserved(void **state)
{
	(void)state;
	sigv4_request_t r = suite_req(
	        "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL,
	        0);
	check(&r,
	      CRED "SignedHeaders=host;x-amz-date, "
	           "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

static void test_post_form(void **state)
{
	(void)state;
	/* post-x-www-form-urlencoded: a signed content-type and a body. */
	sigv4_pair_t h[] = { { "Content-Type", "application/x-www-form-urlencoded" } };
	sigv4_request_t r = suite_req("POST", "/", NULL, 0);
	r.headers = h;
	r.nheaders = 1;
	r.body = "Param1=value1";
	r.body_len = 13;
	char *cr = sigv4_canonical_request(&r, &SUITE);
	assert_string_equal(cr, "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
	                        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	                        "content-type;host;x-amz-date\n"
	                        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
	char hash[SIGV4_HEX_LEN + 1];
	sigv4_sha256_hex(cr, strlen(cr), hash);
	assert_string_equal(hash,
	                    "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
	free(cr);
	check(&r,
	      CRED "SignedHeaders=content-type;host;x-amz-date, "
	           "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

static void test_encoding_and_trim(void **state)
{
	(void)state;
	/* Route 53 names in a query: '\\' and '*' are encoded, '/' too outside paths. */
	char *e = sigv4_encode("\\052.example.com.", 0);
	assert_string_equal(e, "%5C052.example.com.");
	free(e);
	e = sigv4_encode("a b/c~", 0);
	assert_string_equal(e, "a%20b%2Fc~");
	free(e);
	e = sigv4_encode("/2013-04-01/hostedzone/Z1", 1);
	assert_string_equal(e, "/2013-04-01/hostedzone/Z1");
	free(e);
	/* Header values: trimmed, inner spaces collapsed; names lowercased. */
	sigv4_pair_t h[] = { { "My-Header1", "  a   b  c " } };
	sigv4_request_t r = suite_req("GET", "/", NULL, 0);
	r.headers = h;
	r.nheaders = 1;
	char *cr = sigv4_canonical_request(&r, &SUITE);
	assert_non_null(strstr(cr, "\nmy-header1:a b c\n"));
	free(cr);
	/* A session token is signed as x-amz-security-token. */
	sigv4_creds_t tok = SUITE;
	tok.session_token = "TOKEN";
	cr = sigv4_canonical_request(&r, &tok);
	assert_non_null(strstr(cr, "x-amz-date:20150830T123600Z\nx-amz-security-token:TOKEN\n"));
	free(cr);
	/* A malformed date is refused. */
	r.amz_date = "2015-08-30";
	assert_null(sigv4_authorization(&r, &SUITE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_vanilla),       cmocka_unit_test(test_query_order),
		cmocka_unit_test(test_unreserved),        cmocka_unit_test(test_post_form),
		cmocka_unit_test(test_encoding_and_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
