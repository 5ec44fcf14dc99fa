/*
 * Pacing of provider requests: a token-bucket rate limit shared by every
 * user of one target in the process (zones pushed from several workers to
 * one account share the account's limit), and exponential backoff with
 * jitter between retries.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ratelimit ratelimit_t;

/* The limiter of this target id (created at the first call, kept for the
 * life of the process; a new rate replaces the old).  NULL when out of
 * memory.  Thread-safe. */
ratelimit_t *ratelimit_get(const char *id, double per_second);

/* The limiter id shared by several users (route53 targets in one AWS
 * account): each says its own rate, and the limiter runs at the smallest
 * (a user's rate is replaced when it asks again).  NULL when out of
 * memory. */
ratelimit_t *ratelimit_share(const char *id, const char *user, double per_second);

/* Take one token: the seconds to sleep before sending (0 when free now).
 * The caller sleeps; the token is taken either way. */
double ratelimit_take(ratelimit_t *r);

/* Free every limiter (at exit). */
void ratelimit_cleanup(void);

/* Backoff before attempt n (1 = first retry): base * 2^(n-1), at most cap,
 * with "full jitter" (a random share of it, at least half). Seconds. */
double retry_backoff(unsigned n, double base, double cap);

/* Seconds on a monotonic clock: when a request's first attempt began. */
double retry_clock(void);

/* May one more attempt start after pausing pause seconds, when the first
 * began at started and retries may take budget seconds (0: no bound)? */
bool retry_in_time(double started, double pause, double budget);

/* Sleep for secs (fractions allowed); returns early once the stop flag
 * (sock_stop_on()) is set. */
void retry_sleep(double secs);

/* The same, cut short when *stop becomes true (NULL: never; looked at every
 * 50 ms).  false when stopped. */
bool retry_sleep_stop(double secs, const atomic_bool *stop);
