#include "net/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* A growing string; on allocation failure it stays failed (NULL). */
typedef struct {
	char *s;
	size_t len, cap;
	int failed;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
	if (b->failed) {
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static char *done(buf_t *b)
{
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	if (b->s == NULL) {
		return strdup("");
	}
	return b->s;
}

static int unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *sigv4_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_t b = { 0 };
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			put(&b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			put(&b, e, 3);
		}
	}
	return done(&b);
}

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(data, len, d);
	hex_of(d, sizeof(d), out);
}

/* A header for signing: lowercase name, value trimmed and collapsed. */
typedef struct {
	char *name, *value;
} hdr_t;

static char *trim_value(const char *v)
{
	buf_t b = { 0 };
	while (*v == ' ' || *v == '\t') {
		v++;
	}
	int space = 0;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space && b.len > 0) {
			put(&b, " ", 1);
		}
		space = 0;
		put(&b, v, 1);
	}
	return done(&b);
}

static int hdr_cmp(const void *a, const void *b)
{
	return strcmp(((const hdr_t *)a)->name, ((const hdr_t *)b)->name);
}

typedef struct {
	char *name, *value; /* encoded */
} qp_t;

static int qp_cmp(const void *a, const void *b)
{
	const qp_t *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r != 0 ? r : strcmp(x->value, y->value);
}

/* Canonical request and the signed-headers list. */
static char *canonical(const sigv4_request_t *r, const sigv4_creds_t *c, char **signed_headers)
{
	size_t nh = r->nheaders + 3;
	hdr_t *h = calloc(nh, sizeof(*h));
	qp_t *q = calloc(r->nquery + 1, sizeof(*q));
	buf_t b = { 0 }, sh = { 0 };
	char *out = NULL;
	if (h == NULL || q == NULL) {
		goto fail;
	}
	size_t n = 0;
	h[n].name = strdup("host");
	h[n++].value = trim_value(r->host);
	h[n].name = strdup("x-amz-date");
	h[n++].value = strdup(r->amz_date);
	if (c->session_token != NULL) {
		h[n].name = strdup("x-amz-security-token");
		h[n++].value = trim_value(c->session_token);
	}
	for (size_t i = 0; i < r->nheaders; i++, n++) {
		h[n].name = strdup(r->headers[i].name);
		h[n].value = trim_value(r->headers[i].value);
		for (char *p = h[n].name; p && *p; p++) {
			*p = (char)tolower((unsigned char)*p);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (h[i].name == NULL || h[i].value == NULL) {
			goto fail;
		}
	}
	qsort(h, n, sizeof(*h), hdr_cmp);
	for (size_t i = 0; i < r->nquery; i++) {
		q[i].name = sigv4_encode(r->query[i].name, 0);
		q[i].value = sigv4_encode(r->query[i].value ? r->query[i].value : "", 0);
		if (q[i].name == NULL || q[i].value == NULL) {
			goto fail;
		}
	}
	qsort(q, r->nquery, sizeof(*q), qp_cmp);

	char *path = sigv4_encode(r->path, 1);
	if (path == NULL) {
		goto fail;
	}
	puts_(&b, r->method);
	puts_(&b, "\n");
	puts_(&b, path[0] ? path : "/");
	puts_(&b, "\n");
	free(path);
	for (size_t i = 0; i < r->nquery; i++) {
		puts_(&b, i ? "&" : "");
		puts_(&b, q[i].name);
		puts_(&b, "=");
		puts_(&b, q[i].value);
	}
	puts_(&b, "\n");
	for (size_t i = 0; i < n; i++) {
		puts_(&b, h[i].name);
		puts_(&b, ":");
		puts_(&b, h[i].value);
		puts_(&b, "\n");
		puts_(&sh, i ? ";" : "");
		puts_(&sh, h[i].name);
	}
	puts_(&b, "\n");
	puts_(&b, sh.s ? sh.s : "");
	puts_(&b, "\n");
	char hash[SIGV4_HEX_LEN + 1];
	sigv4_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, hash);
	puts_(&b, hash);
	out = done(&b);
	b.s = NULL;
	*signed_headers = done(&sh);
	sh.s = NULL;
	if (*signed_headers == NULL) {
		free(out);
		out = NULL;
	}
fail:
	for (size_t i = 0; h && i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	for (size_t i = 0; q && i < r->nquery; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(h);
	free(q);
	free(b.s);
	free(sh.s);
	return out;
}

char *sigv4_canonical_request(const sigv4_request_t *r, const sigv4_creds_t *c)
{
	char *sh = NULL;
	char *cr = canonical(r, c, &sh);
	free(sh);
	return cr;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;
	return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out,
	            &len) != NULL
	               ? 0
	               : -1;
}

char *sigv4_authorization(const sigv4_request_t *r, const sigv4_creds_t *c)
{
	if (r->amz_date == NULL || strlen(r->amz_date) != 16 || r->amz_date[8] != 'T' ||
	    c->access_key == NULL || c->secret_key == NULL) {
		return NULL;
	}
	char date[9];
	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	char *sh = NULL;
	char *cr = canonical(r, c, &sh);
	if (cr == NULL) {
		return NULL;
	}
	char crhash[SIGV4_HEX_LEN + 1];
	sigv4_sha256_hex(cr, strlen(cr), crhash);
	free(cr);

	buf_t scope = { 0 }, sts = { 0 }, key = { 0 }, auth = { 0 };
	puts_(&scope, date);
	puts_(&scope, "/");
	puts_(&scope, r->region);
	puts_(&scope, "/");
	puts_(&scope, r->service);
	puts_(&scope, "/aws4_request");
	puts_(&sts, "AWS4-HMAC-SHA256\n");
	puts_(&sts, r->amz_date);
	puts_(&sts, "\n");
	puts_(&sts, scope.s ? scope.s : "");
	puts_(&sts, "\n");
	puts_(&sts, crhash);
	puts_(&key, "AWS4");
	puts_(&key, c->secret_key);

	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	char sighex[SIGV4_HEX_LEN + 1];
	char *result = NULL;
	if (scope.failed || sts.failed || key.failed || hmac(key.s, key.len, date, k1) != 0 ||
	    hmac(k1, 32, r->region, k2) != 0 || hmac(k2, 32, r->service, k3) != 0 ||
	    hmac(k3, 32, "aws4_request", k4) != 0 || hmac(k4, 32, sts.s, sig) != 0) {
		goto out;
	}
	hex_of(sig, 32, sighex);
	puts_(&auth, "AWS4-HMAC-SHA256 Credential=");
	puts_(&auth, c->access_key);
	puts_(&auth, "/");
	puts_(&auth, scope.s);
	puts_(&auth, ", SignedHeaders=");
	puts_(&auth, sh);
	puts_(&auth, ", Signature=");
	puts_(&auth, sighex);
	result = done(&auth);
	auth.s = NULL;
out:
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k4, sizeof(k4));
	if (key.s != NULL) {
		OPENSSL_cleanse(key.s, key.len);
	}
	free(key.s);
	free(scope.s);
	free(sts.s);
	free(auth.s);
	free(sh);
	return result;
}
