/*
 * AWS credential sources that hand out a JSON document: the EC2 instance
 * metadata service (IMDSv2 only), the ECS/EKS container credentials
 * endpoint, and a profile's credential_process.  Each fills an
 * aws_creds_t or says why it could not, in words fit for the chain's
 * error ("container: AWS_CONTAINER_CREDENTIALS_* not set"): never a
 * secret, never the document itself.
 */
#pragma once

#include <stddef.h>
#include <time.h>

#include "net/awscreds.h"

/* "2026-12-05T01:02:03Z", with optional fractional seconds and a "Z",
 * "+00:00" or other offset: seconds since the epoch, or -1. */
time_t aws_time_parse(const char *s);

/*
 * The credential document the three sources share: AccessKeyId,
 * SecretAccessKey, Token or SessionToken (optional), Expiration (optional
 * for credential_process: none means static), AccountId (optional).
 * process: also requires "Version": 1.  IMDS adds "Code", which must be
 * "Success" when present.  0, or -EINVAL with why naming the key that is
 * missing or wrong (never its value).
 */
int aws_creds_from_json(const char *text, size_t len, int process, aws_creds_t *out, char *why,
                        size_t whylen);

/*
 * EC2 instance metadata, IMDSv2: PUT /latest/api/token (TTL 21600), then
 * the role named under /latest/meta-data/iam/security-credentials/ and its
 * document.  Endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * http://169.254.169.254.  1 s per request, one attempt each.
 * -ENOENT with why when AWS_EC2_METADATA_DISABLED is "true" or no role is
 * attached; -ETIMEDOUT when the token PUT got no answer (why names the hop
 * limit, the usual cause in a container); another negative error with why.
 */
int aws_imds_fetch(aws_creds_t *out, char *why, size_t whylen);

/*
 * ECS (and EKS Pod Identity) container credentials:
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2), else
 * AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback or the
 * ECS/EKS link-local addresses only); Authorization from the file named by
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN.  -ENOENT when neither URI is set.
 */
int aws_ecs_fetch(aws_creds_t *out, char *why, size_t whylen);

/*
 * A profile's credential_process: the command split into words as a shell
 * would (quotes and backslashes, no expansion), run without a shell with
 * our environment, stdout read (64 KiB at most) within 60 s, then parsed.
 * A non-zero exit is an error naming the status and the last line of its
 * stderr.  0; -EINVAL (the command's quotes, or the document); -ECHILD (a
 * non-zero exit or a signal); -ETIMEDOUT, -EFBIG (killed); another
 * negative errno when it cannot be started (-ENOENT, -EACCES).
 */
int aws_process_fetch(const char *cmd, aws_creds_t *out, char *why, size_t whylen);

/* --- for tests ------------------------------------------------------------- */

/*
 * cmd split into words as aws_process_fetch does: blanks separate words;
 * '...' is literal; in "..." a backslash escapes $ ` " \ and a newline
 * (removed), else it stays; outside quotes a backslash escapes any
 * character (a newline: removed).  The number of words, with *argv a
 * NULL-terminated array in one allocation (free(*argv)); -EINVAL with why
 * for an unclosed quote or a backslash at the end, -ENOMEM.
 */
int aws_split_words(const char *cmd, char ***argv, char *why, size_t whylen);

/* Is AWS_CONTAINER_CREDENTIALS_FULL_URI's value one we may ask (https, or
 * http to a loopback address, "localhost", 169.254.170.2, 169.254.170.23
 * or fd00:ec2::23)?  0, or -EINVAL with why. */
int aws_container_uri_check(const char *uri, char *why, size_t whylen);

/* aws_process_fetch with its time limit in milliseconds (60000 there). */
int aws_process_run(const char *cmd, long limit_ms, aws_creds_t *out, char *why, size_t whylen);
