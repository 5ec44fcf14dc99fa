#include "net/retry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "net/sock.h"

struct ratelimit {
	struct ratelimit *next;
	char *id;
	double rate;   /* tokens per second */
	double burst;  /* bucket size */
	double tokens; /* may go negative: requests queued behind each other */
	double stamp;  /* monotonic seconds of the last update */
	/* ratelimit_share: each user's rate; the limiter runs at the least */
	struct owner {
		char *id;
		double rate;
	} *owner;
	size_t nowner;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ratelimit *limiters;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The limiter named id, made if new; called locked. */
static struct ratelimit *find_or_make(const char *id)
{
	struct ratelimit *r = limiters;
	while (r != NULL && strcmp(r->id, id) != 0) {
		r = r->next;
	}
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r != NULL && (r->id = strdup(id)) == NULL) {
			free(r);
			r = NULL;
		}
		if (r != NULL) {
			r->stamp = mono();
			r->tokens = 1;
			r->next = limiters;
			limiters = r;
			r->burst = 1; /* no bursts: providers count per second, evenly */
		}
	}
	return r;
}

ratelimit_t *ratelimit_get(const char *id, double per_second)
{
	pthread_mutex_lock(&lock);
	struct ratelimit *r = find_or_make(id);
	if (r != NULL) {
		r->rate = per_second > 0 ? per_second : 1;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

ratelimit_t *ratelimit_share(const char *id, const char *user, double per_second)
{
	pthread_mutex_lock(&lock);
	struct ratelimit *r = find_or_make(id);
	size_t i = 0;
	while (r != NULL && i < r->nowner && strcmp(r->owner[i].id, user) != 0) {
		i++;
	}
	if (r != NULL && i == r->nowner) {
		struct owner *o = realloc(r->owner, (r->nowner + 1) * sizeof(*o));
		char *uid = strdup(user);
		if (o == NULL || uid == NULL) {
			free(uid);
			if (o != NULL) {
				r->owner = o;
			}
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		r->owner = o;
		r->owner[r->nowner++] = (struct owner){ uid, 0 };
	}
	if (r != NULL) {
		r->owner[i].rate = per_second > 0 ? per_second : 1;
		r->rate = r->owner[0].rate;
		for (size_t k = 1; k < r->nowner; k++) {
			if (r->owner[k].rate < r->rate) {
				r->rate = r->owner[k].rate;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}

double ratelimit_take(ratelimit_t *r)
{
	pthread_mutex_lock(&lock);
	double now = mono();
	r->tokens += (now - r->stamp) * r->rate;
	if (r->tokens > r->burst) {
		r->tokens = r->burst;
	}
	r->stamp = now;
	r->tokens -= 1;
	double wait = r->tokens >= 0 ? 0 : -r->tokens / r->rate;
	pthread_mutex_unlock(&lock);
	return wait;
}

void ratelimit_cleanup(void)
{
	pthread_mutex_lock(&lock);
	while (limiters != NULL) {
		struct ratelimit *n = limiters->next;
		for (size_t i = 0; i < limiters->nowner; i++) {
			free(limiters->owner[i].id);
		}
		free(limiters->owner);
		free(limiters->id);
		free(limiters);
		limiters = n;
	}
	pthread_mutex_unlock(&lock);
}

double retry_clock(void)
{
	return mono();
}

bool retry_in_time(double started, double pause, double budget)
{
	return budget <= 0 || mono() + pause - started < budget;
}

double retry_backoff(unsigned n, double base, double cap)
{
	double d = base;
	for (unsigned i = 1; i < n && d < cap; i++) {
		d *= 2;
	}
	if (d > cap) {
		d = cap;
	}
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		r = (uint32_t)time(NULL);
	}
	return d / 2 + (d / 2) * ((double)(r % 10001) / 10000.0);
}

void retry_sleep(double secs)
{
	/* In slices, so that a stopping daemon does not sleep out a backoff. */
	while (secs > 0 && !sock_stopping()) {
		double step = secs < 0.2 ? secs : 0.2;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(step * 1e9) };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
		secs -= step;
	}
}

bool retry_sleep_stop(double secs, const atomic_bool *stop)
{
	for (;;) {
		if (stop != NULL && atomic_load(stop)) {
			return false;
		}
		if (secs <= 0) {
			return true;
		}
		double step = stop != NULL && secs > 0.05 ? 0.05 : secs;
		retry_sleep(step);
		secs -= step;
	}
}
