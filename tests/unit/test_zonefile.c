#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "target/zonefile/zonefile.h"

/* The file of a zone stays in the directory of its path, whatever the
 * zone's name: a name that is not one file name is refused (the loader
 * asks the same question, so `zonesync check` refuses it first). */
static void test_path(void **state)
{
	(void)state;
	static const struct {
		const char *tmpl, *zone, *path; /* path NULL: refused */
		int ret;
	} cases[] = {
		{ "/z/%s.zone", "example.com.", "/z/example.com.zone", 0 },
		{ "/z/%s.zone", ".", "/z/root.zone", 0 },
		{ "/z/%s", "a\\000\\..b.example.", "/z/a\\000\\..b.example", 0 },
		{ "/z/all.zone", "a/b.example.", "/z/all.zone", 0 }, /* no %s: no name */
		{ "/z/%s.zone", "a/b.example.", NULL, -EINVAL },
		{ "%s.zone", "/etc/cron.d/x.", NULL, -EINVAL },
		{ "/z/%s", "...", NULL, -EINVAL }, /* not a name the loader takes */
		{ "/z/%s", "a\nb.", NULL, -EINVAL },
		{ "/z/%s", "\xc3\xa9.", NULL, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[4096];
		const char *why = NULL;
		int ret = zonefile_path(cases[i].tmpl, cases[i].zone, path, sizeof(path), &why);
		assert_int_equal(ret, cases[i].ret);
		if (ret == 0) {
			assert_string_equal(path, cases[i].path);
		} else {
			assert_non_null(why);
		}
	}
}

static void test_long_names(void **state)
{
	(void)state;
	/* A label of 63 bytes written \DDD is 252 characters: with ".zone"
	 * the file name is over 255 bytes. */
	char zone[300] = "";
	for (int i = 0; i < 63; i++) {
		strcat(zone, "\\255");
	}
	strcat(zone, ".");
	char path[4096];
	const char *why = NULL;
	assert_int_equal(zonefile_path("/z/%s.zone", zone, path, sizeof(path), &why),
	                 -ENAMETOOLONG);
	assert_non_null(why);
	assert_int_equal(zonefile_path("/z/%s", zone, path, sizeof(path), &why), 0);
	char small[8];
	assert_int_equal(zonefile_path("/z/%s", "example.com.", small, sizeof(small), &why),
	                 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_long_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
