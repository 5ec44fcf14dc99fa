/*
 * The three AWS STS calls the credential chain makes (Query API, version
 * 2011-06-15, a form POST to /): AssumeRole signed with the source's
 * credentials, AssumeRoleWithWebIdentity unsigned (the token is the
 * proof), GetCallerIdentity signed, for the account id.  Throttling, 5xx
 * and network errors are retried a few times with backoff; every other
 * error is returned with STS's code and message.
 */
#pragma once

#include <stddef.h>

#include "net/awscreds.h"

typedef struct {
	const char *arn;          /* the role */
	const char *session_name; /* NULL: "zonesync-<unix time>" */
	const char *external_id;  /* NULL: none */
	unsigned duration;        /* seconds, 0: 3600 */
} aws_role_t;

/* url: "https://sts.eu-west-1.amazonaws.com" (no path); region: the
 * signing region.  0 with *out filled (expires and account set), or a
 * negative error with why. */
int aws_sts_assume_role(const aws_creds_t *with, const aws_role_t *role, const char *url,
                        const char *region, aws_creds_t *out, char *why, size_t whylen);

int aws_sts_web_identity(const char *token, const aws_role_t *role, const char *url,
                         const char *region, aws_creds_t *out, char *why, size_t whylen);

int aws_sts_caller_account(const aws_creds_t *with, const char *url, const char *region,
                           char account[16], char *why, size_t whylen);

/* The account id in an ARN ("arn:aws:sts::123456789012:assumed-role/r/s"):
 * 0 with account[16] set, or -EINVAL. */
int aws_arn_account(const char *arn, char account[16]);

/* The answer of an STS call, parsed (for tests and fuzzing): the
 * credentials of an AssumeRole* answer (account from its
 * AssumedRoleUser), or the Account of GetCallerIdentity's into out->account.
 * An ErrorResponse gives -EACCES with why "CODE: message".  0, -EACCES,
 * -EPROTO (unreadable). */
int aws_sts_parse(const char *xml, size_t len, aws_creds_t *out, char *why, size_t whylen);
