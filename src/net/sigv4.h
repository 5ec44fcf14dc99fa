/*
 * AWS Signature Version 4 (header form), over OpenSSL.  libcurl's built-in
 * signer does not sort query parameters, so we sign ourselves.
 *
 * Pure functions of their arguments: no clock, no I/O, so the published
 * AWS test vectors and botocore's signatures pin them down exactly.
 */
#pragma once

#include <stddef.h>

typedef struct {
	const char *name;  /* any case; lowercased for signing */
	const char *value; /* trimmed, inner runs of spaces collapsed */
} sigv4_pair_t;

typedef struct {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL without temporary credentials */
} sigv4_creds_t;

typedef struct {
	const char *method; /* "GET", "POST" */
	const char *host;
	const char *path;          /* raw, not yet percent-encoded; "/" at least */
	const sigv4_pair_t *query; /* raw names and values, any order */
	size_t nquery;
	const sigv4_pair_t *headers; /* besides host, x-amz-date and the token */
	size_t nheaders;
	const void *body;
	size_t body_len;
	const char *region;   /* "us-east-1" */
	const char *service;  /* "route53" */
	const char *amz_date; /* "YYYYMMDDTHHMMSSZ" */
} sigv4_request_t;

#define SIGV4_HEX_LEN 64

/* The canonical request (malloc'd text), for tests and debugging. */
char *sigv4_canonical_request(const sigv4_request_t *r, const sigv4_creds_t *c);

/* The Authorization header value (malloc'd), or NULL on bad input. */
char *sigv4_authorization(const sigv4_request_t *r, const sigv4_creds_t *c);

/* Percent-encode per SigV4 (unreserved: A-Z a-z 0-9 - _ . ~; '/' kept when
 * keep_slash).  Returns malloc'd text. */
char *sigv4_encode(const char *s, int keep_slash);

/* Lowercase hex SHA-256 of data into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1]);
