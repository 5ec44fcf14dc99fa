/* Pacing of provider requests (net/retry.c): the backoff's bounds, the
 * retry budget, and the rate limiter shared by the targets of one account. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/retry.h"

static void in_range(double v, double lo, double hi, const char *what)
{
	if (v < lo || v > hi) {
		fail_msg("%s: %.4f not in [%.4f, %.4f]", what, v, lo, hi);
	}
}

/* base * 2^(n-1), at most cap, jittered to between half and all of it:
 * fails if the backoff stops doubling, ignores its cap or loses the jitter's
 * floor. */
static void test_backoff(void **state)
{
	(void)state;
	for (int i = 0; i < 200; i++) {
		in_range(retry_backoff(1, 0.5, 10), 0.25, 0.5, "attempt 1");
		in_range(retry_backoff(2, 0.5, 10), 0.5, 1.0, "attempt 2");
		in_range(retry_backoff(4, 0.5, 10), 2.0, 4.0, "attempt 4");
		in_range(retry_backoff(9, 0.5, 3), 1.5, 3.0, "attempt 9, capped at 3");
		in_range(retry_backoff(1000, 0.5, 3), 1.5, 3.0, "attempt 1000, capped at 3");
	}
}

/* Another attempt only when its pause ends within the budget (0: none). */
static void test_budget(void **state)
{
	(void)state;
	double now = retry_clock();
	assert_true(retry_in_time(now - 100, 50, 0));
	assert_true(retry_in_time(now, 0.5, 10));
	assert_false(retry_in_time(now - 9.8, 0.5, 10));
	assert_false(retry_in_time(now, 11, 10));
}

/* One token a 1/rate seconds, no burst: a second request at once waits
 * 1/rate, a third (queued behind it) twice that (less the time between the
 * calls: the lower bounds leave a loaded host 0.1 s). */
static void test_rate(void **state)
{
	(void)state;
	ratelimit_t *r = ratelimit_get("test rate", 4);
	assert_non_null(r);
	in_range(ratelimit_take(r), 0, 0.01, "first take");
	in_range(ratelimit_take(r), 0.15, 0.25, "second take");
	in_range(ratelimit_take(r), 0.4, 0.5, "third take");
	ratelimit_cleanup();
}

/* Targets of one account share one limiter, which runs at the smallest
 * rate any of them asked for; a limiter of another id is apart.  Fails if
 * the limiter runs at the largest or the last rate, or per target. */
static void test_shared_by_an_account(void **state)
{
	(void)state;
	ratelimit_t *a = ratelimit_share("route53 account 1", "a", 10);
	ratelimit_t *b = ratelimit_share("route53 account 1", "b", 2);
	ratelimit_t *c = ratelimit_share("route53 account 1", "c", 5);
	ratelimit_t *other = ratelimit_share("route53 account 2", "a", 10);
	assert_ptr_equal(a, b);
	assert_ptr_equal(a, c);
	assert_ptr_not_equal(a, other);
	in_range(ratelimit_take(a), 0, 0.01, "first take");
	in_range(ratelimit_take(c), 0.3, 0.5, "second take, at 2 per second");
	in_range(ratelimit_take(other), 0, 0.01, "another account");
	/* b asks again for more: the least is now c's 5. */
	assert_ptr_equal(ratelimit_share("route53 account 1", "b", 20), a);
	ratelimit_cleanup();
	a = ratelimit_share("route53 account 1", "a", 10);
	ratelimit_share("route53 account 1", "b", 20);
	in_range(ratelimit_take(a), 0, 0.01, "first take");
	in_range(ratelimit_take(a), 0.03, 0.1, "second take, at 10 per second");
	ratelimit_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_shared_by_an_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
