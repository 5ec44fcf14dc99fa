/*
 * A small HTTP client over libcurl for provider APIs: one handle per
 * target (connections are reused), bodies in memory, bounded in size and
 * time.  No retries here: what may be retried is the provider's business
 * (see net/retry.h).
 *
 * libcurl itself sends a request again, body and all, when the reused
 * connection it went on closes before any answer ("Connection died,
 * retrying a fresh connect", up to 5 times in 7.88), though the server may
 * have acted on it before closing.  So a request that is not idempotent
 * (any method but GET and HEAD) always goes on a new connection, where
 * libcurl never does that; and every request reports how many times it
 * went out, so that a re-send of a read is seen too.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct http http_t;

typedef struct {
	long status; /* 0 when no answer came (network error) */
	char *body;  /* NUL-terminated, malloc'd; NULL when empty */
	size_t len;
	unsigned sends; /* times the request went out, set in every case: 0 when it
	                 * never left (no connection), 2 or more when libcurl sent it
	                 * again (reads only) */
} http_response_t;

/* Bodies larger than this are refused (a 300-set page is ~100 KiB). */
#define HTTP_MAX_BODY (64u << 20)

/* Once per process, before threads start. */
int http_global_init(void);
void http_global_cleanup(void);

http_t *http_new(long timeout_ms);
void http_free(http_t *h);

/* A new limit for each request of h (its connect at most 10 s of it). */
void http_set_timeout(http_t *h, long timeout_ms);

/* Idempotent requests of h stop half way when *stop becomes true (NULL:
 * never), or the process's stop flag (sock_stop_on()), within about a
 * second.  A write runs to its end unless the process is stopping and it
 * has not ended 5 s later: its outcome is then unknown, and the target
 * stays dirty. */
void http_set_stop(http_t *h, const atomic_bool *stop);

/* Is a request of this method safe to send twice (GET, HEAD)? */
bool http_idempotent(const char *method);

/*
 * One request.  headers: "Name: value" strings, n of them.  On a network
 * error returns -EIO with err set (the response is empty but for sends: a
 * write that failed with sends > 0 may have been applied); -EFBIG when the
 * answer is larger than HTTP_MAX_BODY; -ECANCELED when stopped (see
 * http_set_stop).  Otherwise 0 with the status and body in resp (free with
 * http_response_free).
 */
int http_request(http_t *h, const char *method, const char *url, const char *const *headers,
                 size_t nheaders, const char *body, size_t body_len, http_response_t *resp,
                 char *err, size_t errlen);

void http_response_free(http_response_t *r);
