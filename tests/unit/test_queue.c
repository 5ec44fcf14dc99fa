/* The job queue (sched/queue.h): per-lane limits, the overall limit, FIFO
 * order, turns between lanes, removal, a limit raised by a reload. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/metrics.h"
#include "sched/queue.h"

#define MAXJOBS 64

/* What start() was called for, in order; the jobs started and not done. */
struct lab {
	jq_t q;
	jq_item_t items[MAXJOBS];
	int started[MAXJOBS];
	size_t nstarted;
	bool fail_next; /* start() ends the job at once (the pool refused it) */
};

static void on_start(void *ctx, jq_item_t *it)
{
	struct lab *l = ctx;
	l->started[l->nstarted++] = it->tag;
	if (l->fail_next) {
		l->fail_next = false;
		jq_done(&l->q, it->lane);
	}
}

static void push(struct lab *l, int i, jq_lane_t *lane)
{
	l->items[i].tag = i;
	jq_push(&l->q, &l->items[i], lane);
}

/* The gauge's value for the lane, as rendered. */
static long gauge(const char *family, const char *kind, const char *id)
{
	size_t len;
	char *text = metrics_render(&len);
	char want[256];
	snprintf(want, sizeof(want), "%s{kind=\"%s\",id=\"%s\"} ", family, kind, id);
	const char *p = strstr(text, want);
	long v = p != NULL ? strtol(p + strlen(want), NULL, 10) : -1;
	free(text);
	return v;
}

static void test_lane_limit_fifo(void **state)
{
	(void)state;
	struct lab l = { 0 };
	jq_init(&l.q, 10, on_start, &l);
	jq_lane_t *p = jq_lane(&l.q, "primary", "p", 2);
	for (int i = 0; i < 5; i++) {
		push(&l, i, p);
	}
	/* Two run, three wait, in order. */
	assert_int_equal(l.nstarted, 2);
	assert_int_equal(l.started[0], 0);
	assert_int_equal(l.started[1], 1);
	assert_int_equal(p->running, 2);
	assert_int_equal(p->waiting, 3);
	assert_int_equal(gauge("zonesync_jobs_queued", "primary", "p"), 3);
	assert_int_equal(gauge("zonesync_jobs_running", "primary", "p"), 2);
	jq_done(&l.q, p);
	assert_int_equal(l.nstarted, 3);
	assert_int_equal(l.started[2], 2);
	jq_done(&l.q, p);
	jq_done(&l.q, p);
	jq_done(&l.q, p);
	assert_int_equal(l.nstarted, 5);
	assert_int_equal(l.started[4], 4);
	jq_done(&l.q, p);
	assert_int_equal(p->running, 0);
	assert_int_equal(l.q.running, 0);
	assert_int_equal(gauge("zonesync_jobs_queued", "primary", "p"), 0);
	jq_free(&l.q);
}

/* The overall limit: free threads go to the lanes in turn, so a long
 * queue of one does not hold up another. */
static void test_overall_limit_turns(void **state)
{
	(void)state;
	struct lab l = { 0 };
	jq_init(&l.q, 2, on_start, &l);
	jq_lane_t *a = jq_lane(&l.q, "target", "a", 10);
	jq_lane_t *b = jq_lane(&l.q, "target", "b", 10);
	for (int i = 0; i < 6; i++) {
		push(&l, i, a);
	}
	push(&l, 10, b);
	push(&l, 11, b);
	assert_int_equal(l.nstarted, 2);
	assert_int_equal(l.q.running, 2);
	/* Then a and b take turns: b's jobs do not wait for a's six. */
	jq_done(&l.q, a);
	assert_int_equal(l.nstarted, 3);
	assert_int_equal(l.started[2], 2);
	jq_done(&l.q, a);
	assert_int_equal(l.started[3], 10);
	jq_done(&l.q, a);
	assert_int_equal(l.started[4], 3);
	jq_done(&l.q, b);
	assert_int_equal(l.started[5], 11);
	assert_int_equal(l.nstarted, 6);
	assert_int_equal(l.q.running, 2);
	jq_free(&l.q);
}

static void test_remove_and_pop(void **state)
{
	(void)state;
	struct lab l = { 0 };
	jq_init(&l.q, 10, on_start, &l);
	jq_lane_t *p = jq_lane(&l.q, "primary", "p", 1);
	for (int i = 0; i < 4; i++) {
		push(&l, i, p);
	}
	assert_false(jq_remove(&l.q, &l.items[0])); /* running, not waiting */
	assert_true(jq_remove(&l.q, &l.items[2]));  /* the middle */
	assert_false(jq_remove(&l.q, &l.items[2]));
	assert_int_equal(p->waiting, 2);
	jq_done(&l.q, p);
	assert_int_equal(l.started[1], 1);
	assert_true(jq_remove(&l.q, &l.items[3])); /* the last */
	assert_true(jq_remove(&l.q, &l.items[0]) == false);
	jq_done(&l.q, p);
	assert_int_equal(l.nstarted, 2); /* nothing left */
	/* pop_any empties every lane. */
	jq_lane_t *t = jq_lane(&l.q, "target", "t", 1);
	push(&l, 5, t); /* runs */
	push(&l, 6, t);
	push(&l, 7, p); /* runs */
	push(&l, 8, p);
	jq_item_t *it;
	size_t n = 0;
	while ((it = jq_pop_any(&l.q)) != NULL) {
		assert_true(it->tag == 6 || it->tag == 8);
		n++;
	}
	assert_int_equal(n, 2);
	jq_done(&l.q, t);
	jq_done(&l.q, p);
	assert_int_equal(l.nstarted, 4);
	jq_free(&l.q);
}

/* A reload raises a lane's limit: its waiting jobs start at once; the same
 * kind and id (any case) is the same lane. */
static void test_limit_raised(void **state)
{
	(void)state;
	struct lab l = { 0 };
	jq_init(&l.q, 10, on_start, &l);
	jq_lane_t *p = jq_lane(&l.q, "primary", "Main", 1);
	for (int i = 0; i < 4; i++) {
		push(&l, i, p);
	}
	assert_int_equal(l.nstarted, 1);
	assert_ptr_equal(jq_lane(&l.q, "primary", "main", 3), p);
	assert_int_equal(l.nstarted, 3);
	assert_ptr_not_equal(jq_lane(&l.q, "target", "main", 3), p);
	for (int i = 0; i < 4; i++) {
		jq_done(&l.q, p);
	}
	assert_int_equal(l.nstarted, 4);
	assert_int_equal(l.q.running, 0);
	jq_free(&l.q);
}

/* A start() that ends its job at once (the pool refused it) frees the room
 * for the next, without recursion trouble. */
static void test_start_fails(void **state)
{
	(void)state;
	struct lab l = { 0 };
	jq_init(&l.q, 1, on_start, &l);
	jq_lane_t *p = jq_lane(&l.q, "primary", "p", 1);
	l.fail_next = true;
	push(&l, 0, p);
	assert_int_equal(l.nstarted, 1);
	assert_int_equal(l.q.running, 0);
	push(&l, 1, p);
	assert_int_equal(l.nstarted, 2);
	assert_int_equal(l.q.running, 1);
	jq_done(&l.q, p);
	jq_free(&l.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lane_limit_fifo),
		cmocka_unit_test(test_overall_limit_turns),
		cmocka_unit_test(test_remove_and_pop),
		cmocka_unit_test(test_limit_raised),
		cmocka_unit_test(test_start_fails),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	metrics_cleanup();
	return rc;
}
