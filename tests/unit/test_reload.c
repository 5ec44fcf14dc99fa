/* What a reload compares: conf_zone_same() says a zone runs the same under
 * the new configuration only when nothing it uses changed. */
#include <inttypes.h>
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

/* --- every key flagged restart, by the table -------------------------------- */

/* Two primaries and two targets alike but for their ids: a zone that names
 * the other one changes in that reference alone. */
#define RESTART_BASE                                                                   \
	"key: [{ id: k, algorithm: hmac-sha256, secret: " SECRET1 " }]\n"              \
	"primary:\n"                                                                   \
	"  - { id: p, address: 192.0.2.1, key: k }\n"                                  \
	"  - { id: q, address: 192.0.2.1, key: k }\n"                                  \
	"target:\n"                                                                    \
	"  - { id: f, type: zonefile, path: \"/tmp/f/%%s\" }\n"                        \
	"  - { id: g, type: zonefile, path: \"/tmp/f/%%s\" }\n"                        \
	"zone:\n"                                                                      \
	"  - { %s }\n"

/* The zone's keys there; the others take their defaults. */
static const char *const ZONE_KEYS[][2] = {
	{ "domain", "a.test" },
	{ "primary", "p" },
	{ "target", "[f]" },
};

/* That configuration, with one key of the zone set to value (key NULL:
 * none). */
static void load_zone(conf_t *c, const char *key, const char *value)
{
	char zone[512] = "", text[1024];
	bool given = false;
	for (size_t i = 0; i < sizeof(ZONE_KEYS) / sizeof(ZONE_KEYS[0]); i++) {
		bool this = key != NULL && strcmp(key, ZONE_KEYS[i][0]) == 0;
		size_t len = strlen(zone);
		snprintf(zone + len, sizeof(zone) - len, "%s%s: %s", i > 0 ? ", " : "",
		         ZONE_KEYS[i][0], this ? value : ZONE_KEYS[i][1]);
		given |= this;
	}
	if (key != NULL && !given) {
		size_t len = strlen(zone);
		snprintf(zone + len, sizeof(zone) - len, ", %s: %s", key, value);
	}
	snprintf(text, sizeof(text), RESTART_BASE, zone);
	assert_int_equal(conf_load_string(c, "test.yaml", text, strlen(text), target_registry, stderr), 0);
	assert_int_equal(c->nzone, 1);
}

/* A valid value of key it other than the one zone z holds, as text. */
static const char *other_value(const conf_item_t *it, const conf_zone_t *z, char *buf, size_t size)
{
	const char *field = (const char *)z + it->off;
	uint64_t v = 0;
	uint32_t v32;
	conf_limit_t l;
	switch (it->type) {
	case CONF_DNAME:
		return "b.test";
	case CONF_PRIMARYREF:
		return "q";
	case CONF_TARGETREF:
		return "[g]";
	case CONF_RULES:
		return "[{ name: x }]";
	case CONF_LIMIT:
		/* The same number, as a count instead of a percentage or back. */
		memcpy(&l, field, sizeof(l));
		snprintf(buf, size, "\"%" PRIu32 "%s\"", l.value, l.percent ? "" : "%");
		return buf;
	case CONF_INT:
	case CONF_DURATION:
	case CONF_SIZE:
		if (it->size == sizeof(v32)) {
			memcpy(&v32, field, sizeof(v32));
			v = v32;
		} else {
			memcpy(&v, field, sizeof(v));
		}
		snprintf(buf, size, "%" PRIu64, v < (uint64_t)it->max ? v + 1 : v - 1);
		return buf;
	default:
		fail_msg("zone key '%s': no other value for its type in other_value(): add one",
		         it->name);
		return NULL;
	}
}

/* Each zone key flagged restart, changed alone, restarts the zone: a key
 * added to the table is covered without a line here (or fails until its
 * type has an other_value()). */
