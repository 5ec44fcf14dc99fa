/* The metrics registry: the Prometheus text it renders (families declared
 * once, labels escaped, histograms cumulative), forgetting a zone, and
 * updates from many threads at once; and the log's logfmt values. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>

#include "obs/log.h"
#include "obs/metrics.h"

static int teardown(void **state)
{
	(void)state;
	metrics_cleanup();
	return 0;
}

static char *render(void)
{
	size_t len;
	char *text = metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
		n++;
	}
	return n;
}

static void test_empty(void **state)
{
	(void)state;
	char *text = render();
	assert_string_equal(text, "");
	free(text);
}

static void test_counter_gauge(void **state)
{
	(void)state;
	metrics_add(M_SYNCS, 1, "example.com.", "aws", "ok");
	metrics_add(M_SYNCS, 2, "example.com.", "aws", "ok");
	metrics_add(M_SYNCS, 1, "example.com.", "aws", "failed");
	metrics_set(M_ZONE_SERIAL, 7, "example.com.");
	metrics_set(M_ZONE_SERIAL, 2026112701, "example.com.");
	metrics_add(M_NOTIFY_RECEIVED, 1);
	char *text = render();
	assert_non_null(strstr(text, "# TYPE zonesync_syncs_total counter\n"));
	assert_non_null(strstr(text, "zonesync_syncs_total{zone=\"example.com.\",target=\"aws\","
	                             "result=\"ok\"} 3\n"));
	assert_non_null(strstr(text, "result=\"failed\"} 1\n"));
	/* A gauge holds the last value, printed in full (no exponent). */
	assert_non_null(strstr(text, "zonesync_zone_serial{zone=\"example.com.\"} 2026112701\n"));
	assert_non_null(strstr(text, "zonesync_notify_received_total 1\n"));
	/* Each family declared once, before its samples. */
	assert_int_equal(count(text, "# TYPE zonesync_syncs_total "), 1);
	assert_true(strstr(text, "# HELP zonesync_syncs_total") <
	            strstr(text, "zonesync_syncs_total{"));
	free(text);
}

static void test_escaping(void **state)
{
	(void)state;
	metrics_add(M_API_REQUESTS, 1, "a\"b\\c\nd");
	char *text = render();
	assert_non_null(strstr(text, "zonesync_api_requests_total{target=\"a\\\"b\\\\c\\nd\"} 1\n"));
	free(text);
}

static void test_histogram(void **state)
{
	(void)state;
	metrics_observe(M_SYNC_DURATION, 0.01, "aws");
	metrics_observe(M_SYNC_DURATION, 0.3, "aws");
	metrics_observe(M_SYNC_DURATION, 0.3, "aws");
	metrics_observe(M_SYNC_DURATION, 1000, "aws"); /* beyond the last bound */
	char *text = render();
	assert_non_null(strstr(text, "# TYPE zonesync_sync_duration_seconds histogram\n"));
	const char *b = "zonesync_sync_duration_seconds_bucket{target=\"aws\",";
	char line[200];
	snprintf(line, sizeof(line), "%sle=\"0.05\"} 1\n", b);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line), "%sle=\"0.25\"} 1\n", b);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line), "%sle=\"0.5\"} 3\n", b);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line), "%sle=\"300\"} 3\n", b);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line), "%sle=\"+Inf\"} 4\n", b);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "zonesync_sync_duration_seconds_count{target=\"aws\"} 4\n"));
	assert_non_null(strstr(text, "zonesync_sync_duration_seconds_sum{target=\"aws\"} 1000.61\n"));
	free(text);
}

static void test_forget_zone(void **state)
{
	(void)state;
	metrics_set(M_ZONE_SERIAL, 1, "a.test.");
	metrics_set(M_ZONE_SERIAL, 2, "a.test.b.");
	metrics_set(M_TARGET_SERIAL, 1, "a.test.", "aws");
	metrics_add(M_API_REQUESTS, 1, "a.test."); /* a target named so: kept */
	metrics_set(M_TARGET_SERIAL, 1, "b.test.", "aws");
	metrics_set(M_TARGET_SERIAL, 1, "b.test.", "aws2");
	metrics_add(M_SYNCS, 1, "b.test.", "aws", "ok");
	metrics_forget("a.test.", NULL);
	metrics_forget("b.test.", "aws");
	char *text = render();
	assert_null(strstr(text, "{zone=\"a.test.\"}"));
	assert_null(strstr(text, "zone=\"a.test.\",target"));
	assert_non_null(strstr(text, "zonesync_zone_serial{zone=\"a.test.b.\"} 2\n"));
	assert_non_null(strstr(text, "zonesync_api_requests_total{target=\"a.test.\"} 1\n"));
	assert_null(strstr(text, "target=\"aws\""));
	assert_non_null(strstr(text, "{zone=\"b.test.\",target=\"aws2\"} 1\n"));
	free(text);
}

