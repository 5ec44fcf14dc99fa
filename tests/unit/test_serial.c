#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dns/serial.h"

static void test_equal(void **state)
{
	(void)state;
	assert_int_equal(serial_cmp(0, 0), SERIAL_EQ);
	assert_int_equal(serial_cmp(4294967295u, 4294967295u), SERIAL_EQ);
}

static void test_order(void **state)
{
	(void)state;
	assert_int_equal(serial_cmp(1, 2), SERIAL_LT);
	assert_int_equal(serial_cmp(2, 1), SERIAL_GT);
	assert_int_equal(serial_cmp(2026112701u, 2026112702u), SERIAL_LT);
	/* The largest step that still counts as "newer": 2^31 - 1. */
	assert_int_equal(serial_cmp(0, 0x7fffffffu), SERIAL_LT);
	assert_int_equal(serial_cmp(0x7fffffffu, 0), SERIAL_GT);
}

static void test_wrap(void **state)
{
	(void)state;
	/* RFC 1982: 4294967295 < 0 < 1, across the wrap. */
	assert_int_equal(serial_cmp(4294967295u, 0), SERIAL_LT);
	assert_int_equal(serial_cmp(4294967295u, 1), SERIAL_LT);
	assert_int_equal(serial_cmp(1, 4294967295u), SERIAL_GT);
	assert_int_equal(serial_cmp(0xfffffff0u, 0x0000000fu), SERIAL_LT);
	/* A plain '>' would get this wrong: 2 is newer than 4294967000. */
	assert_int_equal(serial_cmp(2, 4294967000u), SERIAL_GT);
}

static void test_undefined(void **state)
{
	(void)state;
	/* Exactly 2^31 apart: no order (RFC 1982 3.2). */
	assert_int_equal(serial_cmp(0, 0x80000000u), SERIAL_UNDEF);
	assert_int_equal(serial_cmp(0x80000000u, 0), SERIAL_UNDEF);
	assert_int_equal(serial_cmp(1, 0x80000001u), SERIAL_UNDEF);
	assert_int_equal(serial_cmp(0xffffffffu, 0x7fffffffu), SERIAL_UNDEF);
	/* One less than 2^31 is defined again. */
	assert_int_equal(serial_cmp(1, 0x80000000u), SERIAL_LT);
}

static void test_add(void **state)
{
	(void)state;
	uint32_t out = 0;
	assert_int_equal(serial_add(10, 5, &out), 0);
	assert_int_equal(out, 15);
	assert_int_equal(serial_add(4294967295u, 1, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(serial_add(4294967290u, 10, &out), 0);
	assert_int_equal(out, 4);
	assert_int_equal(serial_add(0, 0x7fffffffu, &out), 0);
	assert_int_equal(out, 0x7fffffffu);
	/* Adding 2^31 or more is undefined: refused, out untouched. */
	out = 77;
	assert_int_equal(serial_add(0, 0x80000000u, &out), -1);
	assert_int_equal(out, 77);
	/* The sum is always newer than the start (for n > 0). */
	assert_int_equal(serial_add(0xfffffff0u, 0x7fffffffu, &out), 0);
	assert_int_equal(serial_cmp(0xfffffff0u, out), SERIAL_LT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal), cmocka_unit_test(test_order),
		cmocka_unit_test(test_wrap),  cmocka_unit_test(test_undefined),
		cmocka_unit_test(test_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