static void test_restart_keys(void **state)
{
	(void)state;
	conf_t a, b;
	load_zone(&a, NULL, NULL);
	unsigned n = 0;
	for (const conf_item_t *it = conf_zone_items; it->name != NULL; it++) {
		if (!it->restart) {
			continue;
		}
		char buf[64];
		const char *v = other_value(it, &a.zone[0], buf, sizeof(buf));
		load_zone(&b, it->name, v);
		if (conf_zone_same(&a.zone[0], &b.zone[0])) {
			fail_msg("zone key '%s' changed to %s: the zone does not restart", it->name, v);
		}
		conf_free(&b);
		n++;
	}
	assert_true(n >= 14); /* not an empty loop */
	/* A key of a map (ttl.min) restarts the zone too. */
	load_zone(&b, "ttl", "{ min: 60 }");
	assert_false(conf_zone_same(&a.zone[0], &b.zone[0]));
	conf_free(&b);
	/* Rules are compared by what they say, not where they are. */
	conf_free(&a);
	load_zone(&a, "ignore", "[{ name: x }]");
	load_zone(&b, "ignore", "[{ name: x }]");
	assert_true(conf_zone_same(&a.zone[0], &b.zone[0]));
	conf_free(&b);
	load_zone(&b, "ignore", "[{ name: x, type: A }]");
	assert_false(conf_zone_same(&a.zone[0], &b.zone[0]));
	conf_free(&b);
	/* By all they say: rules that differ past what a report shows of them
	 * (200 characters of a name or value) differ. */
	conf_free(&a);
	char rule[300];
	snprintf(rule, sizeof(rule), "[{ name: %0210d }]", 1);
	load_zone(&a, "exclude", rule);
	snprintf(rule, sizeof(rule), "[{ name: %0210d }]", 2);
	load_zone(&b, "exclude", rule);
	assert_false(conf_zone_same(&a.zone[0], &b.zone[0]));
	conf_free(&b);
	conf_free(&a);
	load_zone(&a, NULL, NULL);
	/* The same text again is the same zone. */
	load_zone(&b, NULL, NULL);
	assert_true(conf_zone_same(&a.zone[0], &b.zone[0]));
	conf_free(&b);
	conf_free(&a);
}

/* The server keys a reload cannot apply are named from the schema; the
 * others (log.level, the NOTIFY limits) are not. */
static void test_server_changed(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "listen: [127.0.0.1@5354]", "listen" },
		{ "metrics: 127.0.0.1@9999", "metrics" },
		{ "user: nobody", "user" },
		{ "pid-file: /run/other.pid", "pid-file" },
		{ "log: { target: syslog }", "log.target" },
		{ "log: { level: debug }", NULL },
		{ "notify-rate-limit: 5", NULL },
		{ "tcp-max-clients: 7", NULL },
	};
	const char *base = "server: { state: /tmp/zs, listen: [127.0.0.1@5353] }\n";
	conf_t a, b;
	assert_int_equal(conf_load_string(&a, "a.yaml", base, strlen(base), target_registry, stderr),
	                 0);
	char keys[16][32];
	assert_int_equal(conf_server_changed(&a, &a, keys, 16), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		/* The key given twice would be refused: listen is replaced. */
		snprintf(text, sizeof(text), "server: { state: /tmp/zs, %s%s }\n", cases[i][0],
		         strncmp(cases[i][0], "listen", 6) == 0 ? "" : ", listen: [127.0.0.1@5353]");
		assert_int_equal(conf_load_string(&b, "b.yaml", text, strlen(text), target_registry,
		                                  stderr),
		                 0);
		size_t n = conf_server_changed(&a, &b, keys, 16);
		if (cases[i][1] == NULL) {
			assert_int_equal(n, 0);
		} else {
			assert_int_equal(n, 1);
			assert_string_equal(keys[0], cases[i][1]);
		}
		conf_free(&b);
	}
	conf_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_pid_file),
		cmocka_unit_test(test_restart_keys),
		cmocka_unit_test(test_server_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
