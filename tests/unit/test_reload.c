/* What a reload compares: conf_zone_same() says a zone runs the same under
 * the new configuration only when nothing it uses changed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "target/target.h"

#define BASE                                                                           \
	"server: { listen: [127.0.0.1@5353], state: /tmp/zs, pid-file: /run/zs.pid }\n"  \
	"key:\n"                                                                       \
	"  - { id: k, algorithm: hmac-sha256, secret: %s }\n"                          \
	"primary:\n"                                                                   \
	"  - { id: p, address: [%s], key: k }\n"                                       \
	"target:\n"                                                                    \
	"  - { id: f, type: zonefile, path: \"%s\" }\n"                                \
	"  - { id: g, type: zonefile, path: \"/tmp/g/%%s\" }\n"                        \
	"zone:\n"                                                                      \
	"  - { domain: a.test, primary: p, target: [f], max-delete: %s }\n"            \
	"  - { domain: b.test, primary: p, target: [g] }\n"

#define SECRET1 "c2VjcmV0MQ=="
#define SECRET2 "c2VjcmV0Mg=="

static void load(conf_t *c, const char *secret, const char *addr, const char *path,
                 const char *max_delete)
{
	char text[2048];
	snprintf(text, sizeof(text), BASE, secret, addr, path, max_delete);
	assert_int_equal(conf_load_string(c, "test.yaml", text, strlen(text), target_registry, stderr), 0);
}

/* Is zone i the same in a configuration with one thing changed? */
static bool same(size_t i, const char *secret, const char *addr, const char *path,
                 const char *max_delete)
{
	conf_t a, b;
	load(&a, SECRET1, "192.0.2.1", "/tmp/f/%s", "30%");
	load(&b, secret, addr, path, max_delete);
	bool r = conf_zone_same(&a.zone[i], &b.zone[i]);
	conf_free(&a);
	conf_free(&b);
	return r;
}

static void test_unchanged(void **state)
{
	(void)state;
	assert_true(same(0, SECRET1, "192.0.2.1", "/tmp/f/%s", "30%"));
	assert_true(same(1, SECRET1, "192.0.2.1", "/tmp/f/%s", "30%"));
}

static void test_changes(void **state)
{
	(void)state;
	/* Its own key. */
	assert_false(same(0, SECRET1, "192.0.2.1", "/tmp/f/%s", "40%"));
	assert_true(same(1, SECRET1, "192.0.2.1", "/tmp/f/%s", "40%"));
	/* Its target's key: only the zone that uses the target. */
	assert_false(same(0, SECRET1, "192.0.2.1", "/tmp/other/%s", "30%"));
	assert_true(same(1, SECRET1, "192.0.2.1", "/tmp/other/%s", "30%"));
	/* The primary's address, and the secret of the primary's key: both. */
	assert_false(same(0, SECRET1, "192.0.2.2", "/tmp/f/%s", "30%"));
	assert_false(same(1, SECRET1, "192.0.2.2", "/tmp/f/%s", "30%"));
	assert_false(same(0, SECRET2, "192.0.2.1", "/tmp/f/%s", "30%"));
	assert_false(same(1, SECRET2, "192.0.2.1", "/tmp/f/%s", "30%"));
	/* The same address in another spelling is the same address. */
	assert_true(same(0, SECRET1, "192.0.2.1@53", "/tmp/f/%s", "30%"));
}

static void test_pid_file(void **state)
{
	(void)state;
	conf_t c;
	load(&c, SECRET1, "192.0.2.1", "/tmp/f/%s", "30%");
	assert_string_equal(c.server.pid_file, "/run/zs.pid");
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_pid_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
