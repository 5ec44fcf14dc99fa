/* zone/catalog.c: the members of an RFC 9432 catalog zone. */
#include "helpers.h"

#include "zone/catalog.h"

#define HEAD                                                                                       \
	"$ORIGIN catalog.example.\n$TTL 0\n"                                                       \
	"@ SOA invalid. invalid. 1 3600 600 86400 0\n"                                             \
	"@ NS invalid.\n"
#define V2 "version TXT \"2\"\n"

static char warned[4096];

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
	strcat(warned, "\n");
}

/* Parse text; the result and err. */
static int parse(const char *text, const catalog_t *prev, catalog_t *out, char *err, size_t len)
{
	zone_t z;
	load_ok(&z, text);
	warned[0] = '\0';
	err[0] = '\0';
	int ret = catalog_parse(&z, prev, out, on_warn, NULL, err, len);
	zone_free(&z);
	return ret;
}

static const char *name(const catalog_member_t *m)
{
	static char buf[DNS_NAME_STR_MAX];
	return dns_name_to_str(m->name, buf, sizeof(buf));
}

static void test_members(void **state)
{
	(void)state;
	catalog_t c;
	char err[512];
	assert_int_equal(parse(HEAD V2 "b.zones PTR Beta.example.\n"
	                               "a.zones PTR alpha.example.\n"
	                               "group.a.zones TXT \"internal\"\n"
	                               "coo.a.zones PTR other.catalog.\n"
	                               "future.b.zones TXT \"x\"\n"
	                               "unknown.example.zones PTR gamma.example.\n"
	                               "other PTR delta.example.\n",
	                       NULL, &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(name(&c.m[0]), "alpha.example.");
	assert_string_equal(c.m[0].group, "internal");
	assert_string_equal(name(&c.m[1]), "beta.example.");
	assert_null(c.m[1].group);
	knot_dname_storage_t n;
	dns_name_from_str("BETA.example.", n);
	assert_ptr_equal(catalog_find(&c, n), &c.m[1]);
	dns_name_from_str("gamma.example.", n);
	assert_null(catalog_find(&c, n));
	assert_string_equal(warned, "");
	catalog_free(&c);
}

static void test_version(void **state)
{
	(void)state;
	catalog_t c;
	char err[512];
	static const struct {
		const char *version, *msg;
	} cases[] = {
		{ "", "no version property" },
		{ "version TXT \"1\"\n", "version \"1\" is not supported" },
		{ "version TXT \"2\" \"2\"\n", "version \"2\" is not supported" },
		{ "version TXT \"2\"\nversion TXT \"1\"\n", "version has several records" },
		{ "version A 192.0.2.1\n", "no version property" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), HEAD "%sa.zones PTR a.example.\n", cases[i].version);
		assert_int_equal(parse(text, NULL, &c, err, sizeof(err)), -EINVAL);
		assert_int_equal(c.n, 0);
		if (strstr(err, cases[i].msg) == NULL || strstr(err, "catalog.example.") == NULL) {
			fail_msg("case %zu: %s", i, err);
		}
	}
}

static void test_invalid_members(void **state)
{
	(void)state;
	catalog_t c;
	char err[512];
	assert_int_equal(parse(HEAD V2 "a.zones PTR catalog.example.\n"
	                               "b.zones PTR x.catalog.example.\n"
	                               "c.zones PTR .\n"
	                               "d.zones PTR ok.example.\n",
	                       NULL, &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(name(&c.m[0]), "ok.example.");
	assert_non_null(strstr(warned, "member catalog.example. at a.zones.catalog.example. "
	                               "skipped: it is the catalog itself"));
	assert_non_null(strstr(warned, "x.catalog.example. at b.zones.catalog.example. "
	                               "skipped: it is a name inside the catalog"));
	assert_non_null(strstr(warned, "skipped: it is the root"));
	catalog_free(&c);
	/* Two PTR at one unique id: broken, refused. */
	assert_int_equal(parse(HEAD V2 "a.zones PTR one.example.\na.zones PTR two.example.\n", NULL,
	                       &c, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "a.zones.catalog.example. has 2 PTR records"));
}

static void test_duplicate(void **state)
{
	(void)state;
	catalog_t c, prev;
	char err[512];
	const char *text = HEAD V2 "b.zones PTR dup.example.\n"
	                           "group.b.zones TXT \"gb\"\n"
	                           "a.zones PTR dup.example.\n"
	                           "group.a.zones TXT \"ga\"\n";
	assert_int_equal(parse(text, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.m[0].group, "ga"); /* the first id in canonical order */
	assert_non_null(strstr(warned, "member dup.example. is listed under unique ids a and b"));
	catalog_free(&c);
	/* Held under b before: b stays (the new instance is ignored). */
	assert_int_equal(parse(HEAD V2 "b.zones PTR dup.example.\n", NULL, &prev, err, sizeof(err)),
	                 0);
	assert_int_equal(parse(text, &prev, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.m[0].group, "gb");
	assert_non_null(strstr(warned, "unique ids b and a: held under b"));
	catalog_free(&c);
	catalog_free(&prev);
}

static void test_groups(void **state)
{
	(void)state;
	catalog_t c, d;
	char err[512];
	assert_int_equal(parse(HEAD V2 "a.zones PTR a.example.\n"
	                               "group.a.zones TXT \"zz\"\n"
	                               "group.a.zones TXT \"aa\"\n"
	                               "b.zones PTR b.example.\n"
	                               "group.b.zones TXT \"one\" \"two\"\n"
	                               "group.c.zones TXT \"orphan\"\n",
	                       NULL, &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.m[0].group, "aa"); /* canonical order of the rdata */
	assert_string_equal(c.m[1].group, "one");
	assert_non_null(strstr(warned, "group.a.zones.catalog.example. has several groups"));
	assert_non_null(strstr(warned, "group.b.zones.catalog.example. has several groups"));
	/* Equality sees the group. */
	assert_int_equal(parse(HEAD V2 "a.zones PTR a.example.\n"
	                               "group.a.zones TXT \"aa\"\n"
	                               "b.zones PTR b.example.\n",
	                       NULL, &d, err, sizeof(err)),
	                 0);
	assert_false(catalog_equal(&c, &d));
	catalog_free(&d);
	assert_int_equal(parse(HEAD V2 "x.zones PTR b.example.\n"
	                               "group.x.zones TXT \"one\"\n"
	                               "y.zones PTR a.example.\n"
	                               "group.y.zones TXT \"aa\"\n",
	                       NULL, &d, err, sizeof(err)),
	                 0);
	assert_true(catalog_equal(&c, &d));
	catalog_free(&d);
	catalog_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),         cmocka_unit_test(test_version),
		cmocka_unit_test(test_invalid_members), cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
