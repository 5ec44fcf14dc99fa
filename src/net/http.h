/*
 * A small HTTP client over libcurl for provider APIs: one handle per
 * target (connections are reused), bodies in memory, bounded in size and
 * time.  No retries here: what may be retried is the provider's business
 * (see net/retry.h).
 */
#pragma once

#include <stddef.h>

typedef struct http http_t;

typedef struct {
	long status; /* 0 when no answer came (network error) */
	char *body;  /* NUL-terminated, malloc'd; NULL when empty */
	size_t len;
} http_response_t;

/* Bodies larger than this are refused (a 300-set page is ~100 KiB). */
#define HTTP_MAX_BODY (64u << 20)

/* Once per process, before threads start. */
int http_global_init(void);
void http_global_cleanup(void);

http_t *http_new(long timeout_ms);
void http_free(http_t *h);

/*
 * One request.  headers: "Name: value" strings, n of them.  On a network
 * error returns -EIO (-ECANCELED when the daemon is stopping, see
 * sock_stop_on()) with err set (the response is empty); otherwise 0 with
 * the status and body in resp (free with http_response_free).
 */
int http_request(http_t *h, const char *method, const char *url, const char *const *headers,
                 size_t nheaders, const char *body, size_t body_len, http_response_t *resp,
                 char *err, size_t errlen);

void http_response_free(http_response_t *r);
