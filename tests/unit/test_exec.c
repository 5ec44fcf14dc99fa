#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "dns/name.h"
#include "target/exec/exec.h"

/* The summary parsed back: its "zone", checked to be one line of ASCII. */
static json_t *parse(const exec_event_t *ev)
{
	char *text = exec_event_json(ev);
	assert_non_null(text);
	size_t n = strlen(text);
	assert_true(n > 2 && text[n - 1] == '\n');
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(text[i] >= 0x20 && text[i] < 0x7f);
	}
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	if (o == NULL) {
		fail_msg("not JSON (%s): %s", jerr.text, text);
	}
	free(text);
	return o;
}

/* Every byte in a label: the zone comes back as its presentation form, which
 * names the same zone. */
static void test_json_any_name(void **state)
{
	(void)state;
	for (int b = 0; b < 256; b++) {
		uint8_t wire[] = {
			3, 'a', (uint8_t)b, 'z', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0
		};
		char text[DNS_NAME_STR_MAX];
		assert_non_null(dns_name_to_str(wire, text, sizeof(text)));
		exec_event_t ev = { .zone = text, .serial = 1, .primary = "192.0.2.1" };
		json_t *o = parse(&ev);
		const char *zone = json_string_value(json_object_get(o, "zone"));
		assert_non_null(zone);
		assert_string_equal(zone, text);
		knot_dname_storage_t back;
		assert_int_equal(dns_name_from_str(zone, back), (int)sizeof(wire));
		assert_true(dns_name_equal(back, wire));
		json_decref(o);
	}
}

/* The longest name, every byte escaped: well over the 1 KiB the summary
 * was once cut at. */
static void test_json_long_name(void **state)
{
	(void)state;
	knot_dname_storage_t wire;
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		wire[o++] = 62;
		for (int i = 0; i < 62; i++) {
			wire[o++] = l % 2 ? '"' : '\\';
		}
	}
	wire[o++] = 0;
	assert_int_equal(o, 253);
	char text[DNS_NAME_STR_MAX];
	assert_non_null(dns_name_to_str(wire, text, sizeof(text)));
	exec_event_t ev = { .zone = text, .serial = 4294967295u, .primary = "2001:db8::1" };
	char *line = exec_event_json(&ev);
	assert_non_null(line);
	assert_true(strlen(line) > 1024);
	free(line);
	json_t *j = parse(&ev);
	assert_string_equal(json_string_value(json_object_get(j, "zone")), text);
	assert_int_equal(json_integer_value(json_object_get(j, "serial")), 4294967295u);
	json_decref(j);
}

static void test_json_counts(void **state)
{
	(void)state;
	exec_event_t ev = { .zone = "example.com.", .serial = 2, .primary = "192.0.2.1" };
	json_t *o = parse(&ev);
	assert_true(json_is_null(json_object_get(o, "previous_serial")));
	assert_true(json_is_null(json_object_get(o, "added")));
	assert_string_equal(json_string_value(json_object_get(o, "transfer")), "AXFR");
	json_decref(o);
	ev.has_previous = ev.has_counts = true;
	ev.previous = 1;
	ev.added = 3;
	ev.changed = 2;
	ev.deleted = 1;
	o = parse(&ev);
	assert_int_equal(json_integer_value(json_object_get(o, "previous_serial")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "added")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "changed")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "deleted")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "transfer")), "IXFR");
	assert_int_equal(json_object_size(o), 8);
	json_decref(o);
}

/* The zone argument: no trailing dot, never an option. */
static void test_zone_arg(void **state)
{
	(void)state;
	static const struct {
		const char *zone, *arg;
	} cases[] = {
		{ "example.com.", "example.com" },
		{ "-x.example.", "\\045x.example" },
		{ "--help.", "\\045-help" },
		{ "a-b.example.", "a-b.example" },
		{ "a\\032b.example.", "a\\032b.example" },
		{ ".", "." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *arg = exec_zone_arg(cases[i].zone);
		assert_non_null(arg);
		assert_string_equal(arg, cases[i].arg);
		knot_dname_storage_t a, b;
		assert_true(dns_name_from_str(arg, a) > 0 &&
		            dns_name_from_str(cases[i].zone, b) > 0);
		assert_true(dns_name_equal(a, b));
		free(arg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_any_name),
		cmocka_unit_test(test_json_long_name),
		cmocka_unit_test(test_json_counts),
		cmocka_unit_test(test_zone_arg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