/* Series for n zones of two targets, as a daemon makes them. */
static void fill(int n)
{
	char zone[32];
	for (int i = 0; i < n; i++) {
		snprintf(zone, sizeof(zone), "z%d.test.", i);
		metrics_set(M_ZONE_SERIAL, 1, zone);
		metrics_set(M_ZONE_OK, 1, zone);
		metrics_add(M_SOA_CHECKS, 1, zone, "same");
		metrics_set(M_TARGET_SERIAL, 1, zone, "a");
		metrics_set(M_TARGET_SERIAL, 1, zone, "b");
		metrics_add(M_SYNCS, 1, zone, "a", "ok");
		metrics_add(M_SYNCS, 1, zone, "b", "ok");
	}
}

/* CPU seconds to forget zones 0..99 (the first target of the next 100). */
static double time_forget(void)
{
	char zone[32];
	clock_t t0 = clock();
	for (int i = 0; i < 100; i++) {
		snprintf(zone, sizeof(zone), "z%d.test.", i);
		metrics_forget(zone, NULL);
		snprintf(zone, sizeof(zone), "z%d.test.", 100 + i);
		metrics_forget(zone, "a");
	}
	return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* A zone's series are found by their zone: forgetting one costs the same
 * among 500 zones as among 16,000 (a walk through every series: 32 times
 * more; a reload removing 5,000 of 10,000 zones took minutes). */
static void test_forget_many(void **state)
{
	(void)state;
	fill(500);
	double t_small = time_forget();
	metrics_cleanup();
	fill(16000);
	double t_big = time_forget();
	char *text = render();
	assert_null(strstr(text, "{zone=\"z7.test.\"}"));
	assert_null(strstr(text, "{zone=\"z107.test.\",target=\"a\"}"));
	assert_non_null(strstr(text, "zonesync_target_serial{zone=\"z107.test.\",target=\"b\"} 1\n"));
	assert_non_null(strstr(text, "zonesync_zone_serial{zone=\"z200.test.\"} 1\n"));
	free(text);
	if (t_big > 4 * t_small + 0.02) {
		fail_msg("forgetting 200: %.4f s among 500 zones, %.4f s among 16,000", t_small,
		         t_big);
	}
}

#define THREADS 8
#define ROUNDS 20000

static void *hammer(void *arg)
{
	char target[16];
	snprintf(target, sizeof(target), "t%d", (int)(intptr_t)arg % 2);
	for (int i = 0; i < ROUNDS; i++) {
		metrics_add(M_API_REQUESTS, 1, target);
		metrics_observe(M_SYNC_DURATION, 0.1, target);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t th[THREADS];
	for (intptr_t i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
	}
	char *text = render();
	char want[128];
	snprintf(want, sizeof(want), "zonesync_api_requests_total{target=\"t0\"} %d\n",
	         THREADS / 2 * ROUNDS);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "zonesync_sync_duration_seconds_count{target=\"t1\"} %d\n",
	         THREADS / 2 * ROUNDS);
	assert_non_null(strstr(text, want));
	free(text);
}

static void test_names(void **state)
{
	(void)state;
	for (int m = 0; m < M_COUNT; m++) {
		const char *n = metrics_name((metric_t)m);
		assert_non_null(n);
		assert_int_equal(strncmp(n, "zonesync_", 9), 0);
	}
	assert_null(metrics_name(M_COUNT));
}

/* A value is quoted only when it must be, and what is quoted reads back. */
static void test_log_value(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(log_value(buf, sizeof(buf), "example.com."), "example.com.");
	assert_string_equal(log_value(buf, sizeof(buf), NULL), "-");
	assert_string_equal(log_value(buf, sizeof(buf), ""), "\"\"");
	assert_string_equal(log_value(buf, sizeof(buf), "a b"), "\"a b\"");
	assert_string_equal(log_value(buf, sizeof(buf), "k=v"), "\"k=v\"");
	assert_string_equal(log_value(buf, sizeof(buf), "say \"hi\"\\\n\x01"),
	                    "\"say \\\"hi\\\"\\\\\\n\\x01\"");
	/* Cut to fit, never inside an escape, always closed. */
	char small[8];
	assert_string_equal(log_value(small, sizeof(small), "ab\"cdef"), "\"ab\\\"c\"");
	assert_string_equal(LOGV("x y"), "\"x y\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_empty, teardown),
		cmocka_unit_test_teardown(test_counter_gauge, teardown),
		cmocka_unit_test_teardown(test_escaping, teardown),
		cmocka_unit_test_teardown(test_histogram, teardown),
		cmocka_unit_test_teardown(test_forget_zone, teardown),
		cmocka_unit_test_teardown(test_forget_many, teardown),
		cmocka_unit_test_teardown(test_threads, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_log_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
