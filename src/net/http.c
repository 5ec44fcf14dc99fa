#include "net/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "net/sock.h"

struct http {
	CURL *curl;
	long timeout_ms;
	const atomic_bool *stop;
};

/* What one transfer's callbacks fill in. */
typedef struct {
	http_response_t *resp;
	bool too_big;
	const atomic_bool *stop; /* NULL for a write */
	int64_t stop_seen;       /* a write: when the daemon's stop was first seen */
} xfer_t;

/* A write in flight when the daemon stops gets this long to finish before
 * it is cut (its outcome then unknown: the target stays dirty, read back
 * at the next start); a hung endpoint must not hold SIGTERM for the
 * request timeout (10 minutes for PowerDNS). */
#define WRITE_STOP_GRACE_MS 5000

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

http_t *http_new(long timeout_ms)
{
	http_t *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return NULL;
	}
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		free(h);
		return NULL;
	}
	h->timeout_ms = timeout_ms;
	return h;
}

void http_set_timeout(http_t *h, long timeout_ms)
{
	h->timeout_ms = timeout_ms;
}

void http_free(http_t *h)
{
	if (h != NULL) {
		curl_easy_cleanup(h->curl);
		free(h);
	}
}

void http_set_stop(http_t *h, const atomic_bool *stop)
{
	h->stop = stop;
}

bool http_idempotent(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	xfer_t *x = arg;
	http_response_t *r = x->resp;
	size_t n = size * nmemb;
	if (r->len + n > HTTP_MAX_BODY) {
		x->too_big = true;
		return 0; /* curl reports a write error */
	}
	char *b = realloc(r->body, r->len + n + 1);
	if (b == NULL) {
		return 0;
	}
	memcpy(b + r->len, ptr, n);
	r->body = b;
	r->len += n;
	b[r->len] = '\0';
	return n;
}

/* libcurl reports the request's header once each time it sends it: a
 * count above one is its own re-send on a fresh connection. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)c;
	(void)data;
	(void)size;
	if (type == CURLINFO_HEADER_OUT) {
		((xfer_t *)arg)->resp->sends++;
	}
	return 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	xfer_t *x = arg;
	if (x->stop != NULL) {
		return atomic_load(x->stop) || sock_stopping() ? 1 : 0;
	}
	if (!sock_stopping()) {
		return 0;
	}
	int64_t now = sock_now_ms();
	if (x->stop_seen == 0) {
		x->stop_seen = now;
	}
	return now - x->stop_seen > WRITE_STOP_GRACE_MS ? 1 : 0;
}

int http_request(http_t *h, const char *method, const char *url, const char *const *headers,
                 size_t nheaders, const char *body, size_t body_len, http_response_t *resp,
                 char *err, size_t errlen)
{
	memset(resp, 0, sizeof(*resp));
	CURL *c = h->curl;
	curl_easy_reset(c);
	struct curl_slist *list = NULL;
	for (size_t i = 0; i < nheaders; i++) {
		struct curl_slist *n = curl_slist_append(list, headers[i]);
		if (n == NULL) {
			curl_slist_free_all(list);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		list = n;
	}
	/* libcurl adds "Expect: 100-continue" to big POSTs: a round trip lost. */
	list = curl_slist_append(list, "Expect:");
	char errbuf[CURL_ERROR_SIZE] = "";
	bool idempotent = http_idempotent(method);
	xfer_t x = { .resp = resp, .stop = idempotent ? h->stop : NULL };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	/* The debug callback is only called in verbose mode; it then gets all
	 * the output, nothing goes to stderr. */
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &x);
	if (!idempotent) {
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	}
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(list);
	if (rc != CURLE_OK) {
		unsigned sends = resp->sends;
		http_response_free(resp);
		resp->sends = sends;
		if (x.too_big) {
			snprintf(err, errlen, "%s %s: answer larger than %u bytes", method, url,
			         HTTP_MAX_BODY);
			return -EFBIG;
		}
		if (rc == CURLE_OPERATION_TIMEDOUT) {
			/* Said the same way whatever libcurl's words: a retry
			 * line then reads why at a glance. */
			double secs = 0;
			curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
			snprintf(err, errlen, "%s %s: timed out after %ld ms (limit %ld ms)",
			         method, url, (long)(secs * 1000), h->timeout_ms);
			return -EIO;
		}
		snprintf(err, errlen, "%s %s: %s", method, url,
		         rc == CURLE_ABORTED_BY_CALLBACK ? "stopped"
		         : errbuf[0] != '\0'             ? errbuf
		                                         : curl_easy_strerror(rc));
		return rc == CURLE_ABORTED_BY_CALLBACK ? -ECANCELED : -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

void http_response_free(http_response_t *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}
